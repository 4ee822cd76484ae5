import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { MessageHeaders } from '../core/headers.js';

const NO_HEADERS: MessageHeaders = Object.freeze({}) as MessageHeaders;

/**
 * A NATS message's headers as a delivery carries them: Buffers, as Kafka's arrive, and an
 * array where a header repeats. `__proto__` is defined as an own property, so it stays a header.
 */
export function deliveryHeaders(headers: MsgHdrs | undefined): MessageHeaders {
  if (!headers) return NO_HEADERS;
  const out: MessageHeaders = {};
  for (const name of headers.keys()) {
    const values = headers.values(name).map((value) => Buffer.from(value));
    const value = values.length === 1 ? values[0] : values;
    if (name === '__proto__')
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  return out;
}

/**
 * Headers to publish with a message. NATS header values are one line of text: line breaks
 * (an error message may hold some) become spaces. Headers named `Nats-*` are the server's
 * instructions (message id for de-duplication, expected stream or sequence): copied from the
 * message read, they would make its output or dead letter be refused or dropped as a duplicate,
 * so they are not written.
 */
export function publishHeaders(headers: MessageHeaders | undefined): MsgHdrs | undefined {
  const names = Object.keys(headers ?? {}).filter((name) => !/^nats-/i.test(name));
  if (names.length === 0) return undefined;
  const out = natsHeaders();
  for (const name of names) {
    const raw: unknown = headers![name];
    for (const value of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
      if (value === undefined || value === null) continue;
      const text = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
      out.append(name, text.replace(/[\r\n]+/g, ' '));
    }
  }
  return out;
}
