import type { MessageHeaders } from '../core/headers.js';
import { DEAD_LETTER_HEADERS, REPLAYED_AT, REPLAYED_FROM } from './letter.js';

/**
 * The NATS dead letter's own header beside Kafka's (lib/nats/nats-dead-letters.ts): the stream
 * that held the original message.
 */
const ORIGINAL_STREAM = 'original_stream';

const DROPPED: ReadonlySet<string> = new Set<string>([
  ...DEAD_LETTER_HEADERS,
  ORIGINAL_STREAM,
  REPLAYED_FROM,
  REPLAYED_AT,
]);

/**
 * The headers a NATS replay publishes with a dead letter's value: the original message's own
 * headers, without the dead-letter headers (a message failing again gets fresh ones, as on
 * Kafka; see replayedMessage), and `replayed_from` and `replayed_at` added.
 */
export function natsReplayedHeaders(headers: MessageHeaders, from: string, now: Date): MessageHeaders {
  const out: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!DROPPED.has(name) && value !== undefined) out[name] = value;
  }
  out[REPLAYED_FROM] = from;
  out[REPLAYED_AT] = now.toISOString();
  return out;
}

/**
 * The JetStream message id of a replay of the letter at `from`: the target stream drops a
 * second publish with the same id inside its duplicate window, so a rerun after a hard stop
 * between the publish and the letter's ack does not store the message twice.
 */
export function replayMessageId(from: string): string {
  return `myeventstream-replay:${from}`;
}

/**
 * The durable consumer that holds a replay group's progress on the dead-letter stream:
 * durable names may not hold ".", "*", ">" or white space.
 */
export function replayDurableName(group: string): string {
  return group.replace(/[.*>\s]/g, '_');
}
