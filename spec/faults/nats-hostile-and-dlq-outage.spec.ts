import { headers as natsHeaders } from '@nats-io/transport-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { streamNameFor } from '../../lib/nats/subjects.js';
import { natsUrl } from '../integration/support/nats.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { sleep } from '../integration/support/topic-reader.js';
import {
  bytes,
  canaryCases,
  dlq,
  hostileCases,
  landedProblems,
  normalCases,
  output,
  text,
  type HostileCase,
  type LandedMessage,
} from './support/hostile-catalogue.js';
import {
  AckLog,
  byKey,
  KEY_HEADER,
  nanosOf,
  readStream,
  settled,
  waitUntil,
  type AckRecord,
  type StoredMessage,
  useNatsFaultRun,
} from './support/nats-fault-kit.js';
import { recordScenario } from './support/report.js';
import { exitWithin, expectSurvived, isRunning, metric, readyz, scrape } from './support/service-probe.js';

/**
 * The hostile-input and DLQ-outage fault scenarios of the Kafka suite (hostile-input.spec.ts,
 * dlq-outage.spec.ts) on NATS JetStream: the compiled service (BROKER=nats, default pipeline,
 * OUTPUT_TOPIC and DLQ_TOPIC subjects) as separate processes, checked from outside only. An
 * independent reader reads the source, output and dead-letter streams whole and finds each
 * message by the key header it was published with, and the server's log of the durable
 * consumer's acks (see AckLog) says which message was acked when: none may be acked before its
 * output or dead letter was stored.
 *
 * What the DLQ outage is built on: with no stream taking DLQ_TOPIC, a dead-letter write fails
 * and is retried with backoff for as long as it takes, the message held unacked (kept in
 * progress past its ack wait) and /readyz 503 naming the DLQ; SIGTERM hands the held messages
 * back (nak) once SHUTDOWN_TIMEOUT_MS is over; start-up with CREATE_TOPICS=true creates the
 * missing stream (so a restart ends such an outage), with CREATE_TOPICS=false it refuses,
 * naming DLQ_TOPIC. Needs only the NATS server; build first (npm run build).
 */

const WORKER_POOL_SIZE = 10;
const QUEUE_BUFFER_SIZE = 1000;
const CREDITS = WORKER_POOL_SIZE + QUEUE_BUFFER_SIZE;

interface Names {
  stream: string;
  /** Where the spec publishes (inside `stream`). */
  subject: string;
  output: string;
  dlq: string;
  durable: string;
  /** The streams the service's start-up creates for the output and DLQ subjects (CREATE_TOPICS=true). */
  outputStream: string;
  dlqStream: string;
}

/** A message of the scenario: a catalogue case, and the subject token it is published under. */
type NatsCase = HostileCase & { subjectToken?: string };

