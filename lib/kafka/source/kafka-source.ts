import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import { Observable, type Subscriber } from 'rxjs';
import type { PartitionClaim, TopicPartitionOffset } from '../commit/offset-tracker.js';
import { compareOffsets } from '../commit/offsets.js';
import type { Delivery, DeliveryHooks } from '../../core/delivery.js';
import { continuationOf } from './batch-continuity.js';
import type { CreditGate } from '../../core/credit-gate.js';

/** What the source needs of the partitions this member owns (the offset tracker). */
export interface PartitionOwnership {
  claim(topic: string, partition: number): PartitionClaim | undefined;
  isCurrent(claim: PartitionClaim): boolean;
  whenConfirmed(claim: PartitionClaim, timeoutMs: number): Promise<void>;
  handOff(claim: PartitionClaim, offset: string): void;
  /** Registers an offset finished before the last commit as settled; false when it must run. */
  skipFinished(claim: PartitionClaim, offset: string): boolean;
  advance(claim: PartitionClaim, lastOffset: string): void;
  /** kafkajs resolved a batch it never handed over (every record filtered out) by itself. */
  skippedByClient(topic: string, partition: number, firstOffset: string | null, lastOffset: string): void;
}

export interface KafkaSourceOptions {
  consumer: Consumer;
  gate: CreditGate;
  ownership: PartitionOwnership;
  hooks: DeliveryHooks;
  /** Called for each batch fetched, with the partition's high watermark (for the lag metric). */
  onBatch?(topic: string, partition: number, highWatermark: string): void;
  /** Called for each message right after it is registered with the tracker, before the pipeline. */
  onHandOff(delivery: Delivery): void;
  /**
   * The partition's log start offset. A batch fetched from past the partition's position is
   * taken only when everything before it was deleted (kafkajs reset an out-of-range position).
   */
  logStartOffset?(topic: string, partition: number): Promise<string | undefined>;
  /** Told of each message not run again because the last commit recorded it finished. */
  onFinishedSkipped?(): void;
  /** Told of each batch dropped because it did not continue the partition's position. */
  onStaleBatch?(topic: string, partition: number, fetchedOffset: string, position: string): void;
  /** How often a waiting intake heartbeats; well below the session timeout. */
  heartbeatEveryMs?: number;
}

/** Lets the service stop taking messages while what was taken settles, and commit. */
export interface SourceControl {
  stopIntake(): void;
  /**
   * Commits offsets in one request under the consumer's current generation, without kafkajs's
   * retries: a retry after a rejoin would go out under the new generation carrying partitions
   * that another member owns by then. A failed commit rejects; the committer tries again later
   * with what is due then. Rejects when no batch was received yet (nothing can be due).
   */
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
}

type CommitFunction = EachBatchPayload['commitOffsetsIfNecessary'];

/**
 * The consumer's messages as an Observable of deliveries. Intake is credit-gated: a message
 * enters only with a credit from `gate`; with none left the batch handler waits (heartbeating,
 * and leaving early when the batch went stale or the consumer stops) instead of buffering.
 * A batch is taken only for a partition this member owns and only where it continues the
 * partition's position (see continuationOf); a message's offset is resolved when it is handed
 * off, never committed here: the committer does that once it settles. Messages not handed off
 * are fetched again by kafkajs.
 */
export function kafkaSource(options: KafkaSourceOptions): Observable<Delivery> & SourceControl {
  let intakeOpen = true;
  let commit: CommitFunction | undefined;
  const source = new Observable<Delivery>((subscriber) => {
    const { consumer } = options;
    const removeCrashListener = consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs restarts the consumer itself after retriable errors; anything else would leave
      // a process that is alive but no longer consuming, so the service must fail loudly.
      if (!event.payload.restart) subscriber.error(event.payload.error);
    });
    // A batch whose records were all filtered out (control records, aborted transactions) never
    // reaches the handler: kafkajs resolves it itself, and the position must follow.
    const removeBatchListener = consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0)
        options.ownership.skippedByClient(
          payload.topic,
          payload.partition,
          payload.firstOffset as string | null,
          payload.lastOffset,
        );
    });
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => {
          commit = payload.commitOffsetsIfNecessary;
          return handleBatch(payload, options, subscriber, () => intakeOpen);
        },
      })
      .catch((error: unknown) => subscriber.error(error));
    return () => {
      intakeOpen = false;
      removeCrashListener();
      removeBatchListener();
    };
  });
  return Object.assign(source, {
    stopIntake: () => (intakeOpen = false),
    commitOffsets: async (offsets: TopicPartitionOffset[]) => {
      if (!commit) throw new Error('no batch received yet: nothing to commit');
      await commit({ topics: byTopic(offsets) });
    },
  });
}

