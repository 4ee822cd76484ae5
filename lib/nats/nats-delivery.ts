import type { JsMsg } from '@nats-io/jetstream';
import type { Delivery, DeliveryHooks } from '../core/delivery.js';
import { deliveryHeaders } from './nats-headers.js';

/**
 * A JetStream message as the pipeline sees any message. The mapping keeps PROCESSING_ORDER's
 * meaning: `topic` is the stream and `partition` 0, so `partition` order is the stream's order;
 * `key` is the subject, so `key` order is per subject. `offset` is the stream sequence (a string,
 * as Kafka offsets are) and `timestamp` the time the stream stored the message.
 */
export function natsDelivery(message: JsMsg, signal: AbortSignal, hooks: DeliveryHooks): Delivery {
  const { info } = message;
  return {
    topic: info.stream,
    partition: 0,
    offset: String(info.streamSequence),
    key: Buffer.from(message.subject),
    value: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength),
    headers: deliveryHeaders(message.headers),
    timestamp: (message.timestampNanos / 1_000_000n).toString(),
    generation: 0,
    signal,
    hooks,
    event: undefined,
    // Present from the start, as in the Kafka source: one object shape for every delivery.
    settleAfter: undefined,
    worker: undefined,
  };
}
