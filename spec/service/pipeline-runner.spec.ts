import { expect } from 'chai';
import { delay, of, Subject, switchMap, take, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Delivery } from '../../lib/core/delivery.js';
import type { Settlement, WorkerResult } from '../../lib/core/handle-message.js';
import { runPipeline, type RunnerCounts } from '../../lib/service/pipeline-runner.js';
import { makeDelivery } from '../operators/support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

const deliveries = {
  a: makeDelivery({ offset: '0' }),
  b: makeDelivery({ offset: '1' }),
  c: makeDelivery({ offset: '2' }),
  d: makeDelivery({ offset: '3' }),
};
type Name = keyof typeof deliveries;
type Counts = Pick<RunnerCounts, 'waiting' | 'inFlight'>;

const processed = (delivery: Delivery): Settlement => ({ delivery, outcome: 'processed' });
const settlements = {
  A: processed(deliveries.a),
  B: processed(deliveries.b),
  C: processed(deliveries.c),
  D: processed(deliveries.d),
};

/** A handle that answers each delivery with its own cold observable, from the spec's table. */
function handleBy(handles: Record<Name, Observable<Settlement>>) {
  return (delivery: Delivery): Observable<Settlement> => {
    const name = (Object.keys(deliveries) as Name[]).find((n) => deliveries[n] === delivery);
    if (!name) throw new Error(`unexpected delivery at offset ${delivery.offset}`);
    return handles[name];
  };
}

/** Cold handle per delivery: the same timing for all, each settling its own delivery. */
function sameTiming(cold: TestScheduler['createColdObservable'], marbles: string) {
  return {
    a: cold(marbles, { s: settlements.A }),
    b: cold(marbles, { s: settlements.B }),
    c: cold(marbles, { s: settlements.C }),
    d: cold(marbles, { s: settlements.D }),
  };
}

