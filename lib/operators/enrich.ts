import type { OperatorFunction } from 'rxjs';
import type { Delivery } from '../core/delivery.js';
import { process, type ProcessOptions } from './process.js';

/**
 * Adds what an asynchronous call returns to each event: `merge(event, await lookup(event))`.
 * The call is retried with backoff like any process step; throw a PermanentError from `lookup`
 * for an answer that retrying cannot change (a 404), and the message goes to the DLQ at once.
 */
export function enrich<E, A, R>(
  lookup: (event: E, delivery: Delivery<E>) => Promise<A>,
  merge: (event: E, found: A) => R,
  options?: ProcessOptions,
): OperatorFunction<Delivery<E>, Delivery<R>> {
  return process<E, R>(
    async (event, delivery) => merge(event, await lookup(event, delivery)),
    options,
  ) as OperatorFunction<Delivery<E>, Delivery<R>>;
}
