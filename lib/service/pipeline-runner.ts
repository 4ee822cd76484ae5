import { defer, finalize, mergeMap, type Observable, queueScheduler, subscribeOn, tap } from 'rxjs';
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
  const settlements = deliveries.pipe(
    tap(() => (received += 1)),
    mergeMap(
      (delivery) =>
        defer(() => {
          started += 1;
          inFlight += 1;
          return handle(delivery);
        }).pipe(
          // When a worker frees up, mergeMap starts the next buffered message from inside the
          // finished one's teardown; a run of handles that complete synchronously (filtered
          // messages, or everything during shutdown) would nest one stack frame chain per
          // buffered message. The queue scheduler runs the first at once and trampolines the
          // rest, so a full buffer never overflows the stack.
          subscribeOn(queueScheduler),
          finalize(() => (inFlight -= 1)),
        ),
      concurrency,
    ),
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