describe('runPipeline', () => {
  it('passes the deliveries through the buffer before mergeMap starts any', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('  (ab)', deliveries);
      const handles = sameTiming(cold, 's|');
      // A buffer that holds each delivery two frames: no handle starts before it lets go.
      const runner = runPipeline(source, handleBy(handles), 2, { buffer: delay(2) });
      expectObservable(runner.settlements).toBe('--(AB)', settlements);
      expectSubscriptions(handles.a.subscriptions).toBe('--^!');
    });
  });

  it('never has more than `concurrency` handles subscribed: the third starts when the first ends', () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('  (abcd)', deliveries);
      const handles = sameTiming(cold, '---s|');
      const expected = '    ---(AB)(CD)';
      const aSubs = '       ^---!';
      const bSubs = '       ^---!';
      const cSubs = '       ----^---!';
      const dSubs = '       ----^---!';

      const runner = runPipeline(source, handleBy(handles), 2);

      expectObservable(runner.settlements).toBe(expected, settlements);
      expectSubscriptions(handles.a.subscriptions).toBe(aSubs);
      expectSubscriptions(handles.b.subscriptions).toBe(bSubs);
      expectSubscriptions(handles.c.subscriptions).toBe(cSubs);
      expectSubscriptions(handles.d.subscriptions).toBe(dSubs);
    });
  });

  it('starts each waiting delivery as soon as a worker frees up, in arrival order', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold(' abcd|', deliveries);
      const handles = sameTiming(cold, '---s|');
      const expected = '    ---AB--CD|';
      const aSubs = '       ^---!';
      const bSubs = '       -^---!';
      const cSubs = '       ----^---!';
      const dSubs = '       -----^---!';

      const runner = runPipeline(source, handleBy(handles), 2);

      expectObservable(runner.settlements).toBe(expected, settlements);
      expectSubscriptions(handles.a.subscriptions).toBe(aSubs);
      expectSubscriptions(handles.b.subscriptions).toBe(bSubs);
      expectSubscriptions(handles.c.subscriptions).toBe(cSubs);
      expectSubscriptions(handles.d.subscriptions).toBe(dSubs);
    });
  });

  it('emits settlements in completion order, not arrival order', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const source = cold('   (abcd)|', deliveries);
      const handles = {
        a: cold('             ------s|', { s: settlements.A }),
        b: cold('             -s|', { s: settlements.B }),
        c: cold('             ---s|', { s: settlements.C }),
        d: cold('             s|', { s: settlements.D }),
      };
      const expected = '      DB-C--A|';

      expectObservable(runPipeline(source, handleBy(handles), 4).settlements).toBe(expected, settlements);
    });
  });

  it('counts the deliveries waiting for a worker and those in flight, as seen inside the handle', () => {
    const seen: Array<[Name, Counts]> = [];
    marbleScheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('  (abcd)', deliveries);
      const handles = sameTiming(cold, '---s|');
      const expected = '    ---(AB)(CD)';

      // The runner only exists once the handle below is built, so the handle reads it lazily.
      const late: { counts?: RunnerCounts } = {};
      const inner = handleBy(handles);
      const runner = runPipeline(
        source,
        (delivery) => {
          const name = (Object.keys(deliveries) as Name[]).find((n) => deliveries[n] === delivery) as Name;
          seen.push([name, { waiting: late.counts?.waiting ?? NaN, inFlight: late.counts?.inFlight ?? NaN }]);
          return inner(delivery);
        },
        2,
      );
      late.counts = runner.counts;

      expectObservable(runner.settlements).toBe(expected, settlements);
    });
    expect(seen).to.deep.equal([
      // a and b arrive and start at once; c and d arrive in the same frame and wait.
      ['a', { waiting: 0, inFlight: 1 }],
      ['b', { waiting: 0, inFlight: 2 }],
      // a's end frees its worker for c (d still waits); b's end frees one for d.
      ['c', { waiting: 1, inFlight: 2 }],
      ['d', { waiting: 0, inFlight: 2 }],
    ]);
  });

  it('reports the counts between frames, and zero of each once everything settled', () => {
    const samples: Array<[number, Counts]> = [];
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, cold, expectObservable }) => {
      const source = hot('  (abcd)', deliveries);
      const handles = sameTiming(cold, '---s|');
      const expected = '    ---(AB)(CD)';

      const runner = runPipeline(source, handleBy(handles), 2);
      for (const frame of [1, 5, 9]) {
        scheduler.schedule(() => {
          samples.push([frame, { waiting: runner.counts.waiting, inFlight: runner.counts.inFlight }]);
        }, frame);
      }

      expectObservable(runner.settlements).toBe(expected, settlements);
    });
    expect(samples).to.deep.equal([
      // Frame 1: a and b running, c and d waiting for a worker.
      [1, { waiting: 2, inFlight: 2 }],
      // Frame 5: a and b ended at frame 4; c and d took their workers.
      [5, { waiting: 0, inFlight: 2 }],
      // Frame 9: c and d ended at frame 8.
      [9, { waiting: 0, inFlight: 0 }],
    ]);
  });

  it('counts a handle that ends with an error as no longer in flight', () => {
    let runner: ReturnType<typeof runPipeline> | undefined;
    const failure = new Error('handle broke');
    marbleScheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('                  a', deliveries);
      const handle = cold<Settlement>('     --#', undefined, failure);
      const expected = '                    --#';
      runner = runPipeline(source, () => handle, 1);
      expectObservable(runner.settlements).toBe(expected, undefined, failure);
    });
    expect({ waiting: runner?.counts.waiting, inFlight: runner?.counts.inFlight }).to.deep.equal({
      waiting: 0,
      inFlight: 0,
    });
  });

  it('drains a full buffer of handles that complete synchronously without overflowing the stack', async function () {
    this.timeout(20_000);
    const source = new Subject<Delivery>();
    const release = new Subject<void>();
    let settled = 0;
    let failure: unknown;
    // The first handle holds the only worker until `release`; the 20,000 behind it complete
    // synchronously, so all of them start from inside the first one's teardown.
    let first = true;
    const runner = runPipeline(
      source,
      (delivery) => {
        const settlement = of<Settlement>({ delivery, outcome: 'processed' });
        if (!first) return settlement;
        first = false;
        return release.pipe(
          take(1),
          switchMap(() => settlement),
        );
      },
      1,
    );
    runner.settlements.subscribe({
      next: () => (settled += 1),
      error: (error: unknown) => (failure = error),
    });
    for (let i = 0; i < 20_000; i++) source.next(makeDelivery({ offset: String(i) }));
    expect(runner.counts.waiting).to.equal(19_999);
    release.next();
    // Past a nesting limit the next start moves to a microtask; wait for the buffer to empty.
    for (let i = 0; i < 1000 && settled < 20_000 && failure === undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(failure).to.equal(undefined);
    expect(settled).to.equal(20_000);
    expect(runner.counts).to.include({ waiting: 0, inFlight: 0 });
  });
});

