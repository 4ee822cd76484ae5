import { catchError, count, map, Observable, of, type OperatorFunction, type Subscription } from 'rxjs';
import { onAbort } from './abort-callbacks.js';
import type { Delivery, WorkerSlot } from './delivery.js';
import { PendingAcks } from './pending-acks.js';

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

/**
 * What a worker hands on when it is done with a message: the settlement when it is already
 * known, or the Observable that emits it once the message's handed-over writes are acknowledged
 * or its dead letter is written. Either way the worker is free for the next message.
 */
export type WorkerResult = Settlement | Observable<Settlement>;

/** Handles one message in the worker slot `worker` (none: the chain cannot give its slot back). */
export type MessageHandler = (delivery: Delivery, worker?: WorkerSlot) => Observable<WorkerResult>;

export type DeadLetterWriter = (delivery: Delivery, error: unknown) => Observable<unknown>;

/**
 * Runs one message through a pipeline chain. Whatever the chain emits is a side effect already
 * done (a produce, a call); the chain's work is over when it completes, whether it emitted or
 * filtered the message out. The message is processed once the writes the chain handed over
 * (`delivery.settleAfter`) are acknowledged too. An error, of the chain or of such a write, goes
 * to the dead-letter writer, and the message settles only once that write succeeded; a write
 * that ends without success (aborted) leaves it abandoned.
 *
 * The returned Observable emits one WorkerResult and completes as soon as the chain is done:
 * waiting for acknowledgements and writing dead letters happen after the worker let go. The
 * chain's failure is caught by `catchError` and routed to the dead-letter writer.
 */
export function handleMessage(
  chain: OperatorFunction<Delivery, unknown>,
  writeDeadLetter: DeadLetterWriter,
): MessageHandler {
  const failed = (delivery: Delivery, error: unknown): WorkerResult =>
    delivery.signal.aborted
      ? { delivery, outcome: 'abandoned', error }
      : deadLettered(delivery, error, writeDeadLetter);
  return (delivery, slot) =>
    new Observable<WorkerResult>((worker) => {
      // Made on the first handed-over write: most messages have none.
      let acks: PendingAcks | undefined;
      // Once the result is handed on, the worker may let go: its acks are waited for elsewhere.
      let handedOn = false;
      const tracked: Delivery = {
        ...delivery,
        settleAfter: (ack) => (acks ??= new PendingAcks()).add(ack),
        worker: slot,
      };
      const run = chain(just(tracked))
        .pipe(
          // Done when the chain completes, whether it emitted the message or filtered it out.
          countAll,
          map((): WorkerResult => {
            handedOn = true;
            return acks === undefined || acks.isEmpty
              ? { delivery, outcome: 'processed' }
              : afterAcks(delivery, acks, failed);
          }),
          // The DLQ branch. The message's handed-over writes need not be retried any more.
          catchError((error: unknown) => {
            handedOn = true;
            acks?.cancel();
            return of(failed(delivery, error));
          }),
        )
        .subscribe(worker);
      return () => {
        run.unsubscribe();
        // Given up before it was done (a revoked partition, shutdown): so are its writes.
        if (!handedOn) acks?.cancel();
      };
    });
}

/** Made once: it holds no state of its own, and per message it would be three more closures. */
const countAll = count();

/**
 * `of(value)` without its scheduler-argument handling: the chain's source, made for every
 * message, where that handling shows in a profile.
 */
function just<T>(value: T): Observable<T> {
  return new Observable<T>((subscriber) => {
    subscriber.next(value);
    subscriber.complete();
  });
}

/**
 * The settlement of a message whose chain completed with writes still unacknowledged. An abort
 * (revoked partition, shutdown giving up) abandons it at once rather than after a request
 * still in flight timed out.
 */
function afterAcks(
  delivery: Delivery,
  acks: PendingAcks,
  failed: (delivery: Delivery, error: unknown) => WorkerResult,
): Observable<Settlement> {
  return new Observable<Settlement>((subscriber) => {
    let deadLetter: Subscription | undefined;
    const settle = (settlement: Settlement) => {
      subscriber.next(settlement);
      subscriber.complete();
    };
    const stopWaitingForAbort = onAbort(delivery.signal, () => {
      acks.cancel();
      settle({ delivery, outcome: 'abandoned' });
    });
    acks.onSettled((acked) => {
      stopWaitingForAbort();
      const result: WorkerResult = acked.failed
        ? failed(delivery, acked.error)
        : { delivery, outcome: 'processed' };
      if (result instanceof Observable) deadLetter = result.subscribe(subscriber);
      else settle(result);
    });
    return () => {
      stopWaitingForAbort();
      acks.cancel();
      deadLetter?.unsubscribe();
    };
  });
}

/** Writes the message's dead letter: dead-lettered once it is written, abandoned if aborted. */
function deadLettered(
  delivery: Delivery,
  error: unknown,
  writeDeadLetter: DeadLetterWriter,
): Observable<Settlement> {
  return new Observable<Settlement>((subscriber) => {
    let written = false;
    return writeDeadLetter(delivery, error).subscribe({
      next: () => {
        if (!written) {
          written = true;
          subscriber.next({ delivery, outcome: 'dead-lettered', error });
          subscriber.complete();
        }
      },
      error: (writeError: unknown) => subscriber.error(writeError),
      complete: () => {
        if (!written) {
          subscriber.next({ delivery, outcome: 'abandoned', error });
          subscriber.complete();
        }
      },
    });
  });
}
