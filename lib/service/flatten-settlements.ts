import { Observable, type OperatorFunction, Subscription } from 'rxjs';
import type { Settlement, WorkerResult } from '../core/handle-message.js';

/**
 * Turns what workers hand on into settlements: a settlement passes straight through, an
 * Observable of one (a message waiting for acknowledgements or for its dead letter) is
 * subscribed at once, however many are open (the source's credits bound them). mergeAll would
 * do the same with a subscription per message; most messages are settled already, and pass
 * here without one. Completes when the source did and every open one emitted.
 * loadtest/flatten-settlements-bench.ts measures both against RxJS's mergeMap.
 */
export function flattenSettlements(): OperatorFunction<WorkerResult, Settlement> {
  return (source) =>
    new Observable<Settlement>((subscriber) => {
      // A Set, not a parent Subscription: removing a child of one costs time in proportion to
      // how many are open, for every message.
      const open = new Set<Subscription>();
      let sourceDone = false;
      const completeIfDone = () => {
        if (sourceDone && open.size === 0) subscriber.complete();
      };
      const sourceSubscription = source.subscribe({
        next: (result) => {
          if (!(result instanceof Observable)) {
            subscriber.next(result);
            return;
          }
          let ended = false;
          let inner: Subscription | undefined = undefined;
          inner = result.subscribe({
            next: (settlement) => subscriber.next(settlement),
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              ended = true;
              // Undefined while the inner Observable completes within subscribe.
              if (inner !== undefined) open.delete(inner);
              completeIfDone();
            },
          });
          if (!ended) open.add(inner);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          completeIfDone();
        },
      });
      return () => {
        sourceSubscription.unsubscribe();
        for (const inner of open) inner.unsubscribe();
        open.clear();
      };
    });
}
