/**
 * Watches a consumer group's committed offsets throughout a fault scenario and judges them
 * afterwards (DESIGN invariant 10): a partition's committed offset never moves backwards, and
 * never passes a source message that was not finished at that moment: processed with its
 * output write acknowledged, or dead-lettered.
 *
 * Usage (one watcher per group; start it before the service, stop it once the scenario is done):
 *
 *   const watcher = await startCommitWatcher({
 *     kafka, groupId, sourceTopic: names.source, outputTopics: [names.output], dlqTopic: names.dlq,
 *   });
 *   ... the scenario ...
 *   const verdict = await watcher.stop();
 *   recordScenario({ ..., watcher: verdict.summary });
 *   expectCommitInvariants(verdict);
 *
 * (`close()` in an after hook stops a watcher the scenario never got to stop.)
 *
 * How "finished" is known: the output and DLQ topics must be created with
 * `message.timestamp.type=LogAppendTime` (LOG_APPEND_TIME in spec/integration/support/kafka.ts;
 * `stop()` refuses other topics), so a record's timestamp is when the broker appended it. The
 * write is acknowledged after the append and the commit comes after the acknowledgement, so a
 * message finished by the time a commit was seen has a copy appended no later than that: the
 * earliest copy of its output record or dead letter must carry a timestamp ≤ the moment the
 * committed offset above it was first seen (the answer's arrival, `toleranceMs` later allowed).
 * The broker runs on this machine and stamps with the same wall clock, so the tolerance is 0 by
 * default; give a few ms for brokers whose clock may differ.
 *
 * Where a copy came from: an output record names its source by the headers `routeTo` adds
 * (source_topic, source_partition, source_offset; `outputOrigin` for other pipelines), a dead
 * letter by its original_topic / original_partition / original_offset headers.
 *
 * Limits, by design of the scenarios it serves:
 * - every source message must produce an output record or a dead letter: a pipeline that drops
 *   events (a filter) would have them reported as commits past unfinished work. No fault
 *   scenario filters.
 * - the source offsets are contiguous (no transactions, no compaction), so every offset below a
 *   commit is a message.
 * - with several output topics a message counts as finished at its earliest copy in any of
 *   them, a lower bound of when all its writes were acknowledged: the check never blames a
 *   correct service, but cannot see a commit between a message's first and last write.
 * - offsets committed before the first poll are not judged; a partition that appears later (a
 *   partition increase) is judged from its log start.
 */
import { expect } from 'chai';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { LOG_APPEND_TIME } from '../../integration/support/kafka.js';
import { header, sleep, type ReadMessage } from '../../integration/support/topic-reader.js';
import { checkCommitInvariants, type CommitObservation, type CommitViolations } from './commit-invariants.js';
import { readAll } from './dlq-outage-kit.js';

/** The source message a record was written for. */
export interface SourcePosition {
  topic: string | undefined;
  partition: number;
  offset: string;
}

/** Finds the source message of an output record; undefined when the record names none. */
export type OriginOf = (record: ReadMessage) => SourcePosition | undefined;

export interface CommitWatcherOptions {
  kafka: Kafka;
  groupId: string;
  sourceTopic: string;
  outputTopics: readonly string[];
  dlqTopic: string;
  /** Pause between two polls of the committed offsets (default 150 ms). */
  intervalMs?: number;
  /** How much later than an observation a copy may be stamped and still count (default 0). */
  toleranceMs?: number;
  /** Default: the source_* headers `routeTo` writes. */
  outputOrigin?: OriginOf;
}

export interface CommitVerdict extends CommitViolations {
  /** Successful polls of the committed offsets. */
  observations: number;
  /** Polls that failed (broker down, coordinator loading): no observation. */
  failedPolls: number;
  /** What they failed with, each message once. */
  pollErrors: string[];
  partitions: number;
  /** Source offsets with an output record or a dead letter. */
  finished: number;
  /** Output records and dead letters that name no message of the source topic. */
  unattributed: number;
  /**
   * One line for the fault report, e.g. '0 backward, 0 past unfinished over 812 polls', with
   * the failed polls and unattributed records when there are any.
   */
  summary: string;
}

export interface CommitWatcher {
  /** Stops polling, reads the output and DLQ topics and judges every observation. */
  stop(): Promise<CommitVerdict>;
  /** Stops polling without a verdict (for after hooks of a scenario that failed early). */
  close(): Promise<void>;
}

/** Output records as `routeTo` writes them. */
export const fromSourceHeaders: OriginOf = (record) =>
  position(record, 'source_topic', 'source_partition', 'source_offset');

const fromDeadLetterHeaders: OriginOf = (record) =>
  position(record, 'original_topic', 'original_partition', 'original_offset');

