import { filter, type OperatorFunction } from 'rxjs';
import type { Delivery } from '../core/delivery.js';

/**
 * Keeps the messages whose event passes `predicate`. A message filtered out is done: it
 * settles as processed and its offset is committed, nothing is written for it.
 */
export function filterEvents<E>(
  predicate: (event: E, delivery: Delivery<E>) => boolean,
): OperatorFunction<Delivery<E>, Delivery<E>> {
  return filter((delivery) => predicate(delivery.event, delivery));
}
