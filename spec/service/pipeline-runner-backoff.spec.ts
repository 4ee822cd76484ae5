import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { map, type Observable, tap } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { process } from '../../lib/operators/process.js';
import type { Delivery } from '../../lib/core/delivery.js';
import { handleMessage, type DeadLetterWriter, type Settlement } from '../../lib/core/handle-message.js';
import { runPipeline, type RunnerCounts, type RunnerOptions } from '../../lib/service/pipeline-runner.js';
import { makeDelivery } from '../operators/support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

/** Retries after exactly 10, 20 and 40 frames. */
const RETRY = { maxAttempts: 3, baseDelayMs: 10, multiplier: 2, maxDelayMs: 1000, jitter: 0 };

const neverCalled: DeadLetterWriter = () => {
  throw new Error('the dead-letter writer must not be called');
};

/**
 * The service's per-message machinery (handleMessage with a process() step) over deliveries
 * named by their offsets, each attempt of each one running the next of its scripted
 * Observables. Records when each attempt starts and how many run at once.
 */
function scriptedPipeline(
  scheduler: TestScheduler,
  scripts: Record<string, Array<Observable<unknown>>>,
  concurrency: number,
  options: RunnerOptions = {},
) {
  const starts: Array<[string, number]> = [];
  const running = { now: 0, max: 0 };
  const made = new Map<string, number>();
  const chain = process(
    (_event: unknown, delivery: Delivery) => {
      const name = delivery.offset;
      const attempt = made.get(name) ?? 0;
      made.set(name, attempt + 1);
      const script = scripts[name]?.[attempt];
      if (!script) throw new Error(`no attempt ${attempt + 1} scripted for ${name}`);
      starts.push([name, scheduler.now()]);
      running.now += 1;
      running.max = Math.max(running.max, running.now);
      // Over when it fails or completes, before whatever that sets off downstream.
      const over = () => (running.now -= 1);
      return script.pipe(tap({ error: over, complete: over, unsubscribe: over }));
    },
    { retry: RETRY },
  );
  return {
    starts,
    running,
    run: (deliveries: Observable<Delivery>) =>
      runPipeline(deliveries, handleMessage(chain, neverCalled), concurrency, options),
  };
}

const named = (offset: string, key = 'k1', signal?: AbortSignal, partition = 0) =>
  makeDelivery({ offset, key: Buffer.from(key), partition, ...(signal ? { signal } : {}) });

/** Settlements as `<offset>:<outcome>` (the deliveries are named by their offsets). */
const byName = (settlements: Observable<Settlement>) =>
  settlements.pipe(map(({ delivery, outcome }) => `${delivery.offset}:${outcome}`));

const settledAs = (...names: string[]) =>
  Object.fromEntries(names.map((name) => [name.toUpperCase(), `${name}:processed`]));

