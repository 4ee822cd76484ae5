import { Observable, type OperatorFunction, Subject } from 'rxjs';
import { Fifo } from './fifo.js';

/**
 * Runs values through `run` one lane at a time: a value goes in only once no earlier value of
 * its lane (`laneOf(value)`, compared with SameValueZero as Map keys are) is unfinished there.
 * `run` must emit exactly one result per value it gets, `finished(result)` naming the value;
 * that result is passed on first, then the next value of the lane goes in. Values of one lane
 * thus go through in arrival order, one at a time, and values of different lanes concurrently,
 * as far as `run` lets them.
 *
 * A value held back waits in its lane's FIFO and takes nothing of `run`'s, so a slow lane
 * (one retrying with backoff) holds back only its own values. Lanes enter `run` in the order
 * they became ready (their previous value finished, or their first arrived), and a lane whose
 * value just finished goes in behind those already in: with a FIFO slot limiter in `run`
 * (mergeMap), no lane can starve the others. Every step is O(1) amortised.
 *
 * Completes when the source has completed and every value has finished (`run` then sees its
 * input complete). An error of the source, of `run`, of `laneOf` or of `finished` is passed on
 * and unsubscribes everything.
 */
export function inLaneOrder<T, R>(
  laneOf: (value: T) => unknown,
  finished: (result: R) => T,
  run: OperatorFunction<T, R>,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      /**
       * Lanes with a value inside `run`, each with the values waiting behind it (the FIFO is
       * made for the first one that has to wait: most lanes never have any).
       */
      const lanes = new Map<unknown, Fifo<T> | undefined>();
      const admitted = new Subject<T>();
      let sourceDone = false;
      const completeIfDone = () => {
        if (sourceDone && lanes.size === 0) admitted.complete();
      };

      const results = run(admitted).subscribe({
        next: (result) => {
          subscriber.next(result);
          // Unsubscribed from inside that emission, before the teardown below was in place.
          if (subscriber.closed) return;
          let lane: unknown;
          try {
            lane = laneOf(finished(result));
          } catch (error) {
            subscriber.error(error);
            return;
          }
          const waiting = lanes.get(lane);
          if (waiting !== undefined && waiting.length > 0) {
            admitted.next(waiting.shift() as T);
          } else {
            lanes.delete(lane);
            completeIfDone();
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });

      const intake = source.subscribe({
        next: (value) => {
          if (subscriber.closed) return;
          let lane: unknown;
          try {
            lane = laneOf(value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (!lanes.has(lane)) {
            lanes.set(lane, undefined);
            admitted.next(value);
            return;
          }
          let waiting = lanes.get(lane);
          if (waiting === undefined) lanes.set(lane, (waiting = new Fifo<T>()));
          waiting.push(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          completeIfDone();
        },
      });

      return () => {
        intake.unsubscribe();
        results.unsubscribe();
        lanes.clear();
      };
    });
}
