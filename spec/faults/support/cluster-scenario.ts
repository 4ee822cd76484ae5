import { expect } from 'chai';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { join } from 'node:path';
import type { JvmCluster } from '../../../lib/broker/jvm-cluster.js';
import { waitUntilInSync } from '../../../lib/broker/partition-moves.js';
import { projectRoot } from '../../../lib/project-root.js';
import { createTopic, LOG_APPEND_TIME, randomName } from '../../integration/support/kafka.js';
import { sleep, type ReadMessage } from '../../integration/support/topic-reader.js';
import { expectCommitInvariants, startCommitWatcher, type CommitVerdict } from './commit-watcher.js';
import { readAll } from './dlq-outage-kit.js';
import { LeaderWatch, movedCount } from './leader-watch.js';
import { startLiveTraffic } from './live-traffic.js';
import { recordScenario } from './report.js';
import { ServiceFleet, tail } from './service-fleet.js';
import { seededRandom } from '../../../loadtest/random.js';

/** Events per second produced throughout a scenario. */
const RATE = 150;
const PROCESSES = 2;
/** Every 100th event breaks the schema: it belongs in the DLQ. */
const isInvalid = (n: number) => n % 100 === 99;

export interface ScenarioTopics {
  source: string;
  output: string;
  dlq: string;
}

/** What a scenario's fault script gets to work with. */
export interface ClusterFaultContext {
  cluster: JvmCluster;
  kafka: Kafka;
  admin: Admin;
  topics: ScenarioTopics;
  /** Leaders of the source topic. */
  leaders: LeaderWatch;
  random: () => number;
  step(what: string): void;
  /**
   * Call right after starting a leader move: waits until a leader of the source topic moved
   * away from `before`, SIGKILLs a random service process 0.5-2 s later, starts its
   * replacement and waits until it joined the group.
   */
  killAfterMove(before: ReadonlyMap<number, number>, what: string): Promise<void>;
  /** The same after a change the metadata shows otherwise (partitions added). */
  killSoon(what: string): Promise<void>;
  /** Undisturbed traffic with the whole fleet working, so the next fault hits a busy group. */
  steady(ms?: number): Promise<void>;
  /** Waits until node `nodeId` is back in the ISR of the scenario's topics and of the offsets topic. */
  inSync(nodeId: number): Promise<void>;
}

export interface ClusterScenario {
  name: string;
  partitions: number;
  /** Injects the faults; returns their description for the report. */
  fault(context: ClusterFaultContext): Promise<string>;
}

/**
 * Runs one cluster scenario end to end: fresh topics with three replicas, two service
 * processes with a slow pipeline (20-200 ms per event, so hundreds of events are in flight at
 * every moment), events produced at a steady rate with acks=all before, during and after the
 * faults, and the commit watcher throughout. Once the group committed everything, an
 * independent reader checks that every event is in the output (valid) or the DLQ (invalid).
 */
