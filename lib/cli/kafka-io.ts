import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import { errorMessage } from '../core/errors.js';
import { kafkaLogCreator } from '../kafka/kafka-logger.js';
import { createLogger } from '../observability/logger.js';
import { withCoordinatorRetries } from './coordinator-retries.js';
import { CliFailure } from './errors.js';
import type { DlqRecord } from './letter.js';
import { EndTracker, type PartitionPlan } from './progress.js';

/**
 * The Kafka client of the CLI. Retries are short, so an unreachable broker is reported within
 * seconds instead of the service's patient minute; kafkajs's own lines stay off the terminal
 * unless --verbose (then they go to stderr, never to stdout, which may be carrying JSON).
 */
export function createKafka(brokers: string[], clientId: string, verbose: boolean): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    retry: { retries: 4, initialRetryTime: 250, maxRetryTime: 4000 },
    logLevel: verbose ? logLevel.WARN : logLevel.NOTHING,
    logCreator: kafkaLogCreator(
      createLogger({ level: 'warn', serviceName: clientId, stream: process.stderr }),
    ),
  });
}

export function unreachable(brokers: string[], error: unknown): CliFailure {
  return new CliFailure(`cannot reach Kafka at ${brokers.join(',')}: ${errorMessage(error)}`);
}

/** Runs `use` with a connected admin client; a failed connection is a CliFailure naming the brokers. */
export async function withAdmin<T>(
  kafka: Kafka,
  brokers: string[],
  use: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw unreachable(brokers, error);
  }
  try {
    return await use(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: bigint;
  /** End offset: the offset the next record will get. */
  high: bigint;
}

/** First and end offsets of every partition, in partition order; a missing topic is a CliFailure. */
export async function topicOffsets(
  admin: Admin,
  topic: string,
  brokers: string[],
  what: string,
): Promise<PartitionOffsets[]> {
  await requireTopic(admin, topic, brokers, what);
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) }))
    .sort((a, b) => a.partition - b.partition);
}

export async function requireTopic(
  admin: Admin,
  topic: string,
  brokers: string[],
  what: string,
): Promise<void> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic))
    throw new CliFailure(`${what} "${topic}" does not exist at ${brokers.join(',')}`);
}

/** Number of partitions of a topic; a missing topic is a CliFailure. */
export async function partitionCount(
  admin: Admin,
  topic: string,
  brokers: string[],
  what: string,
): Promise<number> {
  await requireTopic(admin, topic, brokers, what);
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]?.partitions.length ?? 0;
}

export interface Committed {
  /** Next offset to read; undefined when the group has committed nothing for the partition. */
  offset: bigint | undefined;
  metadata: string | null;
}

export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Map<number, Committed>> {
  // kafkajs's admin.fetchOffsets has no retries of its own, unlike its consumer.
  const [entry] = await withCoordinatorRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  const committed = new Map<number, Committed>();
  for (const p of entry?.partitions ?? []) {
    const offset = BigInt(p.offset);
    committed.set(p.partition, { offset: offset < 0n ? undefined : offset, metadata: p.metadata });
  }
  return committed;
}

/** What a record handler asks for next. */
export type Verdict =
  /** Handled; go on. */
  | 'continue'
  /** Handled; stop the read (e.g. --limit reached). */
  | 'done'
  /** Not handled; stop the read (a failure, or a stop request before the record). */
  | 'halt';

/** What a handler may do besides returning a verdict. */
export interface ReadContext {
  /** Keeps the group membership alive during a long wait. */
  heartbeat(): Promise<void>;
  /** Commits `next` (the offset to resume at) for a partition, with metadata; named groups only. */
  commit(partition: number, next: bigint, metadata: string): Promise<void>;
}

export interface BoundedReadOptions {
  kafka: Kafka;
  brokers: string[];
  topic: string;
  /** The group to read with; omit for a throw-away one (reads only, commits nothing). */
  groupId?: string;
  plans: PartitionPlan[];
  sessionTimeoutMs: number;
  /** Aborted: stop before the next record (the one in hand is finished first). */
  signal: AbortSignal;
  /** Records in offset order per partition, one at a time across partitions. */
  handle(record: DlqRecord, context: ReadContext): Promise<Verdict>;
  /** After each batch of a partition (also when the read stops in it). */
  afterBatch?(partition: number, context: ReadContext): Promise<void>;
}

export type ReadOutcome = 'end' | 'done' | 'halted' | 'stopped';

/**
 * Reads `plans` (each partition from `from` to the end offset taken before) and hands each
 * record to `handle`, one at a time. Nothing is committed here: offsets are the handler's
 * business. Partitions are read by joining a consumer group (kafkajs has no manual
 * assignment): with a throw-away group the read starts at the earliest offsets and skips to
 * `from`; with a named group, at its committed offsets.
 */
