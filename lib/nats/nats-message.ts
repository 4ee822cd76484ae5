import type { Delivery, DeliveryHooks } from '../core/delivery.js';
import type { MessageHeaders } from '../core/headers.js';
import type { OutgoingMessage } from '../sinks/record-writer.js';

/**
 * What NATS does to messages, written against no NATS client so that the test driver models
 * the same: how a stored JetStream message becomes a delivery, and what of a written message a
 * JetStream publish keeps. The client-facing modules (nats-delivery.ts, nats-headers.ts,
 * nats-publisher.ts) are built on these.
 */

/** A message as a JetStream stream stored it, its headers already read as a delivery's. */
export interface StoredNatsMessage {
  stream: string;
  /** The stream sequence. */
  sequence: number;
  subject: string;
  data: Uint8Array;
  headers: MessageHeaders;
  /** When the stream stored it, epoch milliseconds as decimal text. */
  timestampMs: string;
}

/**
 * A JetStream message as the pipeline sees any message. The mapping keeps PROCESSING_ORDER's
 * meaning: `topic` is the stream and `partition` 0, so `partition` order is the stream's order;
 * `key` is the subject, so `key` order is per subject. `offset` is the stream sequence (a string,
 * as Kafka offsets are) and `timestamp` the time the stream stored the message.
 */
export function deliveryOfStored(
  message: StoredNatsMessage,
  signal: AbortSignal,
  hooks: DeliveryHooks,
): Delivery {
  const { data } = message;
  return {
    topic: message.stream,
    partition: 0,
    offset: String(message.sequence),
    key: Buffer.from(message.subject),
    value: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    headers: message.headers,
    timestamp: message.timestampMs,
    generation: 0,
    signal,
    hooks,
    event: undefined,
    // Present from the start, as in the Kafka source: one object shape for every delivery.
    settleAfter: undefined,
    worker: undefined,
  };
}

/**
 * The headers a JetStream publish writes, as (name, value) pairs in order. NATS header values
 * are one line of text: line breaks (an error message may hold some) become spaces. Headers
 * named `Nats-*` are the server's instructions (message id for de-duplication, expected stream
 * or sequence): copied from the message read, they would make its output or dead letter be
 * refused or dropped as a duplicate, so they are not written.
 */
export function publishedHeaderLines(headers: MessageHeaders | undefined): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  for (const [name, raw] of Object.entries(headers ?? {})) {
    if (/^nats-/i.test(name)) continue;
    for (const value of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
      if (value === undefined || value === null) continue;
      const text = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
      lines.push([name, text.replace(/[\r\n]+/g, ' ')]);
    }
  }
  return lines;
}

/**
 * Header lines as a reader of the message gets them: Buffers, and an array where a name
 * repeats. `__proto__` is defined as an own property, so it stays a header.
 */
export function headersOfLines(lines: Iterable<[string, string]>): MessageHeaders {
  const grouped = new Map<string, Buffer[]>();
  for (const [name, value] of lines) {
    const values = grouped.get(name) ?? [];
    values.push(Buffer.from(value));
    grouped.set(name, values);
  }
  const out: MessageHeaders = {};
  for (const [name, values] of grouped) {
    const value = values.length === 1 ? values[0] : values;
    if (name === '__proto__')
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  return out;
}

/**
 * What a JetStream publish of `message` stores: the value's bytes and the published header
 * lines. A NATS message has no key, so the key is not written.
 */
export function publishedMessage(message: OutgoingMessage): OutgoingMessage {
  return { key: null, value: message.value, headers: headersOfLines(publishedHeaderLines(message.headers)) };
}
