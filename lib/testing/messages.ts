import type { MessageHeaders } from '../core/headers.js';
import type { OutgoingMessage } from '../sinks/batching-producer.js';

/** A header value as a test may give it: text, bytes, or several values under one name. */
export type TestHeaderValue = string | Uint8Array | Array<string | Uint8Array>;

/**
 * A message value as a test may give it. A string is its UTF-8 bytes and a Buffer (or any
 * Uint8Array) the bytes themselves; `null` is a message without value (a tombstone); anything
 * else (an object, array, number or boolean) is written as its JSON text.
 */
export type TestValue = string | Uint8Array | null | object | number | boolean;

/** One message for the test driver to deliver, as it would arrive from the consumed topic. */
export interface TestMessage {
  /**
   * The key: text (its UTF-8 bytes), bytes, or null (the default). With the driver's `nats`
   * broker, the subject the message was published on (default the stream's name).
   */
  key?: string | Uint8Array | null;
  /** The value; see TestValue for how it becomes bytes. */
  value: TestValue;
  /** Headers, delivered as Buffers as kafkajs delivers them. Default none. */
  headers?: Record<string, TestHeaderValue>;
  /** Partition of the consumed topic, from 0 to `partitions - 1` (always 0 on NATS); default 0. */
  partition?: number;
  /**
   * The broker timestamp (epoch ms, or a Date); default the virtual clock's current time
   * (`startTime + now`).
   */
  timestamp?: number | Date;
}

/**
 * A message a pipeline wrote, decoded for assertions: key, value and header values as UTF-8
 * text. The bytes as written are on `raw`.
 */
export interface WrittenMessage {
  /** The key as UTF-8 text, or null. */
  key: string | null;
  /** The value as UTF-8 text, or null. */
  value: string | null;
  /** Each header as UTF-8 text (an array for a header given several values). */
  headers: Record<string, string | string[]>;
  /**
   * The message exactly as it was handed to the producer, bytes untouched (useful for values
   * that are not UTF-8). Not enumerable, so deep equality of records ignores it.
   */
  readonly raw: OutgoingMessage;
}

/** A message written through `ctx.produce` (by `forwardTo` or the pipeline's own code). */
export interface ProducedMessage extends WrittenMessage {
  /** The topic it was written to. */
  topic: string;
}

/** A dead letter as the service writes it to the dead-letter topic. */
export type DeadLetterMessage = WrittenMessage;

export function toBytes(value: string | Uint8Array | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  // A copy: a test reusing its buffer after send() must not change the message.
  return Buffer.from(value);
}

export function valueBytes(value: TestValue): Buffer | null {
  if (value === undefined) throw new TypeError('send(): the message needs a value (null for none)');
  if (value === null || typeof value === 'string' || value instanceof Uint8Array) return toBytes(value);
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError(`send(): ${typeof value} values cannot be written as JSON`);
  return Buffer.from(json, 'utf8');
}

export function headerBytes(headers: Record<string, TestHeaderValue> = {}): MessageHeaders {
  const result: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    result[name] = Array.isArray(value) ? value.map((v) => toBytes(v) as Buffer) : (toBytes(value) as Buffer);
  }
  return result;
}

/** The decoded, assertion-friendly form of an outgoing message, with the original on `raw`. */
export function written(message: OutgoingMessage): WrittenMessage {
  const record = {
    key: text(message.key),
    value: text(message.value),
    headers: headerText(message.headers),
  };
  Object.defineProperty(record, 'raw', { value: message, enumerable: false });
  return record as WrittenMessage;
}

export function produced(topic: string, message: OutgoingMessage): ProducedMessage {
  const { key, value, headers, raw } = written(message);
  const record = { topic, key, value, headers };
  Object.defineProperty(record, 'raw', { value: raw, enumerable: false });
  return record as ProducedMessage;
}

function text(value: Buffer | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function headerText(headers: MessageHeaders = {}): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? value.map((v) => text(v) ?? '') : (text(value) ?? '');
  }
  return result;
}