describe('fault: hostile input and a dead-letter outage on NATS JetStream', function () {
  this.timeout(300_000);
  const run = useNatsFaultRun();
  const { services, streams } = run;

  /** Fresh names; the source stream is created, the others are left to the service. */
  async function prepare(prefix: string, ackWaitMs: number): Promise<{ names: Names; acks: AckLog }> {
    const id = randomBytes(6).toString('hex');
    const output = `${prefix}-out-${id}.valid`;
    const dlqSubject = `${prefix}-dlq-${id}.dead`;
    const names: Names = {
      stream: `${prefix}-${id}`,
      subject: `${prefix}-${id}.events`,
      output,
      dlq: dlqSubject,
      durable: `${prefix}-${id}`,
      outputStream: streamNameFor(output),
      dlqStream: streamNameFor(dlqSubject),
    };
    streams.push(names.stream, names.outputStream, names.dlqStream, `${names.stream}-acks`);
    await run.jsm.streams.add({ name: names.stream, subjects: [`${names.stream}.>`] });
    const acks = await AckLog.create(run.js, run.jsm, {
      stream: names.stream,
      durable: names.durable,
      ackWaitMs,
      maxAckPending: CREDITS,
    });
    return { names, acks };
  }

  function serviceEnv(names: Names, ackWaitMs: number, extra: Record<string, string> = {}) {
    return {
      BROKER: 'nats',
      NATS_URL: natsUrl(),
      NATS_STREAM: names.stream,
      NATS_DURABLE: names.durable,
      NATS_ACK_WAIT_MS: String(ackWaitMs),
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      CREATE_TOPICS: 'true',
      WORKER_POOL_SIZE: String(WORKER_POOL_SIZE),
      QUEUE_BUFFER_SIZE: String(QUEUE_BUFFER_SIZE),
      RETRY_BASE_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '1000',
      ...extra,
    };
  }

  function start(env: Record<string, string>): ServiceProcess {
    const service = new ServiceProcess(env);
    services.push(service);
    return service;
  }

  /** Publishes each message in turn, its key in KEY_HEADER, waiting for the stream to store it. */
  async function publish(names: Names, cases: NatsCase[]): Promise<void> {
    for (const { key, value, headers = [], subjectToken } of cases) {
      const lines = natsHeaders();
      lines.append(KEY_HEADER, key);
      for (const [name, line] of headers) lines.append(name, line.toString());
      const subject = subjectToken === undefined ? names.subject : `${names.subject}.${subjectToken}`;
      await run.js.publish(subject, value ?? new Uint8Array(0), { headers: lines });
    }
  }

  async function lastSeq(names: Names): Promise<number> {
    return (await run.jsm.streams.info(names.stream)).state.last_seq;
  }

  /** Waits until the consumer acked every message of the source stream and holds none. */
  async function waitSettled(names: Names, timeoutMs: number): Promise<void> {
    const last = await lastSeq(names);
    await waitUntil(
      `the consumer to ack all ${last} messages`,
      async () => settled(await run.jsm.consumers.info(names.stream, names.durable), last),
      timeoutMs,
      async () => JSON.stringify(await run.jsm.consumers.info(names.stream, names.durable)),
    );
  }

  it('sends every hostile message to the output or the DLQ with its reason, acks each after, and keeps running', async () => {
    const started = Date.now();
    const ackWaitMs = 30_000;
    const { names, acks } = await prepare('hostile', ackWaitMs);
    const service = start(serviceEnv(names, ackWaitMs));
    const port = await service.httpPort();
    await service.waitForLog((line) => line.message === 'Consuming');
    const created = service.lines.find((line) => line.message === 'Created streams');
    expect(created?.streams, 'the streams start-up created').to.deep.equal([
      names.outputStream,
      names.dlqStream,
    ]);

    // The shared catalogue, less what a NATS message cannot be: a value that is null rather
    // than empty (NATS has only empty), header values that are not text.
    const catalogue = hostileCases();
    const carried = catalogue.filter((c) => (c.needs ?? []).length === 0);
    const leftOut = catalogue.filter((c) => (c.needs ?? []).length > 0);
    const natsOnly = natsCases(names);
    const hostile = [...carried, ...natsOnly];
    const cases: NatsCase[] = [...normalCases(0, 30), ...hostile, ...normalCases(30, 30)];
    await publish(names, cases);
    await waitSettled(names, 120_000);

    // Canaries once all of the above settled (see canaryCases), then more valid events.
    const after = [...canaryCases('0'), ...normalCases(60, 30)];
    await publish(names, after);
    cases.push(...after);
    await waitSettled(names, 120_000);

    // Where each message ended, read back whole by the independent reader.
    const sources = byKey(await readStream(run.js, run.jsm, names.subject));
    const outputs = byKey(await readStream(run.js, run.jsm, names.output));
    const letters = byKey(await readStream(run.js, run.jsm, names.dlq));
    const ackLog = await acks.read();
    const problems: string[] = [];
    let lost = 0;
    let duplicates = 0;
    const landedAt = new Map<number, bigint>();
    for (const testCase of cases) {
      const { key, expected } = testCase;
      const source = sources.get(key)?.[0];
      expect(source, `source message ${key}`).to.not.equal(undefined);
      const inOutput = outputs.get(key) ?? [];
      const inDlq = letters.get(key) ?? [];
      if (inOutput.length + inDlq.length === 0) {
        lost += 1;
        problems.push(`${key}: neither in the output nor in the DLQ`);
        continue;
      }
      duplicates += inOutput.length + inDlq.length - 1;
      const landed = expected.to === 'output' ? inOutput[0] : inDlq[0];
      if (!landed) {
        const other = inOutput[0] ?? inDlq[0]!;
        problems.push(
          `${key}: expected in the ${expected.to}, found in the ${inOutput.length > 0 ? 'output' : 'DLQ'} ` +
            `(${other.headers?.get('error_code')}: ${other.headers?.get('error_message').slice(0, 200)})`,
        );
        continue;
      }
      if (inOutput.length > 0 && inDlq.length > 0) problems.push(`${key}: both in the output and in the DLQ`);
      landedAt.set(source!.seq, landed.storedNanos);
      problems.push(...landedProblems(testCase, landedView(landed), originOf(testCase, source!, names)));
      const instructions = (landed.headers?.keys() ?? []).filter((name) => /^nats-/i.test(name));
      if (instructions.length > 0) problems.push(`${key}: written with ${instructions.join(', ')}`);
    }
    const known = new Set(cases.map((c) => c.key));
    for (const key of [...outputs.keys(), ...letters.keys()].filter((k) => !known.has(k)))
      problems.push(`${key}: unexpected message`);
    const ackProblems = acksAfterLanding(ackLog, landedAt, await lastSeq(names));
    problems.push(...ackProblems);

    const info = await run.jsm.consumers.info(names.stream, names.durable);
    const survived = await isRunning(service);
    const metrics = await scrape(port);
    recordScenario({
      scenario: 'Hostile input: catalogue (default pipeline, OUTPUT_TOPIC) (NATS JetStream)',
      events: cases.length,
      faults:
        `${hostile.length} hostile messages, one per kind (${carried.length} of the shared catalogue, ` +
        `${natsOnly.length} NATS-only: Nats-* server instructions, empty, 60 KiB, 1000 and control-character headers, ` +
        `an odd header name, a non-ASCII subject); 2 canaries after them`,
      lost,
      duplicates,
      notes:
        `${problems.length} problems; left out (NATS cannot carry them): ${leftOut.map((c) => c.key).join(', ')}; ` +
        `output ${[...outputs.values()].flat().length}, DLQ ${[...letters.values()].flat().length}, ` +
        `${ackLog.length} acks, none before its output or dead letter was stored (${ackProblems.length} problems); ` +
        `consumer num_pending ${info.num_pending}, num_ack_pending ${info.num_ack_pending}; ` +
        `dlq_messages_total ${metric(metrics, 'dlq_messages_total')}, ` +
        `events_processed_total ${metric(metrics, 'events_processed_total')}; still running: ${survived}; ` +
        `run ${Math.round((Date.now() - started) / 1000)} s`,
    });
    expect(problems, 'hostile messages that did not end where they should').to.deep.equal([]);
    expect(lost).to.equal(0);
    expect(duplicates).to.equal(0);
    expect({ pending: info.num_pending, ackPending: info.num_ack_pending }).to.deep.equal({
      pending: 0,
      ackPending: 0,
    });
    await expectSurvived(service, port);
    expect((await readyz(port)).status, 'ready after the hostile input').to.equal(200);
  });

  it('holds bad messages unacked while no stream takes the DLQ subject, across SIGTERM, a refused start and SIGKILL, losing nothing', async () => {
    const started = Date.now();
    const ackWaitMs = 4000;
    const { names, acks } = await prepare('dlqout', ackWaitMs);
    const env = serviceEnv(names, ackWaitMs, { SHUTDOWN_TIMEOUT_MS: '3000' });
    const phases: Phase[] = [];
    const outages: Outage[] = [];
    // Dead letters read before a deletion took them with the stream (found only there).
    const lettersBefore: StoredMessage[] = [];

    // Run 1 creates the output and DLQ streams and works through valid events.
    const first = start(env);
    const firstPort = await first.httpPort();
    await first.waitForLog((line) => line.message === 'Consuming');
    const before = phase('before', 100, false);
    phases.push(before);
    await publish(names, before.cases);
    await waitSettled(names, 60_000);
    expect((await readyz(firstPort)).status, 'ready before the outage').to.equal(200);

    // Outage 1: the DLQ stream is deleted under run 1, then bad events arrive among valid ones.
    let outage = await deleteDlqStream(names, lettersBefore);
    const during1 = phase('during1', 300, true);
    phases.push(during1);
    await publish(names, during1.cases);
    const held1 = await watchHolding(names, firstPort, during1, acks, phases);

    // SIGTERM mid-outage: the drain gives up on the held messages after SHUTDOWN_TIMEOUT_MS and
    // hands them back (nak); the process exits 0; none of them is acked.
    first.kill('SIGTERM');
    const firstExit = await exitWithin(first, 60_000);
    expect(firstExit, 'run 1: graceful exit during the outage').to.deep.equal({ code: 0, signal: null });
    await expectHeld(names, acks, during1, 'after run 1 left');

    // A start with CREATE_TOPICS=false while no stream takes the DLQ subject: start-up stops,
    // naming DLQ_TOPIC and the subject, before it touches the consumer.
    const refused = start({ ...env, CREATE_TOPICS: 'false' });
    const refusedExit = await exitWithin(refused, 60_000);
    expect(refusedExit.code, 'start-up with the DLQ stream missing').to.equal(1);
    const refusal = refused.stderr.join('');
    expect(refusal).to.include('DLQ_TOPIC').and.to.include(names.dlq);
    expect(refused.lines.some((line) => line.message === 'Consuming')).to.equal(false);
    await expectHeld(names, acks, during1, 'after the refused start');

    // Run 2, with CREATE_TOPICS=true as before: start-up creates the missing DLQ stream (that is
    // what ends outage 1), and the held dead letters are written.
    const second = start(env);
    const secondPort = await second.httpPort();
    await second.waitForLog((line) => line.message === 'Consuming');
    const recreated = second.lines.find((line) => line.message === 'Created streams');
    expect(recreated?.streams, 'run 2 recreated the DLQ stream').to.deep.equal([names.dlqStream]);
    outages.push(await recreatedAt(names, outage, during1));
    await waitSettled(names, 60_000);

    // Outage 2, under run 2: deleted again, more bad events, then SIGKILL mid-outage.
    outage = await deleteDlqStream(names, lettersBefore);
    const during2 = phase('during2', 300, true);
    phases.push(during2);
    await publish(names, during2.cases);
    const held2 = await watchHolding(names, secondPort, during2, acks, phases);
    second.kill('SIGKILL');
    expect((await second.exited).signal, 'run 2 SIGKILLed').to.equal('SIGKILL');
    await expectHeld(names, acks, during2, 'after run 2 was killed');

    // The operator recreates the DLQ stream as start-up makes it; run 3 gets the held messages
    // once their ack wait ran out, and writes their dead letters.
    await run.jsm.streams.add({ name: names.dlqStream, subjects: [names.dlq] });
    outages.push(await recreatedAt(names, outage, during2));
    const third = start(env);
    const thirdPort = await third.httpPort();
    await waitSettled(names, 60_000);
    let ready = await readyz(thirdPort);
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await sleep(200);
      ready = await readyz(thirdPort);
    }
    expect(ready, 'run 3 ready after the outage').to.deep.equal({ status: 200, reasons: [] });
    const thirdUp = await isRunning(third);
    third.kill('SIGTERM');
    const thirdExit = await exitWithin(third, 60_000);

    // The independent reader: every message of every phase where it belongs, once.
    const sources = byKey(await readStream(run.js, run.jsm, names.subject));
    const outputMessages = await readStream(run.js, run.jsm, names.output);
    const letterMessages = [...lettersBefore, ...(await readStream(run.js, run.jsm, names.dlq))];
    const outputs = byKey(outputMessages);
    const letters = byKey(letterMessages);
    const ackLog = await acks.read();
    const landedAt = new Map<number, bigint>();
    const problems: string[] = [];
    let lost = 0;
    for (const testCase of phases.flatMap((p) => p.cases)) {
      const { key, expected } = testCase;
      const source = sources.get(key)?.[0];
      expect(source, `source message ${key}`).to.not.equal(undefined);
      const landed = (expected.to === 'output' ? outputs : letters).get(key)?.[0];
      const elsewhere = (expected.to === 'output' ? letters : outputs).get(key);
      if (elsewhere) problems.push(`${key}: also in the ${expected.to === 'output' ? 'DLQ' : 'output'}`);
      if (!landed) {
        lost += 1;
        problems.push(`${key}: not in the ${expected.to}`);
        continue;
      }
      landedAt.set(source!.seq, landed.storedNanos);
      problems.push(...landedProblems(testCase, landedView(landed), originOf(testCase, source!, names)));
    }
    const known = new Set(phases.flatMap((p) => p.cases.map((c) => c.key)));
    for (const key of [...outputs.keys(), ...letters.keys()].filter((k) => !known.has(k)))
      problems.push(`${key}: unexpected message`);
    const duplicates = outputMessages.length - outputs.size + (letterMessages.length - letters.size);
    const ackProblems = acksAfterLanding(ackLog, landedAt, await lastSeq(names));
    // No bad message was acked before the DLQ stream was back: it was published after the
    // stream was deleted, so until then no stream could have stored its dead letter.
    const ackedInOutage = outages.flatMap(({ phase: { bad }, recreatedNanos }) => {
      const seqs = new Set(bad.map((key) => sources.get(key)![0]!.seq));
      return ackLog.filter((ack) => seqs.has(ack.streamSeq) && ack.atNanos < recreatedNanos);
    });
    const info = await run.jsm.consumers.info(names.stream, names.durable);
    const redelivered = ackLog.filter((ack) => ack.deliveries > 1).length;

    recordScenario({
      scenario:
        'DLQ outage (service processes; DLQ stream deleted twice, SIGTERM, refused start, SIGKILL) (NATS JetStream)',
      events: phases.reduce((sum, p) => sum + p.cases.length, 0),
      faults:
        `DLQ stream missing ${outages.map((o) => `${Math.round((o.endedAt - o.startedAt) / 1000)} s`).join(' + ')}; ` +
        `${during1.bad.length} + ${during2.bad.length} dead letters unwritable (${held1.failures} + ${held2.failures} failed writes); ` +
        `SIGTERM mid-outage 1, a start with CREATE_TOPICS=false refused, restart with CREATE_TOPICS=true recreated the stream; ` +
        `SIGKILL mid-outage 2, stream recreated by hand, restart`,
      lost,
      duplicates,
      notes:
        `${problems.length + ackProblems.length} problems; acks of bad messages during an outage ${ackedInOutage.length}; ` +
        `held unacked ${held1.ackPending}/${during1.bad.length} and ${held2.ackPending}/${during2.bad.length}, ` +
        `/readyz 503 (dlq) seen ${held1.notReadyPolls} + ${held2.notReadyPolls} times; ` +
        `${ackLog.length} acks, ${redelivered} at a redelivery, none before its output or dead letter was stored; ` +
        `consumer num_pending ${info.num_pending}, num_ack_pending ${info.num_ack_pending}; ` +
        `run ${Math.round((Date.now() - started) / 1000)} s`,
    });
    expect(problems, 'messages not where they belong').to.deep.equal([]);
    expect(ackProblems, 'acks').to.deep.equal([]);
    expect(ackedInOutage, 'bad messages acked while no stream took the DLQ subject').to.deep.equal([]);
    expect(lost).to.equal(0);
    expect(duplicates).to.equal(0);
    expect({ pending: info.num_pending, ackPending: info.num_ack_pending }).to.deep.equal({
      pending: 0,
      ackPending: 0,
    });
    expect(thirdUp, 'run 3 was still running').to.equal(true);
    expect(thirdExit).to.deep.equal({ code: 0, signal: null });
    for (const service of services) {
      const failed = service.lines.filter(
        (line) => line.level === 'error' && /must be restarted/.test(line.message),
      );
      expect(failed, 'the service failed as a whole').to.deep.equal([]);
    }
  });

  interface Phase {
    cases: NatsCase[];
    /** Keys of the bad messages, in publishing order. */
    bad: string[];
  }

  /** A time the DLQ stream was missing, and the phase whose bad messages it held. */
  interface Outage {
    startedAt: number;
    endedAt: number;
    /** When the stream was created again, by the server's clock. */
    recreatedNanos: bigint;
    phase: Phase;
  }

  // The kinds of bad message, cycled: four of the catalogue's, one per error code.
  const BAD_KINDS = ['truncated-json', 'empty-value', 'constructor-key-only', 'invalid-utf8-in-string'].map(
    (key) => hostileCases().find((c) => c.key === key)!,
  );

  /** `count` messages; with bad ones, every tenth from the 30th on is bad (27 of 300). */
  function phase(name: string, count: number, withBad: boolean): Phase {
    const cases: NatsCase[] = [];
    const bad: string[] = [];
    for (let i = 0; i < count; i++) {
      if (withBad && i >= 30 && i % 10 === 0) {
        const kind = BAD_KINDS[bad.length % BAD_KINDS.length]!;
        const key = `${name}-bad-${bad.length}`;
        bad.push(key);
        cases.push({
          ...kind,
          key,
          headers: [['origin', 'dlq-outage-fault']],
          keeps: [['origin', ['dlq-outage-fault']]],
        });
      } else {
        cases.push({
          key: `${name}-ok-${i}`,
          value: text(JSON.stringify({ Id: `${name}-${i}` })),
          expected: output(),
        });
      }
    }
    return { cases, bad };
  }

  /** Reads the DLQ stream whole (its letters go with it), then deletes it; returns when. */
  async function deleteDlqStream(names: Names, keep: StoredMessage[]): Promise<number> {
    keep.push(...(await readStream(run.js, run.jsm, names.dlq)));
    await run.jsm.streams.delete(names.dlqStream);
    await waitUntil(
      `no stream to take ${names.dlq}`,
      async () => (await run.jsm.streams.find(names.dlq).catch(() => undefined)) === undefined,
      10_000,
    );
    return Date.now();
  }

  /** The outage that began at `startedAt` and ended when the DLQ stream was created again. */
  async function recreatedAt(names: Names, startedAt: number, phase: Phase): Promise<Outage> {
    const { created } = await run.jsm.streams.info(names.dlqStream);
    return { startedAt, endedAt: Date.now(), recreatedNanos: nanosOf(created), phase };
  }

  /**
   * Watches the running service during an outage until every valid event of `current` was
   * forwarded and acked, every bad one is held unacked (the consumer's ack-pending is exactly
   * the bad ones, nothing is undelivered, and the ack log has none of them), /readyz said 503
   * naming the DLQ, and the dead-letter writes failed over at least two rounds of retries.
   */
  async function watchHolding(
    names: Names,
    port: number,
    current: Phase,
    acks: AckLog,
    phases: Phase[],
  ): Promise<{ failures: number; notReadyPolls: number; ackPending: number }> {
    const watchStarted = Date.now();
    const deadline = watchStarted + 90_000;
    const valid = phases.flatMap((p) => p.cases).filter((c) => c.expected.to === 'output').length;
    const failureCounts = new Set<number>();
    let notReadyPolls = 0;
    let seen = '';
    while (Date.now() < deadline) {
      const ready = await readyz(port);
      if (
        ready.status === 503 &&
        ready.reasons.some((reason) => /^dlq: dead-letter writes failing/.test(reason))
      )
        notReadyPolls += 1;
      const failures = metric(await scrape(port), 'myeventstream_dlq_write_failures_total');
      if (failures > 0) failureCounts.add(failures);
      const info = await run.jsm.consumers.info(names.stream, names.durable);
      const outputCount = (await run.jsm.streams.info(names.outputStream)).state.messages;
      seen = `output ${outputCount}/${valid}, ${JSON.stringify({ pending: info.num_pending, ackPending: info.num_ack_pending })}, ${failures} failed DLQ writes, /readyz 503 seen ${notReadyPolls} times`;
      const enough =
        outputCount >= valid &&
        info.num_pending === 0 &&
        info.num_ack_pending === current.bad.length &&
        notReadyPolls > 0 &&
        failures >= current.bad.length * 2 &&
        failureCounts.size >= 2 &&
        Date.now() - watchStarted >= 5000;
      if (enough) {
        await expectHeld(names, acks, current, 'while the service ran');
        return { failures, notReadyPolls, ackPending: info.num_ack_pending };
      }
      await sleep(250);
    }
    throw new Error(`outage not observed as expected: ${seen}`);
  }

  /** No bad message of `current` is in the ack log, and the ack floor is below the first one. */
  async function expectHeld(names: Names, acks: AckLog, current: Phase, when: string): Promise<void> {
    const sources = byKey(await readStream(run.js, run.jsm, names.subject));
    const badSeqs = current.bad.map((key) => sources.get(key)![0]!.seq);
    const acked = (await acks.read()).filter((ack) => badSeqs.includes(ack.streamSeq));
    expect(acked, `bad messages acked ${when}`).to.deep.equal([]);
    const info = await run.jsm.consumers.info(names.stream, names.durable);
    expect(info.ack_floor.stream_seq, `ack floor ${when}`).to.be.below(Math.min(...badSeqs));
  }
});

