import {
  catchError,
  defaultIfEmpty,
  endWith,
  ignoreElements,
  map,
  type Observable,
  of,
  type OperatorFunction,
} from 'rxjs';
import type { Delivery } from './delivery.js';

/**
 * How a message left the pipeline. `processed` and `dead-lettered` settle it: its offset may
 * be committed. `abandoned` (its partition was revoked, or shutdown gave up on it) only frees
 * its credit; it stays uncommitted and is delivered again.
 */
export type Outcome = 'processed' | 'dead-lettered' | 'abandoned';

export interface Settlement {
  delivery: Delivery;
  outcome: Outcome;
  error?: unknown;
}

export type DeadLetterWriter = (delivery: Delivery, error: unknown) => Observable<unknown>;

/**
 * Runs one message through a pipeline chain. Whatever the chain emits is a side effect already
 * done (a produce, a call); the message is processed when the chain completes, whether it
 * emitted or filtered the message out. An error goes to the dead-letter writer, and the
 * message settles only once that write succeeded.
 */
export function handleMessage(
  chain: OperatorFunction<Delivery, unknown>,
  writeDeadLetter: DeadLetterWriter,
): (delivery: Delivery) => Observable<Settlement> {
  return (delivery) =>
    of(delivery).pipe(
      chain,
      ignoreElements(),
      endWith({ delivery, outcome: 'processed' } as Settlement),
      catchError((error: unknown) => {
        if (delivery.signal.aborted) return of<Settlement>({ delivery, outcome: 'abandoned', error });
        return writeDeadLetter(delivery, error).pipe(
          map((): Settlement => ({ delivery, outcome: 'dead-lettered', error })),
          defaultIfEmpty({ delivery, outcome: 'abandoned', error } as Settlement),
        );
      }),
    );
}
