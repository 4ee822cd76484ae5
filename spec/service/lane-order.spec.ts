import { expect } from 'chai';
import { mergeMap, type Observable, of, type OperatorFunction, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { inLaneOrder } from '../../lib/service/lane-order.js';
import { marbleScheduler } from '../support/marbles.js';

type Cold = ReturnType<typeof TestScheduler.prototype.createColdObservable<string>>;

/** Values are named `<lane><n>`: 'x1' and 'x2' share lane x. */
const laneOf = (value: string) => value[0];
/** Each result names the value it finishes: the inners emit their own value. */
const itself = (result: string) => result;

/** mergeMap over each value's own cold observable, taken from the spec's table. */
function slots(
  inners: Record<string, Observable<string>>,
  concurrency = Infinity,
): OperatorFunction<string, string> {
  return mergeMap((value) => {
    const inner = inners[value];
    if (!inner) throw new Error(`unexpected value ${value}`);
    return inner;
  }, concurrency);
}

/** The same cold timing for each value, each inner emitting its own value as `s`. */
function sameTiming(
  cold: TestScheduler['createColdObservable'],
  marbles: string,
  values: string[],
): Record<string, Cold> {
  return Object.fromEntries(values.map((value) => [value, cold<string>(marbles, { s: value })]));
}

describe('inLaneOrder', () => {
  it('lets the values of one lane in one at a time, in arrival order', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'x3' };
      const source = cold('  (abc|)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'x2', 'x3']);
      const expected = '     ---a--b--c|';
      const x1Subs = '       ^---!';
      const x2Subs = '       ---^---!';
      const x3Subs = '       ------^---!';

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners)))).toBe(expected, values);
      expectSubscriptions(inners.x1!.subscriptions).toBe(x1Subs);
      expectSubscriptions(inners.x2!.subscriptions).toBe(x2Subs);
      expectSubscriptions(inners.x3!.subscriptions).toBe(x3Subs);
    });
  });

  it('lets values of different lanes in alongside each other', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'y1', c: 'z1' };
      const source = hot('   (abc)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'y1', 'z1']);

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners)))).toBe('---(abc)', values);
      for (const inner of Object.values(inners)) expectSubscriptions(inner.subscriptions).toBe('^---!');
    });
  });

  it('holds a value back without giving it to the slots: a later value of another lane takes the free one', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1' };
      const source = hot('   (abc)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'x2', 'y1']);
      const expected = '     ---(ac)b';

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners, 2)))).toBe(expected, values);
      expectSubscriptions(inners.x1!.subscriptions).toBe('^---!');
      expectSubscriptions(inners.y1!.subscriptions).toBe('^---!');
      // In at x1's result (3); the slot it waits for frees when x1's inner ends (4).
      expectSubscriptions(inners.x2!.subscriptions).toBe('----^---!');
    });
  });

  it('lets lanes in as they became ready: a lane whose value just finished queues behind the others', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      // With one slot: x1 runs; x2 waits behind it; y1 and z1 wait for the slot, ready in that order.
      const values = { a: 'x1', b: 'x2', c: 'y1', d: 'z1', e: 'y2' };
      const source = hot('   a(bcd)e', values);
      const inners: Record<string, Cold> = {
        x1: cold<string>('     ----s|', { s: 'x1' }),
        ...sameTiming(cold, '-s|', ['x2', 'y1', 'z1', 'y2']),
      };
      // x1 ends at 5: y1 (in line since 1) goes first, then z1, then x2 (in line since x1's
      // result at 4) and y2 (its lane in line only from y1's result, at 6).
      const expected = '     ----a-c-d-b-e';

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners, 1)))).toBe(expected, values);
      expectSubscriptions(inners.y1!.subscriptions).toBe('-----^-!');
      expectSubscriptions(inners.z1!.subscriptions).toBe('-------^-!');
      expectSubscriptions(inners.x2!.subscriptions).toBe('---------^-!');
      expectSubscriptions(inners.y2!.subscriptions).toBe('-----------^-!');
    });
  });

  it('completes at once for an empty source', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold<string>('|').pipe(inLaneOrder(laneOf, itself, slots({})))).toBe('|');
    });
  });

  it('neither emits nor completes for a source that never emits', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<string>('-');
      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots({})))).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('completes only once the source completed and every held-back value finished', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1' };
      const source = cold('  a(bc|)', values);
      const inners = sameTiming(cold, '--s|', ['x1', 'x2', 'y1']);
      // One slot: x1 runs 0-3, then y1 (in line since 1) 3-6, then x2 (in line since 2) 6-9.
      const expected = '     --a--c--b|';

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners, 1)))).toBe(expected, values);
    });
  });

  it('fails when the slots fail, letting no held-back value in', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('inner broke');
      const values = { a: 'x1', b: 'y1', c: 'x2' };
      const source = hot('   (abc)', values);
      const inners = {
        x1: cold<string>('     --#', undefined, failure),
        y1: cold<string>('     -----s|', { s: 'y1' }),
        x2: cold<string>('     s|', { s: 'x2' }),
      };

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners)))).toBe(
        '--#',
        undefined,
        failure,
      );
      expectSubscriptions(inners.y1.subscriptions).toBe('^-!');
      expectSubscriptions(inners.x2.subscriptions).toBe([]);
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('fails when the source fails, ending what runs', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('source broke');
      const source = hot('   a--#', { a: 'x1' }, failure);
      const inners = { x1: cold<string>('-----s|', { s: 'x1' }) };

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners)))).toBe(
        '---#',
        undefined,
        failure,
      );
      expectSubscriptions(inners.x1.subscriptions).toBe('^--!');
    });
  });

  it('fails when laneOf throws, ending what runs', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('laneOf broke');
      const source = hot('   a-b', { a: 'x1', b: 'y1' });
      const inners = { x1: cold<string>('-----s|', { s: 'x1' }) };
      const throwingLaneOf = (value: string) => {
        if (value === 'y1') throw failure;
        return laneOf(value);
      };

      expectObservable(source.pipe(inLaneOrder(throwingLaneOf, itself, slots(inners)))).toBe(
        '--#',
        undefined,
        failure,
      );
      expectSubscriptions(inners.x1.subscriptions).toBe('^-!');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('ends the source and what runs on early unsubscribe, and lets no held-back value in', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1' };
      const source = hot('   (abc)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'x2', 'y1']);

      expectObservable(source.pipe(inLaneOrder(laneOf, itself, slots(inners))), '--!').toBe('--');
      expectSubscriptions(source.subscriptions).toBe('^-!');
      expectSubscriptions(inners.x1!.subscriptions).toBe('^-!');
      expectSubscriptions(inners.y1!.subscriptions).toBe('^-!');
      expectSubscriptions(inners.x2!.subscriptions).toBe([]);
    });
  });

  it('lets nothing more in once the subscriber unsubscribed from inside a synchronous result', () => {
    const started: string[] = [];
    const received: string[] = [];
    const run = mergeMap((value: string) => {
      started.push(value);
      return of(value);
    });
    of('x1', 'x2', 'y1')
      .pipe(inLaneOrder(laneOf, itself, run), take(1))
      .subscribe((value) => received.push(value));
    expect(received).to.deep.equal(['x1']);
    expect(started).to.deep.equal(['x1']);
  });
});
