import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ServiceProcess } from './support/service-process.js';
import { eventually, messageCount, NATS_URL, publishAll, readSubject, useTestNats } from './support/nats.js';

/** The compiled service with BROKER=nats, as `npm start` runs it (build first). */
describe('the service process with BROKER=nats', function () {
  this.timeout(120_000);
  const nats = useTestNats();
  let service: ServiceProcess | undefined;
  let streams: string[] = [];

  afterEach(async () => {
    service?.kill('SIGKILL');
    await service?.exited;
    service = undefined;
    for (const name of streams) await nats.jsm.streams.delete(name).catch(() => undefined);
    streams = [];
  });

  function names() {
    const id = randomBytes(6).toString('hex');
    const stream = `proc-${id}`;
    streams.push(stream, `proc-out-${id}_valid`, `proc-dlq-${id}_dead`);
    return {
      stream,
      subject: `${stream}.orders`,
      output: `proc-out-${id}.valid`,
      dlq: `proc-dlq-${id}.dead`,
      durable: `d-${id}`,
    };
  }

  it('creates its streams, forwards valid events, dead-letters bad ones, and on SIGTERM drains and exits 0', async () => {
    const n = names();
    service = new ServiceProcess({
      BROKER: 'nats',
      NATS_URL,
      NATS_STREAM: n.stream,
      NATS_DURABLE: n.durable,
      OUTPUT_TOPIC: n.output,
      DLQ_TOPIC: n.dlq,
      CREATE_TOPICS: 'true',
      RETRY_BASE_DELAY_MS: '10',
    });
    await service.waitForLog((line) => line.message === 'Consuming');
    const valid = Array.from({ length: 200 }, (_, i) => JSON.stringify({ Id: `id-${i}` }));
    const bad = ['{"Id":', 'plain text', JSON.stringify({ Id: 5 }), JSON.stringify([])];
    const all = [...valid];
    bad.forEach((value, i) => all.splice(i * 40 + 7, 0, value));
    await publishAll(nats.nc, n.subject, all);

    await eventually('every message settled', async () => {
      const info = await nats.jsm.consumers.info(n.stream, n.durable);
      return (
        (await messageCount(nats.jsm, n.output)) === 200 &&
        (await messageCount(nats.jsm, n.dlq)) === 4 &&
        info.num_ack_pending === 0 &&
        info.num_pending === 0
      );
    });
    const port = await service.httpPort();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).to.match(/^events_ingested_total\{service="myeventstream"\} 204$/m);
    expect(metrics).to.match(/^dlq_messages_total\{service="myeventstream"\} 4$/m);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
    const letters = await readSubject(nats.jsm, n.dlq);
    expect(letters.map((l) => l.headers.original_topic)).to.deep.equal(bad.map(() => n.subject));
    expect(letters.map((l) => l.headers.error_stage)).to.deep.equal([
      'decode',
      'decode',
      'validate',
      'validate',
    ]);

    service.kill('SIGTERM');
    expect(await service.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('stops start-up naming NATS_STREAM when the stream is missing and CREATE_TOPICS is false', async () => {
    const n = names();
    service = new ServiceProcess({ BROKER: 'nats', NATS_URL, NATS_STREAM: n.stream, DLQ_TOPIC: n.dlq });
    const exit = await service.exited;
    expect(exit.code).to.equal(1);
    const line = JSON.parse(service.stderr.join('').trim()) as { setting: string; error: string };
    expect(line.setting).to.equal('NATS_STREAM');
    expect(line.error).to.include(`Stream ${n.stream} (NATS_STREAM) does not exist`);
  });

  it('stops start-up naming NATS_URL when no server answers', async () => {
    service = new ServiceProcess({ BROKER: 'nats', NATS_URL: 'nats://127.0.0.1:1' });
    const exit = await service.exited;
    expect(exit.code).to.equal(1);
    const line = JSON.parse(service.stderr.join('').trim()) as { setting: string };
    expect(line.setting).to.equal('NATS_URL');
  });
});
