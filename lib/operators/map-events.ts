import { map, type OperatorFunction } from 'rxjs';
import { errorMessage, StageError } from '../core/errors.js';
import { withEvent, type Delivery } from '../core/delivery.js';

/**
 * Replaces each event with `project(event)`. The projection is synchronous and pure, so a throw
 * is a property of the event, not a passing fault: the message goes to the DLQ at once
 * (PROCESS_REJECTED), without retries. Use `process` or `enrich` for asynchronous work.
 */
export function mapEvents<E, R>(
  project: (event: E, delivery: Delivery<E>) => R,
): OperatorFunction<Delivery<E>, Delivery<R>> {
  return map((delivery) => {
    try {
      return withEvent(delivery, project(delivery.event, delivery));
    } catch (error) {
      throw new StageError(`mapping the event failed: ${errorMessage(error)}`, {
        stage: 'process',
        code: 'PROCESS_REJECTED',
        retriable: false,
        cause: error,
      });
    }
  });
}
