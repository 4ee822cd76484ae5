import {
  identity,
  mergeMap,
  type MonoTypeOperatorFunction,
  Observable,
  type OperatorFunction,
  tap,
} from 'rxjs';
import type { ProcessingOrder } from '../config/schema.js';
import type { Delivery } from '../core/delivery.js';
import type { MessageHandler, Settlement } from '../core/handle-message.js';
import { deliveryLane } from './delivery-lanes.js';
import { flattenSettlements } from './flatten-settlements.js';
import { inLaneOrder } from './lane-order.js';
import { WorkerPool } from './worker-pool.js';

/** Where messages are between hand-off and settle. */
export interface RunnerCounts {
  /**
   * Handed to the pipeline and waiting for a worker to start them (the Go original's
   * queue_depth), including those held back behind an earlier message of their lane.
   */
  readonly waiting: number;
  /** Held by a worker right now (not counting messages only waiting for acknowledgements). */
  readonly inFlight: number;
  /**
   * Started, and waiting out a retry's backoff without a worker (or, the backoff over, for a
   * worker to make their next attempt).
   */
  readonly inBackoff: number;
}

export interface RunnerOptions {
  /**
   * PROCESSING_ORDER. `unordered` (default): any message may start when a worker is free.
   * `key`: messages of one topic-partition and key one at a time, in offset order.
   * `partition`: messages of one topic-partition one at a time, in offset order.
   * In every mode at most `concurrency` work at once; see deliveryLane and inLaneOrder.
   * Unordered, a worker lets go of a message when its chain is done, and the next starts while
   * its writes are acknowledged; in the ordered modes a message holds its lane until it settled,
   * so a retried write can never land after a later message's.
   */
  order?: ProcessingOrder;
  /**
   * The buffer the deliveries pass first (nextTurn() in the services: the messages of one
   * turn of the event loop, passed on in the next, so fetching and processing overlap).
   * None by default.
   */
  buffer?: MonoTypeOperatorFunction<Delivery> | undefined;
}

/**
 * The concurrent middle of the flow, `mergeMap(handle, concurrency)` in WorkerPool: at most
 * `concurrency` messages are worked on at once; the rest wait in mergeMap's buffer (or, in the
 * ordered modes, behind their lane), which the source's credits keep bounded. A message waiting
 * out a retry's backoff holds no worker; it keeps its credit and its lane.
 */
export function runPipeline(
  deliveries: Observable<Delivery>,
  handle: MessageHandler,
  concurrency: number,
  { order = 'unordered', buffer = identity }: RunnerOptions = {},
): { settlements: Observable<Settlement>; counts: RunnerCounts } {
  if (!(concurrency >= 1)) throw new RangeError(`runPipeline: concurrency must be >= 1, got ${concurrency}`);
  let received = 0;
  const pool = new WorkerPool(handle);
  // The workers: at most `concurrency` turns run at once; the others wait in mergeMap's buffer,
  // which holds no more than the source's credits allow (QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE):
  // with every credit taken, the source stops fetching until a message settles.
  const work: OperatorFunction<Delivery, Settlement> = (admitted) =>
    pool.turns(admitted).pipe(mergeMap(pool.inWorkerSlot, concurrency), flattenSettlements());
  const settlements = deliveries.pipe(
    buffer,
    tap(() => (received += 1)),
    order === 'unordered' ? work : inLaneOrder(deliveryLane(order), settledDelivery, work),
  );
  return {
    settlements,
    counts: {
      get waiting() {
        return received - pool.started;
      },
      get inFlight() {
        return pool.inFlight;
      },
      get inBackoff() {
        return pool.parked.size;
      },
    },
  };
}

function settledDelivery(settlement: Settlement): Delivery {
  return settlement.delivery;
}
