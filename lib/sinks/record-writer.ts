import type { MessageHeaders } from '../core/headers.js';

/** A message to write: key and value bytes (or text), headers. */
export interface OutgoingMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: MessageHeaders;
}

/** A message and the topic it goes to. */
export interface OutgoingRecord {
  topic: string;
  message: OutgoingMessage;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** What the broker answered to one request. */
export interface WriteAnswer {
  /**
   * For each record of the request, in the same order, the partition the client put it on
   * (undefined when the client does not tell): with `acknowledged`, a record whose partition
   * is missing from the answer can be failed instead of counted as written.
   */
  partitions: ReadonlyArray<number | undefined>;
  /** The topic-partitions whose writes the broker acknowledged. */
  acknowledged: readonly TopicPartition[];
}

/**
 * For each record of a request, in order, the partition it went to when the broker's answer
 * lacks that partition (its leader moved: the record was not written), else undefined (written,
 * or the client did not tell where it went).
 */
export function unacknowledgedPartitions(
  records: ReadonlyArray<Pick<OutgoingRecord, 'topic'>>,
  { partitions, acknowledged }: WriteAnswer,
): Array<number | undefined> {
  const written = new Set(acknowledged.map(({ topic, partition }) => `${topic}\u0000${partition}`));
  return records.map(({ topic }, i) => {
    const partition = partitions[i];
    return partition === undefined || written.has(`${topic}\u0000${partition}`) ? undefined : partition;
  });
}

/**
 * A Kafka producer as the service's sinks use it, whichever client library is underneath.
 *
 * Every request asks for acks from all in-sync replicas (acks=-1) and is not idempotent. A
 * record with a key goes to partition `murmur2(key) & 0x7fffffff` mod the partition count, as
 * Kafka's Java client and kafkajs's default partitioner place it, so the client can be
 * switched without moving keys between partitions. Records without a key are spread over the
 * partitions that have a leader.
 */
export interface RecordWriter {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * Writes the records in one request. Rejects with a KafkaWriteError when the request failed
   * (after the client's own retries); none of its records then counts as written.
   */
  write(records: readonly OutgoingRecord[]): Promise<WriteAnswer>;
}

/**
 * A failed write, whichever client reported it. `retriable` says whether the same write may
 * succeed later: true for what the broker or the network may answer differently (a leader
 * that moved, a timeout, a lost connection, a topic the broker does not know yet), false for
 * a refusal that repeats (a message too large, a denied authorization, bad input).
 */
export class KafkaWriteError extends Error {
  override readonly name: string = 'KafkaWriteError';
  constructor(
    message: string,
    readonly retriable: boolean,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}