describe('runPipeline with a processing order', () => {
  const at = (partition: number, offset: string, key: string | null) =>
    makeDelivery({ partition, offset, key: key === null ? null : Buffer.from(key) });

  /** A handle that answers each delivery with the cold observable the table gives it. */
  function handleFrom(table: Map<Delivery, Observable<Settlement>>) {
    return (delivery: Delivery): Observable<Settlement> => {
      const handle = table.get(delivery);
      if (!handle) throw new Error(`unexpected delivery at offset ${delivery.offset}`);
      return handle;
    };
  }

  /** Cold handles with one timing, and the settlements they emit, named like the deliveries. */
  function coldHandles<N extends string>(
    cold: TestScheduler['createColdObservable'],
    marbles: string,
    named: Record<N, Delivery>,
  ) {
    const handles = {} as Record<N, ReturnType<typeof cold<Settlement>>>;
    const settled = {} as Record<string, Settlement>;
    for (const name of Object.keys(named) as N[]) {
      settled[name.toUpperCase()] = processed(named[name]);
      handles[name] = cold<Settlement>(marbles, { s: settled[name.toUpperCase()]! });
    }
    const table = new Map<Delivery, Observable<Settlement>>(
      (Object.keys(named) as N[]).map((name) => [named[name], handles[name]]),
    );
    return { handles, settled, handle: handleFrom(table) };
  }

  it("'key': one at a time per partition and key; other keys, the same key on another partition and the null key run alongside", () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const named = {
        a: at(0, '0', 'k1'),
        b: at(0, '1', 'k1'),
        c: at(1, '0', 'k1'),
        d: at(0, '2', 'k2'),
        e: at(0, '3', null),
        f: at(0, '4', null),
        g: at(0, '5', ''),
      };
      const source = hot('  (abcdefg)', named);
      const { handles, settled, handle } = coldHandles(cold, '-------s|', named);
      // The next of a lane starts with its predecessor's settlement.
      const expected = '    -------(ACDEG)(BF)';
      const firstSubs = '   ^-------!';
      const secondSubs = '  -------^-------!';

      const runner = runPipeline(source, handle, 10, { order: 'key' });

      expectObservable(runner.settlements).toBe(expected, settled);
      for (const name of ['a', 'c', 'd', 'e', 'g'] as const)
        expectSubscriptions(handles[name].subscriptions).toBe(firstSubs);
      // b waits for a (same partition and key); f for e (the null key is a key of its own).
      expectSubscriptions(handles.b.subscriptions).toBe(secondSubs);
      expectSubscriptions(handles.f.subscriptions).toBe(secondSubs);
    });
  });

  it("'partition': one at a time per topic-partition whatever the key; partitions run alongside", () => {
    marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const named = {
        a: at(0, '0', 'k1'),
        b: at(0, '1', 'k2'),
        c: at(1, '0', 'k1'),
        d: makeDelivery({ topic: 'other', partition: 0, offset: '0', key: Buffer.from('k1') }),
      };
      const source = hot('  (abcd)', named);
      const { handles, settled, handle } = coldHandles(cold, '-----s|', named);
      const expected = '    -----(ACD)B';
      const firstSubs = '   ^-----!';
      const secondSubs = '  -----^-----!';

      const runner = runPipeline(source, handle, 10, { order: 'partition' });

      expectObservable(runner.settlements).toBe(expected, settled);
      expectSubscriptions(handles.a.subscriptions).toBe(firstSubs);
      // b waits for a: same partition, although another key.
      expectSubscriptions(handles.b.subscriptions).toBe(secondSubs);
      expectSubscriptions(handles.c.subscriptions).toBe(firstSubs);
      expectSubscriptions(handles.d.subscriptions).toBe(firstSubs);
    });
  });

  for (const order of ['key', 'partition'] as const) {
    it(`'${order}': never runs more than \`concurrency\` handles, and counts waiting and in-flight deliveries`, () => {
      const samples: Array<[number, Counts]> = [];
      const scheduler = marbleScheduler();
      scheduler.run(({ hot, cold, expectObservable }) => {
        // Four lanes (a, c, d, e) and one delivery (b) behind a, with two workers.
        const named = {
          a: at(0, '0', 'k1'),
          b: at(0, '1', 'k1'),
          c: at(1, '0', 'k1'),
          d: at(2, '0', 'k1'),
          e: at(3, '0', 'k1'),
        };
        const source = hot('  (abcde)', named);
        const { settled, handle } = coldHandles(cold, '---s|', named);
        // a and c first; at 4 d (ready before a's lane came back) and e; at 8 b.
        const expected = '    ---(AC)(DE)B';

        const runner = runPipeline(source, handle, 2, { order });
        for (const frame of [1, 5, 9, 13]) {
          scheduler.schedule(() => {
            samples.push([frame, { waiting: runner.counts.waiting, inFlight: runner.counts.inFlight }]);
          }, frame);
        }

        expectObservable(runner.settlements).toBe(expected, settled);
      });
      expect(samples).to.deep.equal([
        [1, { waiting: 3, inFlight: 2 }],
        [5, { waiting: 1, inFlight: 2 }],
        [9, { waiting: 0, inFlight: 1 }],
        [13, { waiting: 0, inFlight: 0 }],
      ]);
    });

    it(`'${order}': drains a full buffer of handles that complete synchronously without overflowing the stack`, async function () {
      this.timeout(20_000);
      const source = new Subject<Delivery>();
      const release = new Subject<void>();
      let settled = 0;
      let failure: unknown;
      let first = true;
      const runner = runPipeline(
        source,
        (delivery) => {
          const settlement = of<Settlement>({ delivery, outcome: 'processed' });
          if (!first) return settlement;
          first = false;
          return release.pipe(
            take(1),
            switchMap(() => settlement),
          );
        },
        1,
        { order },
      );
      runner.settlements.subscribe({
        next: () => (settled += 1),
        error: (error: unknown) => (failure = error),
      });
      // A few partitions and keys: most deliveries wait behind a busy lane, some in ready lanes.
      for (let i = 0; i < 20_000; i++) {
        source.next(makeDelivery({ partition: i % 3, offset: String(i), key: Buffer.from(`k${i % 7}`) }));
      }
      expect(runner.counts).to.include({ waiting: 19_999, inFlight: 1 });
      release.next();
      for (let i = 0; i < 1000 && settled < 20_000 && failure === undefined; i++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(failure).to.equal(undefined);
      expect(settled).to.equal(20_000);
      expect(runner.counts).to.include({ waiting: 0, inFlight: 0 });
    });
  }

  it("'unordered' (the default) starts deliveries of one key alongside each other", () => {
    marbleScheduler().run(({ hot, cold, expectObservable }) => {
      const named = { a: at(0, '0', 'k1'), b: at(0, '1', 'k1') };
      const source = hot('  (ab)', named);
      const { settled, handle } = coldHandles(cold, '---s|', named);

      expectObservable(runPipeline(source, handle, 10, { order: 'unordered' }).settlements).toBe(
        '---(AB)',
        settled,
      );
    });
  });

  describe('workers that hand on a pending settlement (writes still unacknowledged)', () => {
    /** Each delivery's worker is done after a frame and hands on a settlement due 4 frames later. */
    function pendingHandles(cold: TestScheduler['createColdObservable']) {
      const pending = (settlement: Settlement) =>
        cold<WorkerResult>('-(p|)', { p: cold('----s|', { s: settlement }) });
      const handles = { a: pending(settlements.A), b: pending(settlements.B) };
      return { handles, handle: (delivery: Delivery) => (delivery === deliveries.a ? handles.a : handles.b) };
    }

    it("'unordered': a worker takes the next message while the previous one waits for its acknowledgement", () => {
      marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const source = hot('  (ab)', { a: deliveries.a, b: deliveries.b });
        const { handles, handle } = pendingHandles(cold);

        const runner = runPipeline(source, handle, 1);

        expectObservable(runner.settlements).toBe('-----AB', settlements);
        expectSubscriptions(handles.a.subscriptions).toBe('^!');
        expectSubscriptions(handles.b.subscriptions).toBe('-^!');
      });
    });

    for (const order of ['key', 'partition'] as const) {
      it(`'${order}': a message holds its lane until it settled, so the next of the lane starts after`, () => {
        marbleScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
          // Same partition and key: one lane in either mode.
          const source = hot('  (ab)', { a: deliveries.a, b: deliveries.b });
          const { handles, handle } = pendingHandles(cold);

          const runner = runPipeline(source, handle, 10, { order });

          expectObservable(runner.settlements).toBe('-----A----B', settlements);
          expectSubscriptions(handles.a.subscriptions).toBe('^!');
          // The lane frees with a's settlement, not before.
          expectSubscriptions(handles.b.subscriptions).toBe('-----^!');
        });
      });
    }
  });
});
