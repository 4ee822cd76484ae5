import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { MessageHeaders } from '../core/headers.js';
import { headersOfLines, publishedHeaderLines } from './nats-message.js';

const NO_HEADERS: MessageHeaders = Object.freeze({}) as MessageHeaders;

/**
 * A NATS message's headers as a delivery carries them: Buffers, as Kafka's arrive, and an
 * array where a header repeats (see headersOfLines).
 */
export function deliveryHeaders(headers: MsgHdrs | undefined): MessageHeaders {
  if (!headers) return NO_HEADERS;
  const lines: Array<[string, string]> = [];
  for (const name of new Set(headers.keys())) {
    for (const value of headers.values(name)) lines.push([name, value]);
  }
  return headersOfLines(lines);
}

/** Headers to publish with a message: one line each, no `Nats-*` (see publishedHeaderLines). */
export function publishHeaders(headers: MessageHeaders | undefined): MsgHdrs | undefined {
  const lines = publishedHeaderLines(headers);
  if (lines.length === 0) return undefined;
  const out = natsHeaders();
  for (const [name, value] of lines) out.append(name, value);
  return out;
}