/** Starts polling the group's committed offsets of `sourceTopic` at once. */
export async function startCommitWatcher(options: CommitWatcherOptions): Promise<CommitWatcher> {
  const { kafka, groupId, sourceTopic, intervalMs = 150 } = options;
  const admin = kafka.admin();
  await admin.connect();
  const observations: CommitObservation[] = [];
  let failedPolls = 0;
  const pollErrors = new Set<string>();
  let running = true;
  const polling = (async () => {
    while (running) {
      try {
        const [entry] = await admin.fetchOffsets({ groupId, topics: [sourceTopic] });
        // The answer shows commits made before it arrived: the moment to judge them at.
        const at = Date.now();
        observations.push({
          at,
          committed: new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset])),
        });
      } catch (error) {
        failedPolls += 1;
        pollErrors.add(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      await sleep(intervalMs);
    }
  })();
  const close = async () => {
    running = false;
    await polling;
  };
  return {
    async stop() {
      await close();
      if (failedPolls > 0)
        console.log(`      commit watcher: ${failedPolls} polls failed (${[...pollErrors].join('; ')})`);
      try {
        return await judge(admin, options, observations, { failedPolls, pollErrors: [...pollErrors] });
      } finally {
        await admin.disconnect();
      }
    },
    async close() {
      await close();
      await admin.disconnect();
    },
  };
}

/** Fails the scenario on any backward move or commit past unfinished work, listing the first. */
/** A watcher over one service run's topics, as createServiceTopics names them. */
export function watchServiceRun(
  kafka: Kafka,
  groupId: string,
  names: { source: string; output: string; dlq: string },
): Promise<CommitWatcher> {
  return startCommitWatcher({
    kafka,
    groupId,
    sourceTopic: names.source,
    outputTopics: [names.output],
    dlqTopic: names.dlq,
  });
}

export function expectCommitInvariants(verdict: CommitVerdict): void {
  expect(verdict.observations, 'commit observations').to.be.greaterThan(0);
  expect(
    verdict.backwardMoves.slice(0, 10),
    `${verdict.backwardMoves.length} committed offsets moved backwards`,
  ).to.deep.equal([]);
  expect(
    verdict.pastUnfinished.slice(0, 10),
    `${verdict.pastUnfinished.length} commits past unfinished messages`,
  ).to.deep.equal([]);
}

async function judge(
  admin: Admin,
  options: CommitWatcherOptions,
  observations: CommitObservation[],
  { failedPolls, pollErrors }: { failedPolls: number; pollErrors: string[] },
): Promise<CommitVerdict> {
  const {
    kafka,
    sourceTopic,
    outputTopics,
    dlqTopic,
    toleranceMs = 0,
    outputOrigin = fromSourceHeaders,
  } = options;
  await expectAppendTime(admin, [...outputTopics, dlqTopic]);
  const earliest = new Map<string, number>();
  let unattributed = 0;
  const visit = (originOf: OriginOf) => (record: ReadMessage) => {
    const origin = originOf(record);
    if (!origin || (origin.topic !== undefined && origin.topic !== sourceTopic)) {
      unattributed += 1;
      return;
    }
    const key = `${origin.partition}:${origin.offset}`;
    const timestamp = Number(record.timestamp);
    if (timestamp < (earliest.get(key) ?? Infinity)) earliest.set(key, timestamp);
  };
  for (const topic of outputTopics) await readAll(kafka, topic, visit(outputOrigin));
  await readAll(kafka, dlqTopic, visit(fromDeadLetterHeaders));

  // Offsets committed before the first poll are not judged; partitions added later are
  // judged from their log start.
  const logStart = new Map(
    (await admin.fetchTopicOffsets(sourceTopic)).map((p) => [p.partition, p.low] as const),
  );
  const judgedFrom = new Map(logStart);
  for (const [partition, offset] of observations[0]?.committed ?? [])
    if (offset !== '-1') judgedFrom.set(partition, offset);

  const violations = checkCommitInvariants(
    observations,
    (partition, offset) => earliest.get(`${partition}:${offset}`),
    {
      judgedFrom,
      toleranceMs,
    },
  );
  const partitions = new Set(observations.flatMap((o) => [...o.committed.keys()])).size;
  return {
    ...violations,
    observations: observations.length,
    failedPolls,
    pollErrors,
    partitions,
    finished: earliest.size,
    unattributed,
    summary:
      `${violations.backwardMoves.length} backward, ${violations.pastUnfinished.length} past unfinished ` +
      `over ${observations.length} polls` +
      (failedPolls > 0 ? ` (${failedPolls} failed)` : '') +
      (unattributed > 0 ? `; ${unattributed} records naming no source message` : ''),
  };
}

/** Broker-stamped timestamps are what makes the finish times trustworthy: refuse anything else. */
async function expectAppendTime(admin: Admin, topics: string[]): Promise<void> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: [LOG_APPEND_TIME[0]!.name],
    })),
  });
  for (const resource of resources) {
    const type = resource.configEntries.find((e) => e.configName === LOG_APPEND_TIME[0]!.name)?.configValue;
    if (type !== LOG_APPEND_TIME[0]!.value)
      throw new Error(
        `${resource.resourceName} has message.timestamp.type ${type}: the commit watcher needs LogAppendTime ` +
          'to know when a record was written (create it with LOG_APPEND_TIME)',
      );
  }
}

function position(
  record: ReadMessage,
  topic: string,
  partition: string,
  offset: string,
): SourcePosition | undefined {
  const p = header(record, partition);
  const o = header(record, offset);
  if (p === undefined || o === undefined || !/^\d+$/.test(p) || !/^\d+$/.test(o)) return undefined;
  return { topic: header(record, topic), partition: Number(p), offset: o };
}
