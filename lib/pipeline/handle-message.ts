import { Observable, of, type OperatorFunction, type Subscription } from 'rxjs';
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
 * message settles only once that write succeeded; a write that ends without success (aborted)
 * leaves it abandoned.
 *
 * Written as one Observable rather than a chain of operators because it runs for every
 * message: each operator would add a subscriber per message.
 */
export function handleMessage(
  chain: OperatorFunction<Delivery, unknown>,
  writeDeadLetter: DeadLetterWriter,
): (delivery: Delivery) => Observable<Settlement> {
  return (delivery) =>
    new Observable<Settlement>((subscriber) => {
      let deadLetter: Subscription | undefined;
      const settle = (settlement: Settlement) => {
        subscriber.next(settlement);
        subscriber.complete();
      };
      const onError = (error: unknown) => {
        if (delivery.signal.aborted) return settle({ delivery, outcome: 'abandoned', error });
        let written = false;
        deadLetter = writeDeadLetter(delivery, error).subscribe({
          next: () => {
            if (!written) settle({ delivery, outcome: 'dead-lettered', error });
            written = true;
          },
          error: (writeError: unknown) => subscriber.error(writeError),
          complete: () => {
            if (!written) settle({ delivery, outcome: 'abandoned', error });
          },
        });
      };
      const run = chain(of(delivery)).subscribe({
        error: onError,
        complete: () => settle({ delivery, outcome: 'processed' }),
      });
      return () => {
        run.unsubscribe();
        deadLetter?.unsubscribe();
      };
    });
}
