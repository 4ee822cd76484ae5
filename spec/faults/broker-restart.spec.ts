import { expect } from 'chai';
import type { Kafka, Message } from 'kafkajs';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import {
  committedOffsets,
  createServiceTopics,
  endOffsets,
  randomName,
  testKafka,
} from '../integration/support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from '../integration/support/produce.js';
import { ServiceProcess, type LogLine } from '../integration/support/service-process.js';
import { header, readTopic, sleep } from '../integration/support/topic-reader.js';
import { faultBroker } from './support/fault-broker.js';
import { expectCommitInvariants, watchServiceRun, type CommitWatcher } from './support/commit-watcher.js';
import { recordScenario } from './support/report.js';

/** One answer (or non-answer) of `/readyz`, as an orchestrator's probe would see it. */
interface ReadinessSample {
  at: number;
  /** Which service process answered (1 for the first, 2 for its replacement, ...). */
  run: number;
  /** true: 200; false: 503; undefined: no answer (not listening yet, exited, timed out). */
  ready: boolean | undefined;
  reasons: string[];
}

/** A service process that ended on its own, and what it said about it. */
interface Crash {
  run: number;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  errorLine: LogLine | undefined;
}

/** Every JSON log line of the process, from stdout and stderr ('Start-up failed' goes to stderr). */
function jsonLines(service: ServiceProcess): LogLine[] {
  const fromStderr = service.stderr
    .join('')
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return parsed && typeof parsed === 'object' ? [parsed as LogLine] : [];
      } catch {
        return [];
      }
    });
  return [...service.lines, ...fromStderr];
}

async function probe(port: number): Promise<{ ready: boolean | undefined; reasons: string[] }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { ready?: boolean; reasons?: string[] };
    if (response.status === 200) return { ready: true, reasons: [] };
    if (response.status === 503) return { ready: false, reasons: body.reasons ?? [] };
    return { ready: undefined, reasons: [`HTTP ${response.status}`] };
  } catch (error) {
    return { ready: undefined, reasons: [String(error)] };
  }
}

/** The readiness answers where they changed, in seconds after `origin`. */
function transitions(samples: ReadinessSample[], origin: number): string {
  const changes: string[] = [];
  let previous: string | undefined;
  for (const sample of samples) {
    const state = `run ${sample.run} ${String(sample.ready)}`;
    if (state === previous) continue;
    previous = state;
    const why = sample.ready === false ? ` (${sample.reasons.join('; ')})` : '';
    changes.push(`${((sample.at - origin) / 1000).toFixed(1)}: ${state}${why}`);
  }
  return changes.join(', ');
}

/**
 * Runs an admin read again while it fails: right after the broker restarts, the group
 * coordinator answers COORDINATOR_LOAD_IN_PROGRESS for a while, which kafkajs's admin passes on.
 */
