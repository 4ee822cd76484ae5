import type { Observable } from 'rxjs';
import type { Settlement, WorkerResult } from '../../lib/core/handle-message.js';
import { flattenSettlements } from '../../lib/service/flatten-settlements.js';
import { makeDelivery } from '../operators/support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

const settlement = (offset: string): Settlement => ({
  delivery: makeDelivery({ offset }),
  outcome: 'processed',
});
const A = settlement('0');
const B = settlement('1');
const C = settlement('2');

describe('flattenSettlements', () => {
  it('passes settlements through as they come, and subscribes pending ones at once, side by side', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const slow = cold<Settlement>('----b|', { b: B });
      const quick = cold<Settlement>(' -c|', { c: C });
      const source = hot<WorkerResult>('a-sq--|', { a: A, s: slow, q: quick });
      const expected = '                a---c-b|';

      expectObservable(source.pipe(flattenSettlements())).toBe(expected, { a: A, b: B, c: C });
      expectSubscriptions(slow.subscriptions).toBe('--^----!');
      expectSubscriptions(quick.subscriptions).toBe('---^-!');
    });
  });

  it('completes only once the source completed and every pending settlement did', () => {
    marbleScheduler().run(({ hot, cold, expectObservable }) => {
      const pending = cold<Settlement>('-----a|', { a: A });
      const source = hot<WorkerResult>('p-|', { p: pending });
      expectObservable(source.pipe(flattenSettlements())).toBe('-----a|', { a: A });
    });
  });

  it('errors with the first pending settlement that errors, and unsubscribes the others', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failing = cold<Settlement>('--#', undefined, new Error('dead-letter write failed'));
      const other: Observable<Settlement> = cold<Settlement>('------a|', { a: A });
      const source = hot<WorkerResult>('fo', { f: failing, o: other });

      expectObservable(source.pipe(flattenSettlements())).toBe(
        '--#',
        undefined,
        new Error('dead-letter write failed'),
      );
      expectSubscriptions((other as ReturnType<typeof cold>).subscriptions).toBe('-^!');
    });
  });

  it('unsubscribes pending settlements when unsubscribed', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const pending = cold<Settlement>('------a|', { a: A });
      const source = hot<WorkerResult>('p', { p: pending });
      expectObservable(source.pipe(flattenSettlements()), '^--!').toBe('---');
      expectSubscriptions(pending.subscriptions).toBe('^--!');
    });
  });

  it('takes a pending settlement that is due at once', () => {
    marbleScheduler().run(({ hot, cold, expectObservable }) => {
      const due = cold<Settlement>('(a|)', { a: A });
      const source = hot<WorkerResult>('-d-|', { d: due });
      expectObservable(source.pipe(flattenSettlements())).toBe('-a-|', { a: A });
    });
  });
});
