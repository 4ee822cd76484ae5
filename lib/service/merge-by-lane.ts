import { from, Observable, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';
import { Fifo } from './fifo.js';

/** The values of one lane that have not finished yet. */
interface Lane<T> {
  readonly id: unknown;
  /** Arrived, not started: they wait here, not in a worker slot. */
  readonly waiting: Fifo<T>;
  /** One of its values is being projected right now. */
  busy: boolean;
}

/**
 * Like `mergeMap(project, concurrency)`, but a value starts only when no earlier value of its
 * lane (`laneOf(value)`, compared with SameValueZero as Map keys are) is still active: values of
 * one lane run one at a time in arrival order, values of different lanes run concurrently, and
 * at most `concurrency` run at once overall.
 *
 * A value whose lane is busy waits in that lane's FIFO without taking a slot, so a slow lane
 * (one retrying with backoff) holds back only its own values. An idle lane with waiting values
 * is *ready*; ready lanes wait for a slot in a FIFO in the order they became ready, and a lane
 * whose value just finished joins the back of it. So when a slot frees, the lane that has been
 * ready longest goes first and no lane can starve the others; every step is O(1) amortised.
 *
 * Starts never nest: an inner that completes while it is being subscribed (synchronously) only
 * frees its slot, and the loop already running starts the next value, so a long run of
 * synchronous inners uses a constant stack depth.
 *
 * Completes when the source has completed and every value has finished. An error of the
 * source, an inner, `project` or `laneOf` is passed on and unsubscribes everything.
 */
export function mergeByLane<T, R>(
  project: (value: T) => ObservableInput<R>,
  laneOf: (value: T) => unknown,
  concurrency = Infinity,
): OperatorFunction<T, R> {
  if (!(concurrency >= 1)) throw new RangeError(`mergeByLane: concurrency must be >= 1, got ${concurrency}`);
  return (source) =>
    new Observable<R>((subscriber) => {
      /** Lanes with a value active or waiting; an idle, empty lane is forgotten. */
      const lanes = new Map<unknown, Lane<T>>();
      const ready = new Fifo<Lane<T>>();
      const inners = new Set<Subscription>();
      let active = 0;
      let sourceDone = false;
      let draining = false;

      const finish = (lane: Lane<T>) => {
        active -= 1;
        lane.busy = false;
        if (lane.waiting.length > 0) ready.push(lane);
        else lanes.delete(lane.id);
        drain();
      };

      const start = (lane: Lane<T>, value: T) => {
        lane.busy = true;
        active += 1;
        let completed = false;
        let inner: Subscription | undefined = undefined;
        try {
          inner = from(project(value)).subscribe({
            next: (result) => subscriber.next(result),
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              completed = true;
              if (inner) inners.delete(inner);
              finish(lane);
            },
          });
        } catch (error) {
          subscriber.error(error);
          return;
        }
        // A downstream that unsubscribed while this inner was being subscribed has already
        // run the teardown below, so the inner is ended here instead of being kept.
        if (subscriber.closed) inner.unsubscribe();
        else if (!completed) inners.add(inner);
      };

      // The one place values start. Re-entered from a completion or an arrival during the
      // loop, it only returns: the running loop sees the freed slot or the ready lane.
      const drain = () => {
        if (draining) return;
        draining = true;
        try {
          while (active < concurrency && !subscriber.closed) {
            const lane = ready.shift();
            if (!lane) break;
            start(lane, lane.waiting.shift() as T);
          }
        } finally {
          draining = false;
        }
        // Every waiting value sits in a busy lane or in `ready`, so this means nothing is left.
        if (sourceDone && active === 0 && ready.length === 0) subscriber.complete();
      };

      const sourceSubscription = source.subscribe({
        next: (value) => {
          if (subscriber.closed) return;
          let id: unknown;
          try {
            id = laneOf(value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          let lane = lanes.get(id);
          if (!lane) lanes.set(id, (lane = { id, waiting: new Fifo<T>(), busy: false }));
          lane.waiting.push(value);
          // An idle lane with waiting values is always in `ready`: enter it with the first one.
          if (!lane.busy && lane.waiting.length === 1) ready.push(lane);
          drain();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });

      return () => {
        sourceSubscription.unsubscribe();
        for (const inner of inners) inner.unsubscribe();
        inners.clear();
        lanes.clear();
        ready.clear();
      };
    });
}