async function handleBatch(
  { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  options: KafkaSourceOptions,
  subscriber: Subscriber<Delivery>,
  isOpen: () => boolean,
): Promise<void> {
  const { gate, ownership, heartbeatEveryMs = 1000 } = options;
  const { topic, partition, messages } = batch;
  const claim = ownership.claim(topic, partition);
  if (!claim) return;
  const mayWait = () => isOpen() && isRunning() && !isStale() && !subscriber.closed;
  // After a join the partition's committed offset is read first: nothing is handed off before.
  while (claim.position === undefined || !ownership.isCurrent(claim)) {
    if (claim.signal.aborted) return;
    await ownership.whenConfirmed(claim, heartbeatEveryMs);
    await heartbeat();
    if (!mayWait()) return;
  }
  const mayContinue = () => mayWait() && ownership.isCurrent(claim);
  if (!mayContinue()) return;
  options.onBatch?.(topic, partition, batch.highWatermark);

  const position = claim.position;
  const fetchedOffset = (batch as unknown as { fetchedOffset: string }).fetchedOffset;
  let first = continuationOf(position, fetchedOffset, messages);
  if (first === 'gap') {
    const logStart = await options.logStartOffset?.(topic, partition);
    if (logStart === undefined || compareOffsets(fetchedOffset, logStart) > 0 || !mayContinue()) {
      options.onStaleBatch?.(topic, partition, fetchedOffset, position);
      return;
    }
    first = 0;
  }

  // The checks below can only change while the handler awaits, so they run once per batch
  // and after each wait, not per message; likewise the fetch position is resolved once per
  // run of hand-offs (resolving an offset covers every offset before it).
  let lastHandedOff: string | undefined;
  const resolveHandedOff = () => {
    if (lastHandedOff === undefined) return;
    resolveOffset(lastHandedOff);
    // kafkajs resolves the batch's last offset when its last message is resolved (control
    // records after it are skipped that way): the position follows the same rule.
    const last = messages[messages.length - 1]!.offset;
    ownership.advance(claim, lastHandedOff === last ? batch.lastOffset() : lastHandedOff);
  };
  if (first === messages.length) {
    // Everything here was handed off already (kafkajs refetched a kept partition from its
    // committed offset after a rejoin): move its fetch position up to ours.
    lastHandedOff = (BigInt(position) - 1n).toString();
    resolveHandedOff();
    return;
  }
  for (let i = first; i < messages.length; i++) {
    const message = messages[i]!;
    if (ownership.skipFinished(claim, message.offset)) {
      options.onFinishedSkipped?.();
      lastHandedOff = message.offset;
      continue;
    }
    if (!gate.tryAcquire()) {
      resolveHandedOff();
      // Resume once a quarter of the credits (or what the batch still needs) is free.
      const wanted = Math.min(messages.length - i, Math.ceil(gate.capacity / 4));
      do {
        await gate.waitForRelease(heartbeatEveryMs, wanted);
        await heartbeat();
        if (!mayContinue()) return;
      } while (!gate.tryAcquire());
    }
    if (subscriber.closed) return;
    const delivery = toDelivery(topic, partition, message, claim, options.hooks);
    ownership.handOff(claim, message.offset);
    options.onHandOff(delivery);
    subscriber.next(delivery);
    lastHandedOff = message.offset;
  }
  resolveHandedOff();
  await heartbeat();
}

function byTopic(offsets: TopicPartitionOffset[]) {
  const topics = new Map<string, Array<{ partition: number; offset: string; metadata?: string }>>();
  for (const { topic, partition, offset, metadata } of offsets) {
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = []));
    partitions.push(metadata === undefined ? { partition, offset } : { partition, offset, metadata });
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

function toDelivery(
  topic: string,
  partition: number,
  message: KafkaMessage,
  claim: PartitionClaim,
  hooks: DeliveryHooks,
): Delivery {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: wireHeaders(message.headers),
    timestamp: message.timestamp,
    generation: claim.epoch,
    signal: claim.signal,
    hooks,
    event: undefined,
    // Present from the start, so every delivery has one shape in V8 whether or not the service
    // sets them: a second shape made every stage's property access slower (measured: 2×).
    settleAfter: undefined,
    worker: undefined,
  };
}

const NO_VALUE = Buffer.alloc(0);

/**
 * A message's headers as the broker holds them, in a form kafkajs can write again (to the
 * output or the DLQ). kafkajs 2.2.4 builds them with `obj[name] === undefined` checks, so a
 * header named after an Object.prototype member (`constructor`, `toString`, `__proto__`, ...)
 * comes out as an array that starts with the inherited member; and it reads a null header value
 * (Java clients write them) as null but cannot write one. Either made every write of the
 * message throw, forever: its dead letter never settled and its partition stalled. Only Buffers
 * come from the wire, so anything else is dropped, and a null value becomes an empty one (the
 * header itself is kept). `__proto__` is defined as an own property, so it stays a header; other
 * names are assigned, which keeps the object in V8's fast mode (headers are copied per message).
 */
function wireHeaders(headers: IHeaders | undefined): IHeaders {
  const clean: IHeaders = {};
  for (const name of Object.keys(headers ?? {})) {
    const raw: unknown = headers![name];
    const values = (Array.isArray(raw) ? (raw as unknown[]) : [raw])
      .filter((value) => value === null || Buffer.isBuffer(value) || typeof value === 'string')
      .map((value) => (value === null ? NO_VALUE : (value as Buffer | string)));
    if (values.length === 0) continue;
    const value = values.length === 1 ? values[0] : values;
    if (name === '__proto__') {
      Object.defineProperty(clean, name, { value, enumerable: true, writable: true, configurable: true });
    } else {
      clean[name] = value;
    }
  }
  return clean;
}