async function retrying<T>(read: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

async function sumOf(offsets: Promise<Map<number, string>>): Promise<number> {
  return [...(await offsets).values()].reduce((sum, offset) => sum + Math.max(0, Number(offset)), 0);
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * Fault scenario: the broker goes away for about 10 s while the service works through a
 * backlog, then comes back with its data. The service either rides the outage out or exits
 * loudly (non-zero, with an error log line) and is restarted here, as an orchestrator would;
 * either way nothing is lost, the commits end at the end offsets, and /readyz says false while
 * the broker is down and true again once the service is back at work.
 */
describe('fault: the broker restarts mid-run', function () {
  this.timeout(360_000);
  const OUTAGE_MS = 10_000;
  const EVENTS = 20_000;
  const PARTITIONS = 6;
  let kafka: Kafka;
  let brokerDown = false;
  const services: ServiceProcess[] = [];
  let supervising = false;
  let watcher: CommitWatcher | undefined;

  before(() => (kafka = testKafka()));

  after(async () => {
    supervising = false;
    await watcher?.close();
    // Other specs share this broker: it must be up again whatever happened here.
    if (brokerDown) {
      await faultBroker().resume();
      brokerDown = false;
    }
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((service) => service.exited));
  });

  it('loses nothing, reports not-ready during the outage, and is ready again after it', async () => {
    const started = Date.now();
    const names = await createServiceTopics(kafka, PARTITIONS);
    const groupId = randomName('group');
    const keys = Array.from({ length: EVENTS }, (_, i) => `event-${i}`);
    const messages: Message[] = keys.map((key, i) => ({ key, value: JSON.stringify({ Id: `id-${i}` }) }));
    await produceAll(kafka, names.source, messages);
    const sourceEnds = await endOffsets(kafka, names.source);
    expect(await sumOf(Promise.resolve(sourceEnds))).to.equal(EVENTS);
    // Polls through the outage too: the polls that fail then are counted, not judged.
    watcher = await watchServiceRun(kafka, groupId, names);

    const env = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      PIPELINE: join(projectRoot(), 'spec', 'faults', 'fixtures', 'flaky-pipeline.js'),
      FAULT_LATENCY_MIN_MS: '2',
      FAULT_LATENCY_MAX_MS: '10',
      FAULT_FAILURE_RATE: '0.05',
      WORKER_POOL_SIZE: '8',
      // Enough retries that neither the injected failures nor an output write failing for the
      // whole outage send a valid event to the DLQ: every event must reach the output.
      RETRY_MAX_ATTEMPTS: '12',
      RETRY_BASE_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '3000',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };

    // The orchestrator: a service that exits on its own is restarted after a second.
    let current!: ServiceProcess;
    let run = 0;
    const crashes: Crash[] = [];
    const launch = () => {
      const service = new ServiceProcess(env);
      services.push(service);
      current = service;
      run += 1;
      const thisRun = run;
      void service.exited.then(({ code, signal }) => {
        if (!supervising || service !== current) return;
        // The service's own error line (main.ts's crash or 'Start-up failed'), not kafkajs's.
        const errorLine = jsonLines(service).findLast(
          (line) => line.level === 'error' && !String(line.component ?? '').startsWith('kafkajs'),
        );
        crashes.push({ run: thisRun, at: Date.now(), code, signal, errorLine });
        setTimeout(() => supervising && launch(), 1000);
      });
    };
    supervising = true;
    launch();

    // The probe: /readyz of whichever process runs now, every 200 ms.
    const samples: ReadinessSample[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const service = current;
        const thisRun = run;
        const line = service.lines.find((l) => l.message === 'Metrics and health endpoints listening');
        const answer =
          line === undefined
            ? { ready: undefined, reasons: ['not listening yet'] }
            : await probe(line.port as number);
        samples.push({ at: Date.now(), run: thisRun, ...answer });
        await sleep(200);
      }
    })();
    let halted = 0;
    let passed = false;
    const readySince = (since: number) => samples.some((s) => s.at >= since && s.ready === true);

    try {
      await waitFor('the service to be ready', () => readySince(started), 60_000);
      // Mid-run: part of the backlog is done, most of it is still to come.
      const outputCount = () => sumOf(retrying(() => endOffsets(kafka, names.output)));
      await waitFor('some progress', async () => (await outputCount()) >= EVENTS / 8, 120_000);
      const doneBeforeOutage = await outputCount();
      expect(doneBeforeOutage, 'events forwarded before the outage').to.be.lessThan(EVENTS);

      const haltStarted = Date.now();
      brokerDown = true;
      await faultBroker().halt();
      halted = Date.now();
      await sleep(OUTAGE_MS);
      await faultBroker().resume();
      brokerDown = false;
      const resumed = Date.now();
      console.log(
        `      broker halted in ${halted - haltStarted} ms, down ${resumed - halted} ms in all; ` +
          `${doneBeforeOutage} of ${EVENTS} forwarded before`,
      );

      await waitFor('the service to be ready again', () => readySince(resumed), 120_000);
      const { committed, ends } = await waitForCommitsAtEnd(
        async () => ({
          committed: await retrying(() => committedOffsets(kafka, groupId, names.source)),
          ends: sourceEnds,
        }),
        180_000,
      );
      expect(Object.fromEntries(committed), 'committed offsets at the end offsets').to.deep.equal(
        Object.fromEntries(ends),
      );
      const backlogDone = Date.now();
      await waitFor('a ready answer after the backlog was done', () => readySince(backlogDone), 30_000);
      probing = false;
      await prober;

      // The last process stops gracefully.
      supervising = false;
      const last = current;
      last.kill('SIGTERM');
      const exit = await last.exited;
      expect(exit.code, `the last service's exit; stderr: ${last.stderr.join('')}`).to.equal(0);
      const verdict = await watcher.stop();
      watcher = undefined;

      // What came out, read by an independent consumer: the output topic is final now.
      const outputTotal = await outputCount();
      const output = await readTopic(kafka, names.output, outputTotal, { timeoutMs: 120_000 });
      const dlqTotal = await sumOf(retrying(() => endOffsets(kafka, names.dlq)));
      const dead = dlqTotal > 0 ? await readTopic(kafka, names.dlq, dlqTotal, { timeoutMs: 60_000 }) : [];
      const outputKeys = new Set(output.map((m) => m.key!.toString()));
      const missing = keys.filter((key) => !outputKeys.has(key));
      const deadKeys = new Set(dead.map((m) => m.key!.toString()));
      const lost = missing.filter((key) => !deadKeys.has(key)).length;
      const duplicates = output.length - outputKeys.size;
      const strays = [...outputKeys].filter((key) => !key.startsWith('event-'));

      const outage = samples.filter((s) => s.at >= halted && s.at <= resumed);
      const notReady = outage.filter((s) => s.ready === false);
      const reasons = [...new Set(notReady.flatMap((s) => s.reasons.map((r) => r.split(':')[0])))];
      const firstNotReady = notReady[0];
      const readyAgain = samples.find((s) => s.at > resumed && s.ready === true);
      const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.log(`      readiness (s after the halt): ${transitions(samples, halted)}`);
      const crashNotes = crashes.map(
        (c) => `run ${c.run} exited ${c.code ?? c.signal} (${String(c.errorLine?.message)})`,
      );
      recordScenario({
        scenario: 'broker restart',
        events: EVENTS,
        faults:
          `broker down ~${Math.round((resumed - haltStarted) / 1000)} s mid-run; ` +
          `flaky pipeline 2-10 ms, 5 % transient failures; ${crashes.length} service restart(s)`,
        lost,
        duplicates,
        watcher: verdict.summary,
        notes:
          `readyz during outage: ${notReady.length}/${outage.length} not-ready answers (${reasons.join(', ') || 'none'})` +
          (firstNotReady ? `, from ${seconds(firstNotReady.at - halted)} after the halt` : '') +
          (readyAgain ? `, ready again ${seconds(readyAgain.at - resumed)} after the resume; ` : '; ') +
          `${dead.length} dead letter(s); ${crashNotes.join('; ') || 'rode it out, no restart'}; ` +
          `${Math.round((Date.now() - started) / 1000)} s`,
      });

      // Nothing lost, nothing dead-lettered (every event is valid), nothing foreign.
      expect(missing.slice(0, 10), `${missing.length} events missing from the output`).to.deep.equal([]);
      expect(lost).to.equal(0);
      expect(
        dead.map((m) => `${m.key!.toString()}: ${header(m, 'error_message')}`).slice(0, 5),
        'dead letters',
      ).to.deep.equal([]);
      expect(strays).to.deep.equal([]);
      expectCommitInvariants(verdict);

      // Either it rode the outage out, or each exit was loud: non-zero with an error line.
      for (const crash of crashes) {
        expect(crash.code, `run ${crash.run} exited ${crash.signal ?? crash.code}`).to.be.a('number');
        expect(crash.code).to.not.equal(0);
        expect(crash.errorLine, `run ${crash.run} exited without an error log line`).to.not.equal(undefined);
      }
      // Readiness: false while the broker was down (an answer, 503, not just a dead port),
      // true again after it came back.
      expect(
        notReady.length,
        `no not-ready answer while the broker was down: ${JSON.stringify(outage.slice(0, 3))}`,
      ).to.be.greaterThan(0);
      expect(samples.some((s) => s.at > resumed && s.ready === true)).to.equal(true);
      passed = true;
    } finally {
      probing = false;
      await prober;
      if (!passed) {
        console.log(`      readiness (s after the halt): ${transitions(samples, halted)}`);
        for (const service of services)
          for (const l of jsonLines(service)
            .filter((x) => x.level !== 'info')
            .slice(-15))
            console.log(`      ${JSON.stringify(l).slice(0, 300)}`);
      }
    }
  });
});
