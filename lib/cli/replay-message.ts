import type { IHeaders, Message } from 'kafkajs';
import {
  DEAD_LETTER_HEADERS,
  REPLAYED_AT,
  REPLAYED_FROM,
  type DlqRecord,
  type LetterInfo,
} from './letter.js';

const DROPPED: ReadonlySet<string> = new Set<string>([...DEAD_LETTER_HEADERS, REPLAYED_FROM, REPLAYED_AT]);

/** Where a dead letter is replayed to. */
export interface ReplayTarget {
  topic: string;
  /** The partition it was read from, when it goes back to its original topic. */
  originalPartition?: number;
}

/** `--to` when given, else the `original_topic` header; undefined when neither exists. */
export function targetOf(info: LetterInfo, to: string | undefined): ReplayTarget | undefined {
  if (to !== undefined) return { topic: to };
  if (info.originalTopic === undefined) return undefined;
  return info.originalPartition === undefined
    ? { topic: info.originalTopic }
    : { topic: info.originalTopic, originalPartition: info.originalPartition };
}

/**
 * Back to its original topic, a message goes to its original partition (so per-key and
 * per-partition order with the messages around it holds, whatever partitioner the original
 * producer used) while that partition exists; otherwise (and with --to) the default
 * partitioner picks one from the key.
 */
export function partitionFor(target: ReplayTarget, partitionCount: number): number | undefined {
  const partition = target.originalPartition;
  return partition !== undefined && partition < partitionCount ? partition : undefined;
}

/** `<dlq topic>/<partition>/<offset>`: topic names cannot contain "/". */
export function replayedFrom(dlqTopic: string, record: Pick<DlqRecord, 'partition' | 'offset'>): string {
  return `${dlqTopic}/${record.partition}/${record.offset}`;
}

/**
 * The message a replay publishes: the key and value bytes untouched, the original headers
 * kept (binary and repeated ones as they are), the dead-letter headers dropped, and
 * `replayed_from` and `replayed_at` added (replacing those of an earlier replay).
 *
 * Dropping the dead-letter headers keeps the replayed message what the producer wrote: were
 * they kept, a message failing again would carry stale ones (`schema_errors` of the first
 * failure on a later process failure), since `deadLetter()` only overwrites what it sets.
 * `replayed_from` points back at the dead letter, which still holds them.
 */
export function replayedMessage(
  record: DlqRecord,
  dlqTopic: string,
  now: Date,
  partition: number | undefined,
): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (!DROPPED.has(name) && value !== undefined) headers[name] = value;
  }
  headers[REPLAYED_FROM] = replayedFrom(dlqTopic, record);
  headers[REPLAYED_AT] = now.toISOString();
  const message: Message = { key: record.key, value: record.value, headers };
  if (partition !== undefined) message.partition = partition;
  return message;
}
