/**
 * Example pipeline: every event goes to the topic of its type, key, value and headers untouched
 * (plus an `event_type` header). `user.*` events go to `users`, `order.*` to `orders`,
 * `payment.*` to `payments`; an event of a type without a route cannot be helped by retrying
 * and goes to the DLQ at once. A failed write is retried with the service's backoff.
 */
import { pipe } from 'rxjs';
import { decodeJson, definePipeline, PermanentError, process, validate } from '../../lib/index.js';

/** The part of an event the router reads; the rest passes through as it came. */
export interface Envelope {
  type: string;
}

/** Type prefix → topic, first match wins. */
export const ROUTES: ReadonlyArray<readonly [prefix: string, topic: string]> = [
  ['user.', 'users'],
  ['order.', 'orders'],
  ['payment.', 'payments'],
];

const envelopeSchema = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string', minLength: 1 } },
};

/** The topic of an event; a PermanentError for a type no route covers. */
export function topicFor(event: Envelope): string {
  const route = ROUTES.find(([prefix]) => event.type.startsWith(prefix));
  if (!route) throw new PermanentError(`no route for event type "${event.type}"`);
  return route[1];
}

export default definePipeline((ctx) =>
  pipe(
    decodeJson(),
    validate<Envelope>(envelopeSchema),
    process(
      async (event, delivery) => {
        await ctx.produce(topicFor(event), {
          key: delivery.key,
          value: delivery.value,
          headers: { ...delivery.headers, event_type: event.type },
        });
      },
      { retry: ctx.retry },
    ),
  ),
);
