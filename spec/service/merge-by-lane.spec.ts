import { expect } from 'chai';
import { defer, finalize, type Observable, of, retry, Subject, switchMap, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { mergeByLane } from '../../lib/service/merge-by-lane.js';
import { marbleScheduler } from '../support/marbles.js';

type Cold = ReturnType<typeof TestScheduler.prototype.createColdObservable<string>>;

/** Values are named `<lane><n>`: 'x1' and 'x2' share lane x. */
const laneOf = (value: string) => value[0];

/** Projects each value to its own cold observable, taken from the spec's table. */
function projectBy(inners: Record<string, Observable<string>>) {
  return (value: string): Observable<string> => {
    const inner = inners[value];
    if (!inner) throw new Error(`unexpected value ${value}`);
    return inner;
  };
}

/** The same cold timing for each value, each inner emitting its own value as `s`. */
function sameTiming(
  cold: TestScheduler['createColdObservable'],
  marbles: string,
  values: string[],
): Record<string, Cold> {
  return Object.fromEntries(values.map((value) => [value, cold<string>(marbles, { s: value })]));
}

describe('mergeByLane', () => {
  it('runs the values of one lane one at a time, in arrival order', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'x3' };
      const source = cold('  (abc|)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'x2', 'x3']);
      const expected = '     ---a---b---c|';
      const x1Subs = '       ^---!';
      const x2Subs = '       ----^---!';
      const x3Subs = '       --------^---!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf))).toBe(expected, values);
      expectSubscriptions(inners.x1!.subscriptions).toBe(x1Subs);
      expectSubscriptions(inners.x2!.subscriptions).toBe(x2Subs);
      expectSubscriptions(inners.x3!.subscriptions).toBe(x3Subs);
    });
  });

  it('runs values of different lanes concurrently', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'y1', c: 'z1' };
      const source = hot('   (abc)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'y1', 'z1']);
      const expected = '     ---(abc)';
      const subs = '         ^---!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf))).toBe(expected, values);
      for (const inner of Object.values(inners)) expectSubscriptions(inner.subscriptions).toBe(subs);
    });
  });

  it('never runs more than `concurrency` values at once: the third starts when the first ends', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'w1', b: 'x1', c: 'y1', d: 'z1' };
      const source = hot('   (abcd)', values);
      const inners = sameTiming(cold, '---s|', ['w1', 'x1', 'y1', 'z1']);
      const expected = '     ---(ab)(cd)';
      const firstSubs = '    ^---!';
      const secondSubs = '   ----^---!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf, 2))).toBe(expected, values);
      expectSubscriptions(inners.w1!.subscriptions).toBe(firstSubs);
      expectSubscriptions(inners.x1!.subscriptions).toBe(firstSubs);
      expectSubscriptions(inners.y1!.subscriptions).toBe(secondSubs);
      expectSubscriptions(inners.z1!.subscriptions).toBe(secondSubs);
    });
  });

  it('does not give a slot to a value held back by its lane: a later value of another lane takes it', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1' };
      const source = hot('   (abc)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'x2', 'y1']);
      const expected = '     ---(ac)b';
      const x1Subs = '       ^---!';
      const y1Subs = '       ^---!';
      const x2Subs = '       ----^---!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf, 2))).toBe(expected, values);
      expectSubscriptions(inners.x1!.subscriptions).toBe(x1Subs);
      expectSubscriptions(inners.y1!.subscriptions).toBe(y1Subs);
      expectSubscriptions(inners.x2!.subscriptions).toBe(x2Subs);
    });
  });

  it('lets a value that retries with backoff hold back only its own lane', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1', d: 'y2', e: 'y3' };
      const source = hot('   (abcde)', values);
      // x1 fails twice, waiting 2 frames before each new attempt, and succeeds on the third.
      let attempts = 0;
      const x1 = defer(() => (++attempts < 3 ? cold('-#') : cold('-s|', { s: 'x1' }))).pipe(
        retry({ count: 2, delay: 2 }),
      );
      const quick = sameTiming(cold, '-s|', ['x2', 'y1', 'y2', 'y3']);
      const expected = '     -c-d-e-a-b';
      const x2Subs = '       --------^-!';
      const y1Subs = '       ^-!';
      const y2Subs = '       --^-!';
      const y3Subs = '       ----^-!';

      const result = source.pipe(mergeByLane(projectBy({ x1, ...quick }), laneOf, 2));

      expectObservable(result).toBe(expected, values);
      expectSubscriptions(quick.x2!.subscriptions).toBe(x2Subs);
      expectSubscriptions(quick.y1!.subscriptions).toBe(y1Subs);
      expectSubscriptions(quick.y2!.subscriptions).toBe(y2Subs);
      expectSubscriptions(quick.y3!.subscriptions).toBe(y3Subs);
    });
  });

  it('gives a free slot to the lane ready longest; a lane that just finished queues behind the others', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      // With one slot: x1 runs; x2 waits behind it; y1 and z1 wait for the slot, ready in that order.
      const values = { a: 'x1', b: 'x2', c: 'y1', d: 'z1', e: 'y2' };
      const source = hot('   a(bcd)e', values);
      const inners: Record<string, Cold> = {
        x1: cold<string>('     ----s|', { s: 'x1' }),
        ...sameTiming(cold, '-s|', ['x2', 'y1', 'z1', 'y2']),
      };
      // x1 ends at 5: y1 (ready since 1) goes first, then z1 (ready since 1, after y1), then
      // x2 (ready since 5) and y2 (its lane ready again only when y1 ended, at 7).
      const expected = '     ----a-c-d-b-e';
      const y1Subs = '       -----^-!';
      const z1Subs = '       -------^-!';
      const x2Subs = '       ---------^-!';
      const y2Subs = '       -----------^-!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf, 1))).toBe(expected, values);
      expectSubscriptions(inners.y1!.subscriptions).toBe(y1Subs);
      expectSubscriptions(inners.z1!.subscriptions).toBe(z1Subs);
      expectSubscriptions(inners.x2!.subscriptions).toBe(x2Subs);
      expectSubscriptions(inners.y2!.subscriptions).toBe(y2Subs);
    });
  });

  it('passes on every value an inner emits', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold('  (ab|)', { a: 'x1', b: 'x2' });
      const inners = { x1: cold('-1-2|'), x2: cold('3|') };
      const expected = '     -1-23|';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf))).toBe(expected);
    });
  });

  it('completes at once for an empty source', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold<string>('|');
      expectObservable(source.pipe(mergeByLane(() => of('never called'), laneOf))).toBe('|');
    });
  });

  it('neither emits nor completes for a source that never emits', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<string>('-');
      expectObservable(source.pipe(mergeByLane(() => of('never called'), laneOf))).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('completes only once the source completed and every waiting value finished', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1' };
      const source = cold('  a(bc|)', values);
      const inners = sameTiming(cold, '--s|', ['x1', 'x2', 'y1']);
      // One slot: x1 runs 0-3, then y1 (ready since 1) 3-6, then x2 (ready since 3) 6-9.
      const expected = '     --a--c--b|';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf, 1))).toBe(expected, values);
    });
  });

  it('fails when an inner fails, ending the other inners and starting no waiting value', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('inner broke');
      const values = { a: 'x1', b: 'y1', c: 'x2' };
      const source = hot('   (abc)', values);
      const inners = {
        x1: cold<string>('     --#', undefined, failure),
        y1: cold<string>('     -----s|', { s: 'y1' }),
        x2: cold<string>('     s|', { s: 'x2' }),
      };
      const expected = '     --#';
      const y1Subs = '       ^-!';
      const sourceSubs = '   ^-!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf))).toBe(
        expected,
        undefined,
        failure,
      );
      expectSubscriptions(inners.y1.subscriptions).toBe(y1Subs);
      expectSubscriptions(inners.x2.subscriptions).toBe([]);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('fails when the source fails, ending the running inners', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('source broke');
      const source = hot('   a--#', { a: 'x1' }, failure);
      const inners = { x1: cold<string>('-----s|', { s: 'x1' }) };
      const expected = '     ---#';
      const x1Subs = '       ^--!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf))).toBe(
        expected,
        undefined,
        failure,
      );
      expectSubscriptions(inners.x1.subscriptions).toBe(x1Subs);
    });
  });

  it('fails when project throws, ending the running inners', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('project broke');
      const source = hot('   a-b', { a: 'x1', b: 'y1' });
      const x1 = cold<string>('-----s|', { s: 'x1' });
      const expected = '     --#';
      const x1Subs = '       ^-!';

      const project = (value: string) => {
        if (value === 'y1') throw failure;
        return x1;
      };

      expectObservable(source.pipe(mergeByLane(project, laneOf))).toBe(expected, undefined, failure);
      expectSubscriptions(x1.subscriptions).toBe(x1Subs);
    });
  });

  it('fails when laneOf throws, ending the running inners', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failure = new Error('laneOf broke');
      const source = hot('   a-b', { a: 'x1', b: 'y1' });
      const inners = { x1: cold<string>('-----s|', { s: 'x1' }) };
      const expected = '     --#';
      const x1Subs = '       ^-!';
      const sourceSubs = '   ^-!';

      const throwingLaneOf = (value: string) => {
        if (value === 'y1') throw failure;
        return laneOf(value);
      };

      expectObservable(source.pipe(mergeByLane(projectBy(inners), throwingLaneOf))).toBe(
        expected,
        undefined,
        failure,
      );
      expectSubscriptions(inners.x1.subscriptions).toBe(x1Subs);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('ends the source and the running inners on early unsubscribe, and starts no waiting value', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const values = { a: 'x1', b: 'x2', c: 'y1' };
      const source = hot('   (abc)', values);
      const inners = sameTiming(cold, '---s|', ['x1', 'x2', 'y1']);
      const unsub = '        --!';
      const runningSubs = '  ^-!';

      expectObservable(source.pipe(mergeByLane(projectBy(inners), laneOf)), unsub).toBe('--');
      expectSubscriptions(source.subscriptions).toBe(runningSubs);
      expectSubscriptions(inners.x1!.subscriptions).toBe(runningSubs);
      expectSubscriptions(inners.y1!.subscriptions).toBe(runningSubs);
      expectSubscriptions(inners.x2!.subscriptions).toBe([]);
    });
  });

  it('stops starting values when the subscriber unsubscribes from inside a synchronous emission', () => {
    const started: string[] = [];
    const received: string[] = [];
    of('x1', 'y1', 'z1')
      .pipe(
        mergeByLane((value) => {
          started.push(value);
          return of(value);
        }, laneOf),
        take(1),
      )
      .subscribe((value) => received.push(value));
    expect(received).to.deep.equal(['x1']);
    expect(started).to.deep.equal(['x1']);
  });

  it('rejects a concurrency below 1', () => {
    expect(() => mergeByLane(() => of(1), laneOf, 0)).to.throw(RangeError, /concurrency/);
  });

  for (const [name, lanes] of [
    ['one lane', 1],
    ['many lanes', 100],
  ] as const) {
    it(`drains 20,000 waiting values whose inners complete synchronously without nesting (${name})`, () => {
      const source = new Subject<number>();
      const release = new Subject<void>();
      let emitted = 0;
      let failure: unknown;
      let active = 0;
      let maxActive = 0;
      // Value 0 holds the only slot until `release`; the 20,000 behind it complete synchronously,
      // so all of them start from inside its completion.
      const result = source.pipe(
        mergeByLane(
          (value) => {
            active += 1;
            maxActive = Math.max(maxActive, active);
            const done = of(value).pipe(finalize(() => (active -= 1)));
            return value === 0
              ? release.pipe(
                  take(1),
                  switchMap(() => done),
                )
              : done;
          },
          (value) => value % lanes,
          1,
        ),
      );
      result.subscribe({ next: () => (emitted += 1), error: (error: unknown) => (failure = error) });
      for (let i = 0; i < 20_000; i++) source.next(i);
      expect(emitted).to.equal(0);
      release.next();
      // No start is deferred: everything ran inside release.next().
      expect(failure).to.equal(undefined);
      expect(emitted).to.equal(20_000);
      expect(maxActive).to.equal(1);
    });
  }
});
