import { expect } from 'chai';
import type { Admin, Kafka, Message } from 'kafkajs';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import {
  createTopic,
  endOffsets,
  LOG_APPEND_TIME,
  randomName,
  testKafka,
} from '../integration/support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from '../integration/support/produce.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { header, readTopic, sleep, type ReadMessage } from '../integration/support/topic-reader.js';
import { expectCommitInvariants, watchServiceRun, type CommitWatcher } from './support/commit-watcher.js';
import { recordScenario } from './support/report.js';

/**
 * Slow shutdown: every message takes 5 s to process and SHUTDOWN_TIMEOUT_MS is 1 s, so a
 * SIGTERM always finds work that cannot finish in time. The service must give up after the
 * timeout, commit only offsets whose messages (and all before them) were written to the output
 * or the DLQ, and a restart must deliver the rest: nothing lost.
 */

const COUNT = 300;
const PARTITIONS = 3;
const WORKERS = 50;

describe('fault: slow shutdown (processing longer than SHUTDOWN_TIMEOUT_MS)', function () {
  this.timeout(300_000);
  let kafka: Kafka;
  let admin: Admin | undefined;
  let services: ServiceProcess[] = [];
  let watcher: CommitWatcher | undefined;
  before(() => (kafka = testKafka('slow-shutdown-spec')));

  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((s) => s.exited));
    services = [];
    await admin?.disconnect();
    admin = undefined;
  });

  it('gives up after the timeout, commits only settled offsets, and a restart delivers the rest', async () => {
    const names = {
      source: randomName('slow-shutdown-events'),
      output: randomName('slow-shutdown-output'),
      dlq: randomName('slow-shutdown-dlq'),
    };
    await createTopic(kafka, names.source, PARTITIONS);
    await createTopic(kafka, names.output, PARTITIONS, LOG_APPEND_TIME);
    await createTopic(kafka, names.dlq, 1, LOG_APPEND_TIME);
    const groupId = randomName('slow-shutdown-group');
    watcher = await watchServiceRun(kafka, groupId, names);
    // A few schema-invalid events among the slow valid ones: they settle at once (dead letter),
    // so commits can also move past messages that never reached the output.
    const messages: Message[] = Array.from({ length: COUNT }, (_, i) =>
      i % 50 === 25
        ? { key: `invalid-${i}`, value: JSON.stringify({ name: 'no id' }) }
        : { key: `valid-${i}`, value: JSON.stringify({ Id: `id-${i}` }) },
    );
    await produceAll(kafka, names.source, messages);

    const env = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      PIPELINE: join(projectRoot(), 'spec', 'faults', 'fixtures', 'flaky-pipeline.js'),
      FAULT_LATENCY_MIN_MS: '5000',
      FAULT_LATENCY_MAX_MS: '5000',
      FAULT_FAILURE_RATE: '0',
      SHUTDOWN_TIMEOUT_MS: '1000',
      WORKER_POOL_SIZE: String(WORKERS),
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const start = (overrides: Record<string, string> = {}) => {
      const service = new ServiceProcess({ ...env, ...overrides });
      services.push(service);
      return service;
    };
    admin = kafka.admin();
    await admin.connect();
    const committedNow = async () => {
      const [entry] = await admin!.fetchOffsets({ groupId, topics: [names.source] });
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
    };

    // Run 1: every committed offset seen while it runs is kept, to be checked against what the
    // output and the DLQ hold once it exited.
    const first = start();
    await first.waitForLog((line) => line.message === 'Joined the consumer group');
    const snapshots: Array<Map<number, string>> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        snapshots.push(await committedNow());
        await sleep(100);
      }
    })();
    // The first wave of WORKERS messages takes 5 s; once part of it reached the output, the
    // next wave is running. SIGTERM lands a random moment into it, with seconds of work left.
    const deadline = Date.now() + 60_000;
    while (sum(await endOffsets(kafka, names.output)) < 10n) {
      expect(Date.now() < deadline, 'no output from the first run within 60 s').to.equal(true);
      await sleep(100);
    }
    await sleep(500 + Math.random() * 2000);
    const signalledAt = Date.now();
    first.kill('SIGTERM');
    const exit = await first.exited;
    const exitMs = Date.now() - signalledAt;
    polling = false;
    await poller;
    const committedAtExit = await committedNow();
    snapshots.push(committedAtExit);

    // What run 1 settled, read by an independent reader: the output's source_offset headers and
    // the DLQ's original_offset headers, exactly as many messages as the end offsets say.
    const source = await readTopic(kafka, names.source, COUNT);
    const keyAt = new Map(source.map((m) => [position(m.partition, m.offset), m.key!.toString()]));
    const firstOutput = await readAll(kafka, names.output);
    const firstDead = await readAll(kafka, names.dlq);
    const settled = new Set([
      ...firstOutput.map((m) => origin(m, 'source')),
      ...firstDead.map((m) => origin(m, 'original')),
    ]);
    const unsettledAtExit = [...keyAt.keys()].filter((at) => !settled.has(at));
    // Every committed offset ever seen: each offset below it must have settled.
    const violations = new Set<string>();
    for (const snapshot of snapshots) {
      for (const [partition, committed] of snapshot) {
        for (let offset = 0n; offset < BigInt(committed); offset++) {
          const at = position(partition, offset.toString());
          if (!settled.has(at)) violations.add(`committed ${partition}:${committed} past unsettled ${at}`);
        }
      }
    }
    const committedCount = [...committedAtExit.values()].reduce(
      (total, offset) => total + (BigInt(offset) > 0n ? BigInt(offset) : 0n),
      0n,
    );
    const settledUncommitted = [...settled].filter((at) => {
      const [partition, offset] = at.split(':') as [string, string];
      return BigInt(offset) >= BigInt(committedAtExit.get(Number(partition)) ?? '-1');
    }).length;
    const draining = first.lines.find((l) => l.message === 'Shutting down: intake stopped, draining');
    const timedOut = first.lines.find(
      (l) => l.message === 'Shutdown timeout reached; unsettled messages stay uncommitted',
    );
    const shutDown = first.lines.find((l) => l.message === 'Shut down');

    // Run 2, with short processing: it must deliver whatever run 1 left uncommitted.
    const second = start({ FAULT_LATENCY_MIN_MS: '1', FAULT_LATENCY_MAX_MS: '5' });
    const final = await waitForCommitsAtEnd(
      async () => ({ committed: await committedNow(), ends: await endOffsets(kafka, names.source) }),
      120_000,
    );
    const output = await readAll(kafka, names.output);
    const dead = await readAll(kafka, names.dlq);
    const copies = new Map<string, number>();
    for (const at of [...output.map((m) => origin(m, 'source')), ...dead.map((m) => origin(m, 'original'))]) {
      copies.set(at, (copies.get(at) ?? 0) + 1);
    }
    const outputKeys = new Set(output.map((m) => m.key!.toString()));
    const deadKeys = new Set(dead.map((m) => m.key!.toString()));
    const lost = messages
      .map((m) => String(m.key))
      .filter((key) => !(key.startsWith('valid-') ? outputKeys : deadKeys).has(key));
    let duplicates = 0;
    const unexplained: string[] = [];
    for (const [at, count] of copies) {
      if (count <= 1) continue;
      duplicates += count - 1;
      // Only run 1 and run 2 wrote, so a second copy is one run 1 settled and did not commit.
      const [partition, offset] = at.split(':') as [string, string];
      const uncommitted = BigInt(offset) >= BigInt(committedAtExit.get(Number(partition)) ?? '-1');
      if (count > 2 || !uncommitted) unexplained.push(`${keyAt.get(at)} (${at}): ${count} copies`);
    }
    second.kill('SIGTERM');
    const secondExit = await second.exited;
    const verdict = await watcher.stop();
    watcher = undefined;

    recordScenario({
      scenario: 'slow shutdown',
      events: COUNT,
      faults: `SIGTERM with ${String(draining?.running)} running, 5000 ms processing > SHUTDOWN_TIMEOUT_MS=1000, restart`,
      lost: lost.length,
      duplicates,
      watcher: verdict.summary,
      notes:
        `exit code ${exit.code} ${exitMs} ms after SIGTERM; committed ${committedCount} of ${COUNT};` +
        ` unsettled at exit ${unsettledAtExit.length}; settled but uncommitted ${settledUncommitted};` +
        ` commits past an unsettled message ${violations.size} (${snapshots.length} snapshots);` +
        ` duplicates not explained by the shutdown ${unexplained.length}`,
    });

    // The drain did not complete: the service said so, and gave up instead of waiting.
    expect(Number(draining?.running), 'messages running at SIGTERM').to.be.greaterThan(0);
    expect(timedOut, 'the shutdown-timeout warning').to.not.equal(undefined);
    expect(Number(timedOut!.running)).to.be.greaterThan(0);
    expect(shutDown?.drained, 'drained flag of the "Shut down" line').to.equal(false);
    // The documented contract (README, DESIGN invariant 7): a shutdown that stops on time exits
    // 0, even when the drain gave up; what did not settle is simply delivered again.
    expect({ code: exit.code, signal: exit.signal }, tail(first)).to.deep.equal({ code: 0, signal: null });
    expect([...violations].slice(0, 20), `${violations.size} commits past unsettled messages`).to.deep.equal(
      [],
    );
    expectCommitInvariants(verdict);
    expect(committedCount > 0n, 'something was committed before the SIGTERM').to.equal(true);
    expect(unsettledAtExit.length, 'messages left unsettled by run 1').to.be.greaterThan(0);

    expect(lost.slice(0, 20), `${lost.length} lost`).to.deep.equal([]);
    expect(unexplained.slice(0, 20), `${unexplained.length} unexplained duplicates`).to.deep.equal([]);
    expect(Object.fromEntries(final.committed), 'final committed offsets').to.deep.equal(
      Object.fromEntries(final.ends),
    );
    expect(secondExit.code, tail(second)).to.equal(0);
    expect(second.lines.find((l) => l.message === 'Shut down')?.drained).to.equal(true);
  });
});

/** Every message of a topic, exactly as many as its end offsets say it holds. */
async function readAll(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  const count = Number(sum(await endOffsets(kafka, topic)));
  const messages = await readTopic(kafka, topic, count, { timeoutMs: 60_000, settleMs: 1000 });
  expect(messages, `messages read from ${topic}`).to.have.length(count);
  return messages;
}

/** Where a copy came from, by its headers (`source_*` on the output, `original_*` on the DLQ). */
function origin(message: ReadMessage, prefix: 'source' | 'original'): string {
  return position(header(message, `${prefix}_partition`)!, header(message, `${prefix}_offset`)!);
}

function position(partition: number | string, offset: string): string {
  return `${partition}:${offset}`;
}

function sum(offsets: Map<number, string>): bigint {
  let total = 0n;
  for (const offset of offsets.values()) total += BigInt(offset);
  return total;
}

function tail(service: ServiceProcess): string {
  return `stderr: ${service.stderr.join('').slice(-2000)}; last lines: ${JSON.stringify(service.lines.slice(-5))}`;
}
