import type { JsMsg } from '@nats-io/jetstream';
import type { Delivery, DeliveryHooks } from '../core/delivery.js';
import { deliveryHeaders } from './nats-headers.js';
import { deliveryOfStored } from './nats-message.js';

/** A JetStream message as the pipeline sees any message (see deliveryOfStored). */
export function natsDelivery(message: JsMsg, signal: AbortSignal, hooks: DeliveryHooks): Delivery {
  const { info } = message;
  return deliveryOfStored(
    {
      stream: info.stream,
      sequence: info.streamSequence,
      subject: message.subject,
      data: message.data,
      headers: deliveryHeaders(message.headers),
      timestampMs: (message.timestampNanos / 1_000_000n).toString(),
    },
    signal,
    hooks,
  );
}