export async function boundedRead(options: BoundedReadOptions): Promise<ReadOutcome> {
  const { kafka, topic, signal } = options;
  const tracker = new EndTracker(options.plans);
  if (tracker.allDone()) return 'end';
  const throwaway = options.groupId === undefined;
  const groupId = options.groupId ?? `myeventstream-dlq-read-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 500,
    // A crash ends the run (exit 1; a rerun resumes) instead of restarting behind our back.
    retry: { retries: 4, initialRetryTime: 250, maxRetryTime: 4000, restartOnFailure: async () => false },
  });

  let settle!: (outcome: ReadOutcome | Error) => void;
  const settled = new Promise<ReadOutcome | Error>((resolve) => (settle = resolve));
  const finish = (outcome: ReadOutcome | Error) => settle(outcome);
  const onAbort = () => finish('stopped');
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) finish('stopped');
  let stopping = false;
  /**
   * The batch being read. Settling the read does not wait for it, so the consumer is stopped
   * only once it has ended: kafkajs drops a commitOffsets made after stop() has begun (and
   * throws after it), which would leave the letter in hand written but not committed.
   */
  let inHand: Promise<void> = Promise.resolve();
  /** Set once kafkajs would no longer send a commit: the consumer crashed or is leaving. */
  let commitsClosed = false;

  const pauseDone = (partition: number) => {
    consumer.pause([{ topic, partitions: [partition] }]);
    if (tracker.allDone()) finish('end');
  };

  const commit = async (partition: number, next: bigint, metadata: string) => {
    if (throwaway) throw new Error('a throw-away read commits nothing');
    // kafkajs would resolve without sending it: say so rather than count it as committed.
    if (commitsClosed) throw new Error('the consumer has stopped; the commit was not sent');
    await consumer.commitOffsets([{ topic, partition, offset: next.toString(), metadata }]);
  };

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    commitsClosed = true;
    finish(payload.error);
  });
  // Partitions handed to another member would never be read to their end here: stop instead.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const assigned = new Set(payload.memberAssignment[topic] ?? []);
    const missing = options.plans.filter(
      (plan) => !tracker.isDone(plan.partition) && !assigned.has(plan.partition),
    );
    if (missing.length > 0) {
      finish(
        new CliFailure(
          `another member joined consumer group "${groupId}" and took partition(s) ${missing.map((plan) => plan.partition).join(', ')}; run one replay per group at a time (a rerun resumes)`,
        ),
      );
    }
  });
  // A batch of control records only (transaction markers) never reaches eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0 && tracker.readUpTo(payload.partition, BigInt(payload.lastOffset))) {
      pauseDone(payload.partition);
    }
  });

  try {
    try {
      await consumer.connect();
    } catch (error) {
      throw unreachable(options.brokers, error);
    }
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => (inHand = readBatch(payload)),
    });
    const done = options.plans.filter((plan) => tracker.isDone(plan.partition)).map((plan) => plan.partition);
    if (done.length > 0) consumer.pause([{ topic, partitions: done }]);
    const outcome = await settled;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stopping = true;
    // The record in hand is finished (its write and commit) before the consumer stops.
    await inHand;
    commitsClosed = true;
    await consumer.disconnect().catch(() => undefined);
    if (throwaway) {
      const admin = kafka.admin();
      await admin
        .connect()
        .then(() => admin.deleteGroups([groupId]))
        .catch(() => undefined)
        .finally(() => admin.disconnect().catch(() => undefined));
    }
  }

  /** Hands the wanted records of one batch to `handle`; never rejects (a failure ends the read). */
  async function readBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const partition = batch.partition;
    const context: ReadContext = { heartbeat, commit };
    if (tracker.isDone(partition) || stopping) return;
    let whole = true;
    try {
      for (const message of batch.messages) {
        if (stopping || signal.aborted || !isRunning() || isStale()) {
          whole = false;
          break;
        }
        const offset = BigInt(message.offset);
        const position = tracker.wanted(partition, offset);
        if (position === 'past-end') {
          tracker.readUpTo(partition, offset);
          break;
        }
        if (position === 'wanted') {
          const verdict = await options.handle(recordOf(partition, message), context);
          if (verdict === 'halt') {
            whole = false;
            stopping = true;
            finish('halted');
            break;
          }
          resolveOffset(message.offset);
          if (verdict === 'done') {
            whole = false;
            stopping = true;
            finish('done');
            break;
          }
        } else {
          resolveOffset(message.offset);
        }
        if (tracker.readUpTo(partition, offset)) break;
      }
      // Trailing control records of the batch are read too.
      if (whole) tracker.readUpTo(partition, BigInt(batch.lastOffset()));
      await options.afterBatch?.(partition, context);
      if (tracker.isDone(partition)) pauseDone(partition);
      await heartbeat();
    } catch (error) {
      stopping = true;
      finish(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

function recordOf(partition: number, message: KafkaMessage): DlqRecord {
  return {
    partition,
    offset: message.offset,
    key: message.key ?? null,
    value: message.value ?? null,
    headers: message.headers ?? {},
  };
}

/**
 * Waits until a consumer group has no members. A replay killed without leaving its group
 * stays a member until its session times out; a replay still running stays one for good.
 */
export async function waitUntilGroupIdle(
  admin: Admin,
  groupId: string,
  timeoutMs: number,
  onWait: (members: number) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members.length ?? 0;
    if (members === 0) return;
    if (Date.now() >= deadline) {
      throw new CliFailure(
        `consumer group "${groupId}" still has ${members} active member(s): another replay is running with it; wait for it to end, or use another --group`,
      );
    }
    if (!told) onWait(members);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Waits `ms`, heartbeating every second; false when `signal` aborted the wait. */
export async function pause(
  ms: number,
  heartbeat: () => Promise<void>,
  signal: AbortSignal,
): Promise<boolean> {
  const until = Date.now() + ms;
  while (!signal.aborted) {
    const left = until - Date.now();
    if (left <= 0) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, 1000));
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    await heartbeat();
  }
  return false;
}