export async function runClusterScenario(
  cluster: JvmCluster,
  scenario: ClusterScenario,
  cleanups: Array<() => Promise<void>>,
): Promise<void> {
  const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  const started = Date.now();
  const step = (what: string) =>
    console.log(`      +${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const kafka = new Kafka({
    clientId: 'cluster-spec',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  const topics: ScenarioTopics = {
    source: randomName('cluster-events'),
    output: randomName('cluster-output'),
    dlq: randomName('cluster-dlq'),
  };
  await createTopic(kafka, topics.source, scenario.partitions, [], 3);
  await createTopic(kafka, topics.output, scenario.partitions, LOG_APPEND_TIME, 3);
  await createTopic(kafka, topics.dlq, 1, LOG_APPEND_TIME, 3);
  const groupId = randomName('cluster-group');
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const leaders = new LeaderWatch(kafka, topics.source);
  cleanups.push(() => leaders.close());

  const watcher = await startCommitWatcher({
    kafka,
    groupId,
    sourceTopic: topics.source,
    outputTopics: [topics.output],
    dlqTopic: topics.dlq,
  });
  cleanups.push(() => watcher.close());
  const fleet = new ServiceFleet(
    {
      KAFKA_BROKERS: cluster.bootstrap,
      KAFKA_CLIENT_ID: 'cluster',
      KAFKA_TOPIC: topics.source,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_TOPIC: topics.output,
      DLQ_TOPIC: topics.dlq,
      PIPELINE: join(projectRoot(), 'spec', 'faults', 'fixtures', 'flaky-pipeline.js'),
      FAULT_LATENCY_MIN_MS: '20',
      FAULT_LATENCY_MAX_MS: '200',
      FAULT_FAILURE_RATE: '0.02',
      // Ten short retries: a transient failure never sends a valid event to the DLQ.
      RETRY_MAX_ATTEMPTS: '10',
      RETRY_BASE_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
      // 24 workers at 110 ms on average: ~220 events/s per process against 150/s produced,
      // so one process alone falls behind and both together catch up.
      WORKER_POOL_SIZE: '24',
      QUEUE_BUFFER_SIZE: '200',
      // A killed member holds its partitions until its session expires.
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    },
    PROCESSES,
    random,
  );
  cleanups.push(() => fleet.killAll());
  await fleet.joined();
  step(`${PROCESSES} service processes joined; producing ${RATE} events/s`);
  const traffic = await startLiveTraffic({ kafka, topic: topics.source, perSecond: RATE, isInvalid });
  cleanups.push(async () => void (await traffic.stop()));

  const moves: string[] = [];
  const context: ClusterFaultContext = {
    cluster,
    kafka,
    admin,
    topics,
    leaders,
    random,
    step,
    async killAfterMove(before, what) {
      const after = await leaders.moved(before);
      moves.push(`${what}: ${movedCount(before, after)}/${before.size}`);
      step(`${what} moved ${movedCount(before, after)} of ${before.size} leaders`);
      await context.killSoon(what);
    },
    async killSoon(what) {
      const delay = 500 + random() * 1500;
      step(`${what}: SIGKILL to a service process in ${Math.round(delay)} ms`);
      fleet.assertAlive();
      await fleet.killOne(delay);
      await fleet.joined();
      step('the replacement joined');
    },
    async steady(ms = 4000) {
      await sleep(ms);
      fleet.assertAlive();
    },
    async inSync(nodeId) {
      await waitUntilInSync(admin, nodeId, [topics.source, topics.output, topics.dlq, '__consumer_offsets']);
    },
  };
  await context.steady();
  const faults = await scenario.fault(context);
  await context.steady();
  const { acknowledged, unacknowledged, resent } = await traffic.stop();
  step(
    `stopped producing: ${acknowledged.length} acknowledged, ${unacknowledged.length} not, ${resent} sent again`,
  );

  const drained = await waitForCommitsAtEnd(admin, groupId, topics.source, 240_000);
  step(`committed offsets ${drained ? 'at' : 'NOT at'} the end offsets`);
  fleet.assertAlive();
  const exits = await fleet.stop();
  const verdict: CommitVerdict = await watcher.stop();

  // The independent reader: the source, the output and the DLQ, all to their end offsets.
  const source = await readAll(kafka, topics.source);
  const output = await readAll(kafka, topics.output);
  const dead = await readAll(kafka, topics.dlq);
  const ledger = tally(source, output, dead);
  const events = ledger.records.size;
  const duplicates = ledger.duplicates;
  const kills = fleet.kills;
  recordScenario({
    scenario: `cluster: ${scenario.name}`,
    events,
    faults: `${faults}; ${kills} service SIGKILL+restart, each 0.5-2 s after a leader move; ${PROCESSES} processes, pipeline 20-200 ms`,
    lost: ledger.lost.length,
    duplicates,
    duplicatesPerKill: kills > 0 ? Math.round(duplicates / kills) : duplicates,
    watcher: verdict.summary,
    notes:
      `seed ${seed}; leader moves (partitions moved) ${moves.join(', ') || 'none'}; lost ${ledger.lost.slice(0, 20).join(' ')}` +
      `; acknowledged ${acknowledged.length}, unacknowledged ${unacknowledged.length}, sent again ${resent}` +
      ` (a failed send, or an answer without their partition), acknowledged but not in the source ` +
      `${ledger.missingFromSource(acknowledged).length}; misrouted ${ledger.misrouted.length}; stray ${ledger.stray}` +
      `; ${Math.round((Date.now() - started) / 1000)} s`,
  });

  expect(
    ledger.missingFromSource(acknowledged).slice(0, 10),
    'acknowledged events missing from the source',
  ).to.deep.equal([]);
  expect(ledger.lost.slice(0, 20), `${ledger.lost.length} lost`).to.deep.equal([]);
  expect(
    ledger.misrouted.slice(0, 10),
    'valid events in the DLQ or invalid ones in the output',
  ).to.deep.equal([]);
  expect(ledger.stray, 'output or DLQ records that match no event').to.equal(0);
  expectCommitInvariants(verdict);
  expect(drained, 'committed offsets reached the end offsets').to.equal(true);
  expect(
    exits.map((exit) => exit.code),
    fleet.all.map(tail).join('\n'),
  ).to.deep.equal(exits.map(() => 0));
  expect(events, 'events produced during the scenario').to.be.greaterThan(RATE * 10);
}

/** Every source event, where its copies went, and what is wrong. */
function tally(source: ReadMessage[], output: ReadMessage[], dead: ReadMessage[]) {
  const records = new Map<string, string>();
  for (const message of source)
    records.set(message.key!.toString(), `${message.partition}:${message.offset}`);
  const copies = (messages: ReadMessage[]) => {
    const count = new Map<string, number>();
    for (const message of messages) {
      const key = message.key?.toString() ?? '';
      count.set(key, (count.get(key) ?? 0) + 1);
    }
    return count;
  };
  const outputCopies = copies(output);
  const deadCopies = copies(dead);
  const lost: string[] = [];
  const misrouted: string[] = [];
  let duplicates = 0;
  for (const [key, position] of records) {
    const invalid = isInvalid(Number(key.slice('event-'.length)));
    const right = (invalid ? deadCopies : outputCopies).get(key) ?? 0;
    const wrong = (invalid ? outputCopies : deadCopies).get(key) ?? 0;
    if (right === 0) lost.push(`${key}@${position}`);
    if (wrong > 0) misrouted.push(key);
    duplicates += Math.max(0, right - 1);
  }
  const stray = [...outputCopies.keys(), ...deadCopies.keys()].filter((key) => !records.has(key)).length;
  return {
    records,
    lost,
    misrouted,
    duplicates,
    stray,
    missingFromSource: (keys: string[]) => keys.filter((key) => !records.has(key)),
  };
}

/**
 * Polls until the group's committed offset of every partition of `topic` is its end offset
 * (a partition without events counts when nothing is committed). False on timeout.
 */
async function waitForCommitsAtEnd(admin: Admin, groupId: string, topic: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
      const atEnd = ends.every(({ partition, high }) => {
        const offset = committed.get(partition) ?? '-1';
        return offset === high || (high === '0' && offset === '-1');
      });
      if (atEnd) return true;
    } catch {
      // A coordinator or leader moving: ask again.
    }
    await sleep(500);
  }
  return false;
}
