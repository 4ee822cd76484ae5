import { asapScheduler, mergeMap, Observable, type Subscription, tap } from 'rxjs';
import type { Delivery } from '../pipeline/delivery.js';
import type { Settlement } from '../pipeline/handle-message.js';

/** Where messages are between hand-off and settle. */
export interface RunnerCounts {
  /** Handed to the pipeline and waiting for a worker (the Go original's queue_depth). */
  readonly waiting: number;
  /** Held by a worker right now. */
  readonly inFlight: number;
}

/**
 * When a worker frees up, mergeMap starts the next buffered message from inside the finished
 * one's teardown, so a run of handles that complete synchronously (filtered messages, or
 * everything during shutdown) nests one call chain per buffered message. Past this depth the
 * next start is moved to a microtask, so a full buffer never overflows the stack.
 */
const MAX_SYNCHRONOUS_DEPTH = 64;

/**
 * The concurrent middle of the flow: at most `concurrency` messages are handled at once; the
 * rest wait in mergeMap's buffer, which the source's credits keep bounded.
 */
export function runPipeline(
  deliveries: Observable<Delivery>,
  handle: (delivery: Delivery) => Observable<Settlement>,
  concurrency: number,
): { settlements: Observable<Settlement>; counts: RunnerCounts } {
  let received = 0;
  let started = 0;
  let inFlight = 0;
  let depth = 0;
  // One Observable per message doing what defer + finalize would, without their subscribers.
  const worker = (delivery: Delivery) =>
    new Observable<Settlement>((subscriber) => {
      started += 1;
      inFlight += 1;
      let subscription: Subscription | undefined;
      let closed = false;
      const start = () => {
        if (closed) return;
        depth += 1;
        try {
          subscription = handle(delivery).subscribe(subscriber);
        } finally {
          depth -= 1;
        }
      };
      const deferred = depth >= MAX_SYNCHRONOUS_DEPTH ? asapScheduler.schedule(start) : (start(), undefined);
      return () => {
        closed = true;
        inFlight -= 1;
        deferred?.unsubscribe();
        subscription?.unsubscribe();
      };
    });
  const settlements = deliveries.pipe(
    tap(() => (received += 1)),
    mergeMap(worker, concurrency),
  );
  return {
    settlements,
    counts: {
      get waiting() {
        return received - started;
      },
      get inFlight() {
        return inFlight;
      },
    },
  };
}