/** The NATS-only hostile messages: what NATS headers and subjects allow that Kafka's do not. */
function natsCases(names: Names): NatsCase[] {
  const huge = 'h'.repeat(60 * 1024);
  const many: Array<[string, string]> = Array.from({ length: 1000 }, (_, i) => [`x-h-${i}`, `v${i}`]);
  const odd = "!#$%&'*+-.^_`|~";
  return [
    {
      key: 'headers-only-text',
      value: Buffer.alloc(0),
      headers: [
        ['trace', 'trace-1'],
        ['x-text', 'café ☕ 𝄞'],
      ],
      expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
      keeps: [
        ['trace', ['trace-1']],
        ['x-text', ['café ☕ 𝄞']],
      ],
    },
    {
      // Copied to the output, Nats-Expected-Stream would have the write refused (another stream
      // takes the output subject), Nats-Msg-Id would have a later one dropped as a duplicate.
      key: 'server-instructions-valid',
      value: text('{"Id":"instructed"}'),
      headers: [
        ['Nats-Msg-Id', `instructed-${names.stream}`],
        ['Nats-Expected-Stream', names.stream],
      ],
      expected: output(),
    },
    {
      key: 'server-instructions-invalid',
      value: text('not json'),
      headers: [
        ['Nats-Msg-Id', `instructed-bad-${names.stream}`],
        ['Nats-Expected-Stream', names.stream],
      ],
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
    },
    {
      key: 'empty-header-value-valid',
      value: text('{"Id":"empty-header"}'),
      headers: [
        ['h-empty', ''],
        ['h-ok', 'v'],
      ],
      expected: output(),
      keeps: [
        ['h-empty', ['']],
        ['h-ok', ['v']],
      ],
    },
    {
      key: 'empty-header-value-invalid',
      value: text('garbage'),
      headers: [
        ['h-empty', ''],
        ['h-ok', 'v'],
      ],
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      keeps: [
        ['h-empty', ['']],
        ['h-ok', ['v']],
      ],
    },
    {
      // JetStream refuses headers over 64 KiB: 60 KiB leaves room for what the service adds to
      // the output or dead letter. (Nearer the limit, the dead letter's headers would not fit:
      // its write fails for good and the message stays unacked, /readyz 503, until removed.)
      key: 'huge-header-valid',
      value: text('{"Id":"huge-header"}'),
      headers: [['x-huge', huge]],
      expected: output(),
      keeps: [['x-huge', [huge]]],
    },
    {
      key: 'huge-header-invalid',
      value: text('{"Id":'),
      headers: [['x-huge', huge]],
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      keeps: [['x-huge', [huge]]],
    },
    {
      key: 'many-headers-invalid',
      value: bytes([0xff, 0xfe]),
      headers: many,
      expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
      keeps: [many[0]!, many[999]!].map(([name, value]) => [name, [value]]),
    },
    {
      key: 'control-characters-in-header',
      value: text('{"Id":"control"}'),
      headers: [['x-ctl', 'a\u0000b\u0001c\u007f']],
      expected: output(),
      keeps: [['x-ctl', ['a\u0000b\u0001c\u007f']]],
    },
    {
      key: 'odd-header-name',
      value: text('not json'),
      headers: [[odd, 'odd']],
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      keeps: [[odd, ['odd']]],
    },
    {
      key: 'non-ascii-subject-valid',
      value: text('{"Id":"non-ascii-subject"}'),
      subjectToken: 'ünï-😀',
      expected: output(),
    },
    {
      key: 'non-ascii-subject-invalid',
      value: text('{"Id":""}'),
      subjectToken: 'ünï-😀',
      expected: dlq('SCHEMA_VIOLATION', 'validate', /\/Id must NOT have fewer than 1 characters/),
    },
  ];
}

