import { Observable, type OperatorFunction, Subscription } from 'rxjs';
import type { Settlement, WorkerResult } from '../pipeline/handle-message.js';

/**
 * Turns what workers hand on into settlements: a settlement passes straight through, an
 * Observable of one (a message waiting for acknowledgements or for its dead letter) is
 * subscribed at once, however many are open (the source's credits bound them). mergeAll would
 * do the same with a subscription per message; most messages are settled already, and pass
 * here without one. Completes when the source did and every open one emitted.
 */
export function flattenSettlements(): OperatorFunction<WorkerResult, Settlement> {
  return (source) =>
    new Observable<Settlement>((subscriber) => {
      const subscriptions = new Subscription();
      let open = 0;
      let sourceDone = false;
      const completeIfDone = () => {
        if (sourceDone && open === 0) subscriber.complete();
      };
      subscriptions.add(
        source.subscribe({
          next: (result) => {
            if (!(result instanceof Observable)) {
              subscriber.next(result);
              return;
            }
            open += 1;
            let inner: Subscription | undefined;
            let ended = false;
            inner = result.subscribe({
              next: (settlement) => subscriber.next(settlement),
              error: (error: unknown) => subscriber.error(error),
              complete: () => {
                ended = true;
                open -= 1;
                if (inner) subscriptions.remove(inner);
                completeIfDone();
              },
            });
            if (ended) inner = undefined;
            else subscriptions.add(inner);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            completeIfDone();
          },
        }),
      );
      return subscriptions;
    });
}
