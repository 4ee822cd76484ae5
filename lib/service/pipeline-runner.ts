import { asapScheduler, mergeMap, Observable, type OperatorFunction, type Subscription, tap } from 'rxjs';
import type { ProcessingOrder } from '../config/schema.js';
import type { Delivery } from '../pipeline/delivery.js';
import type { MessageHandler, Settlement, WorkerResult } from '../pipeline/handle-message.js';
import { deliveryLane } from './delivery-lanes.js';
import { flattenSettlements } from './flatten-settlements.js';
import { mergeByLane } from './merge-by-lane.js';

/** Where messages are between hand-off and settle. */
export interface RunnerCounts {
  /**
   * Handed to the pipeline and waiting for a worker (the Go original's queue_depth), including
   * those held back behind an earlier message of their lane.
   */
  readonly waiting: number;
  /** Held by a worker right now (not counting messages only waiting for acknowledgements). */
  readonly inFlight: number;
}

export interface RunnerOptions {
  /**
   * PROCESSING_ORDER. `unordered` (default): any message may start when a worker is free.
   * `key`: messages of one topic-partition and key one at a time, in offset order.
   * `partition`: messages of one topic-partition one at a time, in offset order.
   * In every mode at most `concurrency` run at once; see deliveryLane and mergeByLane.
   * Unordered, a worker lets go of a message when its chain is done, and the next starts while
   * its writes are acknowledged; in the ordered modes a message holds its lane until it settled,
   * so a retried write can never land after a later message's.
   */
  order?: ProcessingOrder;
}

/**
 * When a worker frees up, mergeMap starts the next buffered message from inside the finished
 * one's teardown, so a run of handles that complete synchronously (filtered messages, or
 * everything during shutdown) nests one call chain per buffered message. Past this depth the
 * next start is moved to a microtask, so a full buffer never overflows the stack. (mergeByLane,
 * used for the ordered modes, never nests its starts; the guard then costs nothing.)
 */
const MAX_SYNCHRONOUS_DEPTH = 64;

/**
 * The concurrent middle of the flow: at most `concurrency` messages are handled at once; the
 * rest wait in mergeMap's buffer (or mergeByLane's lanes), which the source's credits keep
 * bounded.
 */
export function runPipeline(
  deliveries: Observable<Delivery>,
  handle: MessageHandler,
  concurrency: number,
  { order = 'unordered' }: RunnerOptions = {},
): { settlements: Observable<Settlement>; counts: RunnerCounts } {
  let received = 0;
  let started = 0;
  let inFlight = 0;
  let depth = 0;
  // One Observable per message doing what defer + finalize would, without their subscribers.
  const worker = (delivery: Delivery) =>
    new Observable<WorkerResult>((subscriber) => {
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
  const run: OperatorFunction<Delivery, Settlement> =
    order === 'unordered'
      ? (workers) => workers.pipe(mergeMap(worker, concurrency), flattenSettlements())
      : mergeByLane(
          (delivery) => worker(delivery).pipe(flattenSettlements()),
          deliveryLane(order),
          concurrency,
        );
  const settlements = deliveries.pipe(
    tap(() => (received += 1)),
    run,
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