/** A stored NATS message as the catalogue's checks read it. */
function landedView(message: StoredMessage): LandedMessage {
  const { headers } = message;
  return {
    value: Buffer.from(message.data),
    header: (name) => (headers?.has(name) ? headers.get(name) : undefined),
    headerValues: (name) => headers?.values(name) ?? [],
  };
}

/**
 * The headers that name a message's origin where it landed: in the output the stream and its
 * sequence (partition 0); in a dead letter the subject it was published on (where a replay
 * publishes it again), the stream, the sequence, when the stream stored it and the durable.
 */
function originOf(testCase: HostileCase, source: StoredMessage, names: Names): Record<string, string> {
  if (testCase.expected.to === 'output')
    return { source_topic: names.stream, source_partition: '0', source_offset: String(source.seq) };
  return {
    original_topic: source.subject,
    original_stream: names.stream,
    original_partition: '0',
    original_offset: String(source.seq),
    original_timestamp: String(source.storedNanos / 1_000_000n),
    consumer_group: names.durable,
  };
}

/**
 * Every message of the source stream (sequences 1 to `lastSeq`) acked exactly once, and after
 * the output or dead letter it ended in was stored (both times by the server's clock).
 */
function acksAfterLanding(ackLog: AckRecord[], landedAt: Map<number, bigint>, lastSeq: number): string[] {
  const problems: string[] = [];
  const bySeq = new Map<number, AckRecord[]>();
  for (const ack of ackLog) bySeq.set(ack.streamSeq, [...(bySeq.get(ack.streamSeq) ?? []), ack]);
  for (let seq = 1; seq <= lastSeq; seq++) {
    const found = bySeq.get(seq) ?? [];
    if (found.length !== 1) problems.push(`seq ${seq}: acked ${found.length} times`);
    const landed = landedAt.get(seq);
    if (landed !== undefined && found.some((ack) => ack.atNanos < landed))
      problems.push(
        `seq ${seq}: acked ${landed - found[0]!.atNanos} ns before its output or dead letter was stored`,
      );
  }
  for (const seq of bySeq.keys())
    if (seq < 1 || seq > lastSeq) problems.push(`seq ${seq}: acked, not published`);
  return problems;
}