describe('runPipeline: a message waiting out a retry backoff', () => {
  it('holds no worker: with one worker, another message is processed during the backoff', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, cold, expectObservable }) => {
      const pipeline = scriptedPipeline(
        scheduler,
        { a: [cold('--#'), cold('--(s|)')], b: [cold('--(s|)')] },
        1,
      );
      const source = hot('(ab)', { a: named('a'), b: named('b') });
      // a fails at 2 and waits until 12; b takes the worker at 2 and is done at 4.
      expectObservable(byName(pipeline.run(source).settlements)).toBe('----B---------A', settledAs('a', 'b'));
    });
  });

  it('takes a worker again for its next attempt, in line behind the messages already waiting', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, cold, expectObservable }) => {
      const scripts = { a: [cold('--#'), cold('--(s|)')], b: [cold('20ms (s|)')], c: [cold('--(s|)')] };
      const scripted = scriptedPipeline(scheduler, scripts, 1);
      // a's backoff ends at 12 while b holds the worker until 22; c arrives at 15, behind a.
      const source = hot('(ab) 11ms - c', { a: named('a'), b: named('b'), c: named('c') });
      const expected = '  22ms B-A-C';
      expectObservable(byName(scripted.run(source).settlements)).toBe(expected, settledAs('a', 'b', 'c'));
      scheduler.schedule(() => {
        expect(scripted.starts).to.deep.equal([
          ['a', 0],
          ['b', 2],
          ['a', 22],
          ['c', 24],
        ]);
      }, 100);
    });
  });

  it("in 'key' order keeps its lane: a later message of its key waits for it, one of another key does not", () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, cold, expectObservable }) => {
      const scripts = { a: [cold('--#'), cold('--(s|)')], b: [cold('--(s|)')], c: [cold('--(s|)')] };
      const pipeline = scriptedPipeline(scheduler, scripts, 1, { order: 'key' });
      const source = hot('(abc)', { a: named('a', 'k1'), b: named('b', 'k1'), c: named('c', 'k2') });
      // c (key k2) runs during a's backoff; b (key k1, like a) starts only once a settled at 14.
      const expected = '  ----C---------A-B';
      expectObservable(byName(pipeline.run(source).settlements)).toBe(expected, settledAs('a', 'b', 'c'));
      scheduler.schedule(() => {
        expect(pipeline.starts).to.deep.equal([
          ['a', 0],
          ['c', 2],
          ['a', 12],
          ['b', 14],
        ]);
      }, 100);
    });
  });

  for (const order of ['unordered', 'key', 'partition'] as const) {
    it(`'${order}': never runs more than \`concurrency\` attempts at once, with retries coming back`, () => {
      const scheduler = marbleScheduler();
      const settled: string[] = [];
      const inFlight: number[] = [];
      let pipeline: ReturnType<typeof scriptedPipeline> | undefined;
      scheduler.run(({ hot, cold }) => {
        // Twelve messages on six keys and partitions, each failing its first attempt after 1-6 frames.
        const names = 'abcdefghijkl'.split('');
        const scripts = Object.fromEntries(
          names.map((name, i) => [
            name,
            [cold(`${'-'.repeat(1 + (i % 6))}#`), cold(`${'-'.repeat(1 + (i % 4))}(s|)`)],
          ]),
        );
        pipeline = scriptedPipeline(scheduler, scripts, 3, { order });
        const deliveries = Object.fromEntries(
          names.map((name, i) => [name, named(name, `k${i % 6}`, undefined, i % 6)]),
        );
        const source = hot('(abcdef)--(ghijkl)', deliveries);
        const runner = pipeline.run(source);
        runner.settlements.subscribe(({ delivery }) => settled.push(delivery.offset));
        for (let frame = 0; frame < 200; frame++)
          scheduler.schedule(() => inFlight.push(runner.counts.inFlight), frame);
      });
      expect(settled).to.have.members('abcdefghijkl'.split(''));
      expect(pipeline!.starts).to.have.length(24);
      expect(pipeline!.running.max).to.equal(3);
      expect(Math.max(...inFlight)).to.equal(3);
      expect(inFlight.at(-1)).to.equal(0);
    });
  }

  it('counts it as in backoff: neither waiting for a first start nor in flight', () => {
    const scheduler = marbleScheduler();
    const samples: Array<[number, RunnerCounts]> = [];
    scheduler.run(({ hot, cold, expectObservable }) => {
      const pipeline = scriptedPipeline(
        scheduler,
        { a: [cold('--#'), cold('--(s|)')], b: [cold('-----(s|)')] },
        1,
      );
      const source = hot('(ab)', { a: named('a'), b: named('b') });
      const runner = pipeline.run(source);
      for (const frame of [1, 5, 10, 13, 20]) {
        scheduler.schedule(() => samples.push([frame, { ...runner.counts }]), frame);
      }
      expectObservable(byName(runner.settlements)).toBe('-------B------A', settledAs('a', 'b'));
    });
    expect(samples).to.deep.equal([
      [1, { waiting: 1, inFlight: 1, inBackoff: 0 }],
      [5, { waiting: 0, inFlight: 1, inBackoff: 1 }],
      [10, { waiting: 0, inFlight: 0, inBackoff: 1 }],
      [13, { waiting: 0, inFlight: 1, inBackoff: 0 }],
      [20, { waiting: 0, inFlight: 0, inBackoff: 0 }],
    ]);
  });

  it('completes only once a message in backoff settled, after the source completed', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const pipeline = scriptedPipeline(scheduler, { a: [cold('--#'), cold('--(s|)')] }, 1);
      const source = cold('a|', { a: named('a') });
      expectObservable(byName(pipeline.run(source).settlements)).toBe('14ms (A|)', settledAs('a'));
    });
  });

  it('abandons it when its partition is revoked during the backoff, handing that on in a turn of its own', () => {
    const scheduler = marbleScheduler();
    const controller = new AbortController();
    let counts: RunnerCounts | undefined;
    let inBackoffAt6: number | undefined;
    scheduler.run(({ hot, cold, expectObservable }) => {
      const pipeline = scriptedPipeline(scheduler, { a: [cold('--#')], b: [cold('10ms (s|)')] }, 1);
      const source = hot('(ab)', { a: named('a', 'k1', controller.signal), b: named('b') });
      scheduler.schedule(() => controller.abort(), 5);
      const runner = pipeline.run(source);
      counts = runner.counts;
      // a's retry stops at 5 (it has no second attempt scripted); b holds the only worker
      // until 12, and a's settlement follows in the next turn.
      expectObservable(byName(runner.settlements)).toBe('12ms (BA)', {
        A: 'a:abandoned',
        B: 'b:processed',
      });
      scheduler.schedule(() => (inBackoffAt6 = runner.counts.inBackoff), 6);
    });
    expect(inBackoffAt6).to.equal(0);
    expect(counts).to.include({ waiting: 0, inFlight: 0, inBackoff: 0 });
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  for (const [when, unsubscribeAt] of [
    ['during the backoff', 5],
    ['while it waits for a worker after the backoff', 20],
  ] as const) {
    it(`leaves no timer, listener or request behind when unsubscribed ${when}`, () => {
      const scheduler = marbleScheduler();
      const controller = new AbortController();
      let pipeline: ReturnType<typeof scriptedPipeline> | undefined;
      let counts: RunnerCounts | undefined;
      scheduler.run(({ hot, cold, expectObservable }) => {
        pipeline = scriptedPipeline(
          scheduler,
          { a: [cold('--#'), cold('--(s|)')], b: [cold('30ms (s|)')] },
          1,
        );
        const source = hot('(ab)', { a: named('a', 'k1', controller.signal), b: named('b') });
        const runner = pipeline.run(source);
        counts = runner.counts;
        expectObservable(byName(runner.settlements), `${unsubscribeAt}ms !`).toBe('-');
      });
      // a's second attempt never ran: its backoff timer, or its place in line, went with it.
      expect(pipeline!.starts).to.deep.equal([
        ['a', 0],
        ['b', 2],
      ]);
      expect(pipeline!.running.now).to.equal(0);
      expect(counts).to.include({ inFlight: 0, inBackoff: 0 });
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });
  }

  it('leaves nothing behind when unsubscribed during the backoff after the source completed', () => {
    const scheduler = marbleScheduler();
    const controller = new AbortController();
    let pipeline: ReturnType<typeof scriptedPipeline> | undefined;
    scheduler.run(({ cold, expectObservable }) => {
      pipeline = scriptedPipeline(scheduler, { a: [cold('--#'), cold('--(s|)')] }, 1);
      const source = cold('a|', { a: named('a', 'k1', controller.signal) });
      expectObservable(byName(pipeline.run(source).settlements), '5ms !').toBe('-');
    });
    expect(pipeline!.starts).to.deep.equal([['a', 0]]);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });
});
