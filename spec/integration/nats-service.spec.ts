import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import { pipe } from 'rxjs';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { process as processStep } from '../../lib/operators/process.js';
import { validate } from '../../lib/operators/validate.js';
import { defaultPipeline } from '../../lib/pipeline/default-pipeline.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import { forwardTo } from '../../lib/pipeline/route-to.js';
import {
  connectTestNats,
  consumerInfo,
  eventually,
  messageCount,
  natsService,
  publishAll,
  readSubject,
  useTestNats,
  type TestStreams,
} from './support/nats.js';

/** A pipeline whose process step runs `work` before forwarding to the output subject. */
function workingPipeline(work: (event: { Id: string }) => Promise<void>) {
  return definePipeline((context) =>
    pipe(
      decodeJson(),
      validate(context.schema),
      processStep((event) => work(event as { Id: string }), {
        retry: { ...context.retry, attemptTimeoutMs: 0 },
      }),
      forwardTo(context.outputTopic!, context),
    ),
  );
}

const ids = (count: number, prefix = 'id') =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ Id: `${prefix}-${i}`, n: i }));

describe('the service on NATS JetStream', function () {
  this.timeout(60_000);
  const nats = useTestNats();

  const settledAll = async (s: TestStreams) => {
    const info = await consumerInfo(nats.jsm, s);
    return info.num_ack_pending === 0 && info.num_pending === 0;
  };

  it('forwards valid events to the output subject and dead-letters bad ones with their headers, leaving nothing unacked', async () => {
    const s = await nats.streams();
    const valid = ids(60);
    const malformed = ['{"Id": "x"', 'not json at all', ''];
    const invalid = [JSON.stringify({ Id: '' }), JSON.stringify({ name: 'no id' })];
    const all = [...valid];
    [...malformed, ...invalid].forEach((value, i) => all.splice(i * 10 + 3, 0, value));
    await publishAll(nats.nc, s.subject, all);

    const service = await nats.start(defaultPipeline, s);
    await eventually(
      'every message settled',
      async () =>
        (await messageCount(nats.jsm, s.output)) === 60 && (await messageCount(nats.jsm, s.dlq)) === 5,
    );
    await eventually('nothing left unacked', () => settledAll(s));

    const output = await readSubject(nats.jsm, s.output);
    expect(output.map((m) => m.value)).to.have.members(valid);
    expect(output[0]!.headers.source_topic).to.equal(s.stream);

    const letters = await readSubject(nats.jsm, s.dlq);
    expect(letters.map((m) => m.value)).to.have.members([...malformed, ...invalid]);
    const bySeq = new Map(letters.map((letter) => [letter.value, letter]));
    const decodeFailure = bySeq.get('not json at all')!.headers;
    expect(decodeFailure).to.include({
      original_topic: s.subject,
      original_stream: s.stream,
      original_partition: '0',
      error_stage: 'decode',
      retry_attempts: '0',
      max_retries: '2',
      consumer_group: s.durable,
    });
    expect(decodeFailure.error_code).to.be.a('string').and.not.equal('');
    expect(decodeFailure.error_message).to.be.a('string').and.not.equal('');
    expect(Number(decodeFailure.original_offset)).to.equal(all.indexOf('not json at all') + 1);
    expect(new Date(decodeFailure.timestamp!).getTime()).to.be.closeTo(Date.now(), 60_000);
    expect(Number(decodeFailure.original_timestamp)).to.be.closeTo(Date.now(), 60_000);
    const schemaFailure = bySeq.get(JSON.stringify({ name: 'no id' }))!.headers;
    expect(schemaFailure).to.include({ error_stage: 'validate', original_topic: s.subject });
    expect(schemaFailure.schema_errors).to.include('Id');

    const metrics = await service.registry.metrics();
    expect(metrics).to.match(/^events_ingested_total\{service="spec"\} 65$/m);
    expect(metrics).to.match(/^events_processed_total\{service="spec"\} 60$/m);
    expect(metrics).to.match(/^dlq_messages_total\{service="spec"\} 5$/m);
    expect(service.readiness.readiness()).to.deep.equal({ ready: true, reasons: [] });
  });

  it('takes in no more than QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE messages, the consumer holding as many unacked', async () => {
    const s = await nats.streams({ maxAckPending: 5 });
    await publishAll(nats.nc, s.subject, ids(40));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let working = 0;
    let mostWorking = 0;
    const service = await nats.start(
      workingPipeline(async () => {
        mostWorking = Math.max(mostWorking, ++working);
        await released;
        working -= 1;
      }),
      s,
      { queueBufferSize: 3, workerPoolSize: 2 },
    );
    let mostHeld = 0;
    const sample = setInterval(() => (mostHeld = Math.max(mostHeld, service.held)), 5);
    try {
      await eventually('the credits taken', () => service.held === 5);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(service.held).to.equal(5);
      expect((await consumerInfo(nats.jsm, s)).num_ack_pending).to.equal(5);
      expect(mostWorking).to.equal(2);
      // Lag is the consumer's pending count: the 35 messages not delivered yet.
      expect(await service.registry.metrics()).to.match(
        new RegExp(
          `^myeventstream_consumer_lag\\{service="spec",topic="${s.stream}",partition="0"\\} 35$`,
          'm',
        ),
      );
      // No pull is made while every credit is taken; the lag still follows what is published.
      await publishAll(nats.nc, s.subject, ids(10, 'later'));
      await eventually('the lag of the messages published since', async () =>
        new RegExp(
          `^myeventstream_consumer_lag\\{service="spec",topic="${s.stream}",partition="0"\\} 45$`,
          'm',
        ).test(await service.registry.metrics()),
      );
      release();
      await eventually('all forwarded', async () => (await messageCount(nats.jsm, s.output)) === 50);
      await eventually('nothing left unacked', () => settledAll(s));
    } finally {
      clearInterval(sample);
    }
    expect(mostHeld).to.equal(5);
  });

  it('keeps a message that works past the ack wait from being delivered again', async () => {
    const s = await nats.streams({ ackWaitMs: 1000 });
    await publishAll(nats.nc, s.subject, ids(3));
    const runs = new Map<string, number>();
    await nats.start(
      workingPipeline(async ({ Id }) => {
        runs.set(Id, (runs.get(Id) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 3500));
      }),
      s,
      { ackWaitMs: 1000 },
    );
    await eventually('all forwarded', async () => (await messageCount(nats.jsm, s.output)) === 3);
    await eventually('nothing left unacked', () => settledAll(s));
    expect([...runs.values()]).to.deep.equal([1, 1, 1]);
    expect((await consumerInfo(nats.jsm, s)).num_redelivered).to.equal(0);
  });

  it('delivers again, after a crash, what was taken and not acked', async () => {
    const s = await nats.streams({ ackWaitMs: 1000 });
    await publishAll(nats.nc, s.subject, ids(8));
    // The first instance takes every message and never finishes one; then its connection drops.
    const stuck = natsService(
      await connectTestNats(),
      workingPipeline(() => new Promise(() => undefined)),
      s,
      {
        ackWaitMs: 1000,
        shutdownTimeoutMs: 100,
      },
    );
    await stuck.start();
    await eventually('all taken', () => stuck.held === 8);
    const crashed = stuck.failed.catch((error: unknown) => error);
    await (stuck as unknown as { deps: { connection: NatsConnection } }).deps.connection.close();
    expect(await crashed).to.be.instanceOf(Error);
    expect(stuck.readiness.readiness().reasons).to.include('consumer: NATS connection closed');
    await stuck.stop();
    expect(await messageCount(nats.jsm, s.output)).to.equal(0);

    await nats.start(defaultPipeline, s, { ackWaitMs: 1000 });
    await eventually(
      'all forwarded by the next instance',
      async () => (await messageCount(nats.jsm, s.output)) === 8,
    );
    await eventually('nothing left unacked', () => settledAll(s));
    const values = (await readSubject(nats.jsm, s.output)).map((m) => m.value);
    expect(values).to.have.members(ids(8));
  });

  it('drains at shutdown: what it took is processed and acked, the rest waits for the next instance', async () => {
    const s = await nats.streams();
    await publishAll(nats.nc, s.subject, ids(30));
    const slow = workingPipeline(() => new Promise((resolve) => setTimeout(resolve, 100)));
    const first = await nats.start(slow, s, { workerPoolSize: 2, queueBufferSize: 2 });
    await eventually('some forwarded', async () => (await messageCount(nats.jsm, s.output)) >= 4);
    await first.stop();
    // Every message forwarded was acked: the server holds only the others, the ones handed
    // back (never started) counting as ack-pending until they are delivered again.
    const info = await consumerInfo(nats.jsm, s);
    const forwarded = await messageCount(nats.jsm, s.output);
    expect(forwarded).to.be.within(4, 29);
    expect(info.num_pending + info.num_ack_pending).to.equal(30 - forwarded);

    await nats.start(slow, s, { workerPoolSize: 4 });
    await eventually('all forwarded', async () => (await messageCount(nats.jsm, s.output)) === 30);
    await eventually('nothing left unacked', () => settledAll(s));
    const values = (await readSubject(nats.jsm, s.output)).map((m) => m.value);
    expect(values).to.have.members(ids(30));
  });

  for (const order of ['partition', 'key'] as const) {
    it(`PROCESSING_ORDER=${order} runs one message at a time per ${order === 'partition' ? 'stream' : 'subject'}, in stream order`, async () => {
      const s = await nats.streams();
      const subjects = [`${s.stream}.a`, `${s.stream}.b`, `${s.stream}.c`];
      const published: Array<{ subject: string; id: string }> = [];
      for (let i = 0; i < 60; i++) {
        const subject = subjects[i % 3]!;
        published.push({ subject, id: `id-${i}` });
        await publishAll(nats.nc, subject, [JSON.stringify({ Id: `id-${i}` })]);
      }
      const started: string[] = [];
      const runningPerLane = new Map<string, number>();
      let overlapInLane = false;
      let overlapAcrossLanes = false;
      const laneOf = (id: string) =>
        order === 'partition' ? 'all' : published.find((p) => p.id === id)!.subject;
      await nats.start(
        workingPipeline(async ({ Id }) => {
          const lane = laneOf(Id);
          if ((runningPerLane.get(lane) ?? 0) > 0) overlapInLane = true;
          if ([...runningPerLane.values()].some((n) => n > 0)) overlapAcrossLanes = true;
          runningPerLane.set(lane, (runningPerLane.get(lane) ?? 0) + 1);
          started.push(Id);
          await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8));
          runningPerLane.set(lane, runningPerLane.get(lane)! - 1);
        }),
        s,
        { order, workerPoolSize: 4 },
      );
      await eventually('all forwarded', async () => (await messageCount(nats.jsm, s.output)) === 60);
      await eventually('nothing left unacked', () => settledAll(s));
      expect(overlapInLane).to.equal(false);
      for (const subject of subjects) {
        const inLane = published
          .filter((p) => order === 'partition' || p.subject === subject)
          .map((p) => p.id);
        expect(started.filter((id) => inLane.includes(id))).to.deep.equal(inLane);
      }
      // Per subject, the subjects' lanes run side by side.
      expect(overlapAcrossLanes).to.equal(order === 'key');
    });
  }

  it('fails when its consumer is deleted and pulls keep failing', async () => {
    const s = await nats.streams();
    const service = await nats.start(defaultPipeline, s, { recoveryTimeoutMs: 1000 });
    const failed = service.failed.catch((error: unknown) => error);
    await nats.jsm.consumers.delete(s.stream, s.durable);
    const error = await failed;
    expect(String(error)).to.include(`pulling from NATS consumer ${s.durable} has failed for 1000 ms`);
  });

  it('holds a message unacked while no stream takes the dead-letter subject, and settles it once one does', async () => {
    const s = await nats.streams();
    const dlqStream = await nats.jsm.streams.find(s.dlq);
    const service = await nats.start(defaultPipeline, s);
    await nats.jsm.streams.delete(dlqStream);
    await publishAll(nats.nc, s.subject, [...ids(10), 'not json', JSON.stringify({ Id: '' })]);
    await eventually('the valid ones forwarded', async () => (await messageCount(nats.jsm, s.output)) === 10);
    await eventually('readiness naming the dead letters', () =>
      service.readiness
        .readiness()
        .reasons.some((reason) => reason.startsWith('dlq: dead-letter writes failing')),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await consumerInfo(nats.jsm, s)).num_ack_pending).to.equal(2);
    expect(service.held).to.equal(2);

    await nats.jsm.streams.add({ name: dlqStream, subjects: [s.dlq] });
    await eventually(
      'the dead letters written',
      async () => (await messageCount(nats.jsm, s.dlq)) === 2,
      30_000,
    );
    await eventually('nothing left unacked', () => settledAll(s));
    expect(service.readiness.readiness()).to.deep.equal({ ready: true, reasons: [] });
  });

  it('forwards or dead-letters hostile input with its reason, keeping odd header names and dropping the server instructions', async () => {
    const s = await nats.streams();
    const js = jetstream(nats.nc);
    const send = (value: string | Uint8Array, named: Array<[string, string]> = []) => {
      const h = natsHeaders();
      for (const [name, text] of named) h.append(name, text);
      return js.publish(s.subject, value, { headers: h });
    };
    // (No `__proto__`: the NATS client keeps headers in a plain object and cannot carry it.)
    const odd: Array<[string, string]> = [
      ['constructor', 'c'],
      ['toString', 't'],
      ['hasOwnProperty', 'o'],
    ];
    await send(JSON.stringify({ Id: 'odd-headers' }), odd);
    // Accepted on the source; copied to the output, Nats-Expected-Stream would have the write
    // refused (another stream takes the output subject).
    for (let i = 0; i < 3; i++)
      await send(JSON.stringify({ Id: `instructed-${i}` }), [
        ['Nats-Msg-Id', `source-${i}`],
        ['Nats-Expected-Stream', s.stream],
      ]);
    await send(JSON.stringify({ Id: 'repeated' }), [
      ['trace', 'a'],
      ['trace', 'b'],
    ]);
    await send(new Uint8Array([0x7b, 0x22, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), odd);
    await send('');
    await send('null');
    await send('[{"Id":"in-array"}]');
    await send(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);

    await nats.start(defaultPipeline, s);
    await eventually(
      'every message settled',
      async () =>
        (await messageCount(nats.jsm, s.output)) === 5 && (await messageCount(nats.jsm, s.dlq)) === 5,
    );
    await eventually('nothing left unacked', () => settledAll(s));

    const output = await readSubject(nats.jsm, s.output);
    const byId = new Map(output.map((m) => [(JSON.parse(m.value) as { Id: string }).Id, m.headers]));
    expect([...byId.keys()]).to.have.members([
      'odd-headers',
      'instructed-0',
      'instructed-1',
      'instructed-2',
      'repeated',
    ]);
    expect(byId.get('odd-headers')).to.include(Object.fromEntries(odd));
    expect(Object.keys(byId.get('instructed-1')!).filter((name) => /^nats-/i.test(name))).to.deep.equal([]);
    const letters = await readSubject(nats.jsm, s.dlq);
    expect(letters.map((l) => l.headers.error_code).sort()).to.deep.equal(
      ['EMPTY_VALUE', 'JSON_TOO_DEEP', 'INVALID_UTF8', 'SCHEMA_VIOLATION', 'SCHEMA_VIOLATION'].sort(),
    );
    const invalidUtf8 = letters.find((l) => l.headers.error_code === 'INVALID_UTF8')!;
    expect(invalidUtf8.headers).to.include(Object.fromEntries(odd));
  });

  it('shares the durable between instances: each message forwarded once, by one of them', async () => {
    const s = await nats.streams();
    const seen = [new Set<string>(), new Set<string>()];
    const pipelineOf = (instance: number) =>
      workingPipeline(async ({ Id }) => {
        seen[instance]!.add(Id);
        await new Promise((resolve) => setTimeout(resolve, 5));
      });
    await nats.start(pipelineOf(0), s, { workerPoolSize: 4, queueBufferSize: 10 });
    await nats.start(pipelineOf(1), s, { workerPoolSize: 4, queueBufferSize: 10 });
    await publishAll(nats.nc, s.subject, ids(300));
    await eventually('all forwarded', async () => (await messageCount(nats.jsm, s.output)) === 300);
    await eventually('nothing left unacked', () => settledAll(s));
    const values = (await readSubject(nats.jsm, s.output)).map((m) => m.value);
    expect(values).to.have.members(ids(300));
    expect(seen[0]!.size + seen[1]!.size).to.equal(300);
    expect(seen[0]!.size).to.be.above(0);
    expect(seen[1]!.size).to.be.above(0);
  });
});
