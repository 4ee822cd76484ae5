import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Passes values on in the next turn of the event loop (setImmediate), those of one turn
 * together and in order. Between the source and the workers it lets kafkajs send its next fetch
 * before the messages of the last one are processed: kafkajs fetches again only once the batch
 * handler returned, and a synchronous pipeline would otherwise process the whole batch inside
 * it, so fetch round trips and processing took turns instead of overlapping. Credits are taken
 * before a value gets here, so what waits is bounded like everything else held.
 * Errors pass at once; completion waits for the values before it.
 */
export function nextTurn<T>(): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let pending: T[] = [];
      let scheduled: NodeJS.Immediate | undefined;
      let sourceDone = false;
      const passOn = () => {
        scheduled = undefined;
        const values = pending;
        pending = [];
        for (const value of values) {
          if (subscriber.closed) return;
          subscriber.next(value);
        }
        if (sourceDone) subscriber.complete();
      };
      const subscription = source.subscribe({
        next: (value) => {
          pending.push(value);
          scheduled ??= setImmediate(passOn);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (scheduled === undefined) subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        if (scheduled !== undefined) clearImmediate(scheduled);
      };
    });
}
