import type { IHeaders } from 'kafkajs';

/**
 * The headers `deadLetter()` (lib/sinks/dead-letter.ts) adds to a failed message. Everything
 * else on a dead letter is the original message's own header. A unit spec checks this list
 * against what `deadLetter()` writes, so the two cannot drift apart.
 */
export const DEAD_LETTER_HEADERS = [
  'original_topic',
  'original_partition',
  'original_offset',
  'retry_attempts',
  'max_retries',
  'error_message',
  'timestamp',
  'error_stage',
  'error_code',
  'original_timestamp',
  'consumer_group',
  'schema_errors',
] as const;

/** Headers a replay adds: where in the DLQ the message came from, and when it was replayed. */
export const REPLAYED_FROM = 'replayed_from';
export const REPLAYED_AT = 'replayed_at';

/** One record of the dead-letter topic, as read (kafkajs's message plus its partition). */
export interface DlqRecord {
  partition: number;
  /** Offset in the dead-letter topic (a string: offsets exceed 2^53). */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/** What the dead-letter headers say, each undefined when absent or malformed. */
export interface LetterInfo {
  code?: string;
  stage?: string;
  originalTopic?: string;
  originalPartition?: number;
  /** Decimal string. */
  originalOffset?: string;
  errorMessage?: string;
  /** When it was dead-lettered (the `timestamp` header). */
  deadLetteredAt?: Date;
  /**
   * The `replayed_from` header: the message was sent back by an earlier replay of that dead
   * letter and failed again.
   */
  replayedFrom?: string;
}

/** A header as text (UTF-8); the first value when the header is repeated. */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  let value = headers?.[name];
  if (Array.isArray(value)) value = value[0];
  if (value === undefined) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

const DECIMAL = /^\d{1,19}$/;
/** The service writes `Date.toISOString()`; anything else is not trusted as a time. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** Reads the dead-letter headers; a missing or unreadable one is left undefined, never thrown. */
export function letterInfo(headers: IHeaders | undefined): LetterInfo {
  const info: LetterInfo = {};
  const code = headerText(headers, 'error_code');
  if (code) info.code = code;
  const stage = headerText(headers, 'error_stage');
  if (stage) info.stage = stage;
  const topic = headerText(headers, 'original_topic');
  if (topic) info.originalTopic = topic;
  const partition = headerText(headers, 'original_partition');
  if (partition !== undefined && /^\d{1,9}$/.test(partition)) info.originalPartition = Number(partition);
  const offset = headerText(headers, 'original_offset');
  if (offset !== undefined && DECIMAL.test(offset)) info.originalOffset = offset;
  const message = headerText(headers, 'error_message');
  if (message !== undefined) info.errorMessage = message;
  const timestamp = headerText(headers, 'timestamp');
  if (timestamp !== undefined && ISO_DATE_TIME.test(timestamp)) {
    const date = new Date(timestamp);
    if (!Number.isNaN(date.getTime())) info.deadLetteredAt = date;
  }
  const replayedFrom = headerText(headers, REPLAYED_FROM);
  if (replayedFrom) info.replayedFrom = replayedFrom;
  return info;
}
