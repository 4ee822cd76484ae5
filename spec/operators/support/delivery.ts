import { NO_HOOKS, type Delivery } from '../../../lib/core/delivery.js';

/**
 * A delivery as the consumer would build it, with its own AbortController signal, for specs.
 * Pass `event` to get a typed delivery; without it the event is `undefined` (not yet decoded).
 */
export function makeDelivery<E>(overrides: Partial<Delivery<E>> & { event: E }): Delivery<E>;
export function makeDelivery(overrides?: Partial<Delivery>): Delivery;
export function makeDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    topic: 'events',
    partition: 0,
    offset: '42',
    key: Buffer.from('key-1'),
    value: Buffer.from('{"id":1}'),
    headers: {},
    timestamp: '1700000000000',
    generation: 1,
    signal: new AbortController().signal,
    hooks: NO_HOOKS,
    event: undefined,
    settleAfter: undefined,
    worker: undefined,
    ...overrides,
  };
}
