import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import {
  EMPTY,
  lastValueFrom,
  map,
  type Observable,
  of,
  type OperatorFunction,
  tap,
  VirtualTimeScheduler,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PermanentError, StageError } from '../../lib/core/errors.js';
import { process, processOne, type ProcessOptions } from '../../lib/operators/process.js';
import { withEvent, type Delivery, type DeliveryHooks, type WorkerSlot } from '../../lib/core/delivery.js';
import { makeDelivery } from './support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

const boom = new Error('boom');
/** random() = 0.5 means no jitter: the default delays are exactly 100, 200 and 400 ms. */
const noJitter: ProcessOptions = { random: () => 0.5 };

/** The error process() fails with once `cause` failed every one of `attempts` attempts. */
function failed(attempts: number, cause: Error = boom): StageError {
  const plural = attempts === 1 ? '' : 's';
  return new StageError(`process failed after ${attempts} attempt${plural}: ${cause.message}`, {
    stage: 'process',
    code: 'PROCESS_FAILED',
    retriable: true,
    attempts,
    cause,
  });
}

/** The error process() fails with when attempt number `attempt` failed permanently with `cause`. */
function rejected(attempt: number, cause: Error): StageError {
  return new StageError(`process rejected the event on attempt ${attempt}: ${cause.message}`, {
    stage: 'process',
    code: 'PROCESS_REJECTED',
    retriable: false,
    attempts: attempt,
    cause,
  });
}

/** The error process() fails with when a revocation stopped its retries; `cause` failed the last attempt. */
function revoked(attempts: number, cause: Error = boom): StageError {
  const plural = attempts === 1 ? '' : 's';
  return new StageError(`partition revoked after ${attempts} attempt${plural}`, {
    stage: 'process',
    code: 'REVOKED',
    retriable: false,
    attempts,
    cause,
  });
}

/** The error process() fails with once the last of `attempts` attempts ran past `timeoutMs`. */
function timedOut(attempts: number, timeoutMs: number): StageError {
  const plural = attempts === 1 ? '' : 's';
  const cause = Object.assign(new Error(`timed out after ${timeoutMs} ms`), { name: 'AttemptTimedOut' });
  return new StageError(`process failed after ${attempts} attempt${plural}: ${cause.message}`, {
    stage: 'process',
    code: 'PROCESS_TIMEOUT',
    retriable: true,
    attempts,
    cause,
  });
}

type HookCall = [hook: 'onRetry' | 'onRetryExhausted', at: number, ...args: unknown[]];

/** Hooks that record each call with the (virtual) time it happened at. */
function recordingHooks(now: () => number): { hooks: DeliveryHooks; calls: HookCall[] } {
  const calls: HookCall[] = [];
  const hooks: DeliveryHooks = {
    onRetry: (attempt, error, delayMs) => calls.push(['onRetry', now(), attempt, error, delayMs]),
    onRetryExhausted: (attempts, error) => calls.push(['onRetryExhausted', now(), attempts, error]),
  };
  return { hooks, calls };
}

describe('process', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = marbleScheduler();
  });

  describe('for one delivery (processOne)', () => {
    it('runs nothing before subscribe, then retries like the operator and emits the processed delivery', () => {
      let calls = 0;
      const a = makeDelivery({ event: 'a' });
      const runs = processOne(
        (event: string) => {
          if (++calls < 3) throw new Error('transient');
          return event.toUpperCase();
        },
        { ...noJitter, scheduler: testScheduler },
      )(a);
      expect(calls, 'before subscribe').to.equal(0);
      testScheduler.run(({ expectObservable }) => {
        // Fails at 0 and after 100 ms; the third run, 200 ms after that, succeeds.
        expectObservable(runs).toBe('300ms (x|)', { x: withEvent(a, 'A') });
      });
      expect(calls).to.equal(3);
    });
  });

  describe('as an operator', () => {
    const a = makeDelivery({ event: 'a' });
    const b = makeDelivery({ event: 'b' });
    const c = makeDelivery({ event: 'c' });
    const values = { a, b, c };

    it('completes when the source completes empty, never calling fn', () => {
      let calls = 0;
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Delivery<string>>('|');
        const e1subs = '    (^!)';
        const expected = '  |';
        expectObservable(e1.pipe(process(() => calls++))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
      expect(calls).to.equal(0);
    });

    it('never emits when the source never does', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Delivery<string>>('-');
        const e1subs = '    ^';
        const expected = '  -';
        expectObservable(e1.pipe(process((event: string) => event))).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it("replaces one delivery's event with fn's value", () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold('   -a|', values);
        const e1subs = '    ^-!';
        const expected = '  -x|';
        expectObservable(e1.pipe(process((event: string) => event.toUpperCase()))).toBe(expected, {
          x: withEvent(a, 'A'),
        });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('processes many deliveries one at a time, in order', () => {
      testScheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const e1 = hot('    -a-b-c-|', values);
        const e1subs = '    ^------!';
        const work = cold('   --r|');
        const workSubs = [' -^--!', '----^--!', '-------^--!'];
        const expected = '  ----x--y--(z|)';
        const result = e1.pipe(process((event: string) => work.pipe(map((r) => `${event}:${r}`))));
        expectObservable(result).toBe(expected, {
          x: withEvent(a, 'a:r'),
          y: withEvent(b, 'b:r'),
          z: withEvent(c, 'c:r'),
        });
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
        expectSubscriptions(work.subscriptions).toBe(workSubs);
      });
    });

    it('passes an error from upstream through untouched', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-#', values, new Error('upstream'));
        const e1subs = '  ^--!';
        const expected = '-x-#';
        const result = e1.pipe(process((event: string) => event.toUpperCase()));
        expectObservable(result).toBe(expected, { x: withEvent(a, 'A') }, new Error('upstream'));
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('stops a running attempt at an early unsubscribe', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold('   (a|)', values);
        const work = cold(' ----r|');
        const workSubs = '  ^-!';
        const unsub = '     --!';
        const expected = '  --';
        expectObservable(e1.pipe(process(() => work)), unsub).toBe(expected);
        expectSubscriptions(work.subscriptions).toBe(workSubs);
      });
    });

    it('does nothing before subscribe', () => {
      let calls = 0;
      const processed = of(a).pipe(process(() => calls++));
      expect(calls).to.equal(0);
      processed.subscribe();
      expect(calls).to.equal(1);
    });

    it('hands fn the event and the delivery', () => {
      const seen: unknown[] = [];
      of(a)
        .pipe(process((event, delivery) => void seen.push(event, delivery)))
        .subscribe();
      expect(seen).to.deep.equal(['a', a]);
      expect(seen[1]).to.equal(a);
    });
  });

  describe('results', () => {
    const d = makeDelivery({ event: { id: 1 } });
    const run = <R>(fn: () => R | Promise<R> | Observable<R>) => lastValueFrom(of(d).pipe(process(fn)));

    it('keeps the delivery as it is when fn gives undefined', async () => {
      expect(await run(() => undefined)).to.equal(d);
      expect(await run(async () => undefined)).to.equal(d);
    });

    it('takes null, falsy values and arrays as the new event, unflattened', async () => {
      expect((await run(() => null)).event).to.equal(null);
      expect((await run(() => 0)).event).to.equal(0);
      expect((await run(() => [1, 2])).event).to.deep.equal([1, 2]);
    });

    it('awaits a Promise', async () => {
      const out = await run(async () => ({ enriched: true }));
      expect(out).to.deep.equal(withEvent(d, { enriched: true }));
    });

    it('uses the last value of an Observable, and keeps the event when it is empty', async () => {
      expect((await run(() => of('first', 'last'))).event).to.equal('last');
      expect(await lastValueFrom(of(d).pipe(process(() => EMPTY)))).to.equal(d);
    });

    it('never mutates the incoming delivery', async () => {
      await run(() => 'new');
      expect(d.event).to.deep.equal({ id: 1 });
    });

    it('infers the type of the new event', () => {
      const replaced: OperatorFunction<Delivery<number>, Delivery<string>> = process((n: number) =>
        String(n),
      );
      const kept: OperatorFunction<Delivery<number>, Delivery<number>> = process(async (_n: number) => {});
      const maybe: OperatorFunction<Delivery<number>, Delivery<number | string>> = process((n: number) =>
        n > 0 ? 'positive' : undefined,
      );
      const fromObservable: OperatorFunction<Delivery<number>, Delivery<string>> = process((n: number) =>
        of(String(n)),
      );
      const inferred = of(makeDelivery({ event: 41 })).pipe(process((n) => n + 1));
      let answer = 0;
      inferred.subscribe((out) => (answer = out.event));
      expect([replaced, kept, maybe, fromObservable]).to.have.length(4);
      expect(answer).to.equal(42);
    });
  });

  describe('retries', () => {
    it('retries after 100, 200 and 400 ms by default, then fails at 700 ms: fn runs 4 times', () => {
      let calls = 0;
      let final: unknown;
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold('      (a|)', { a: makeDelivery({ event: 1, hooks }) });
        const attempt = cold(' #', undefined, boom);
        const attemptSubs = [
          '                    (^!)',
          '                    100ms (^!)',
          '                    300ms (^!)',
          '                    700ms (^!)',
        ];
        const expected = '     - 99ms - 199ms - 399ms #';
        const result = e1.pipe(
          process(() => (calls++, attempt), noJitter),
          tap({ error: (error: unknown) => (final = error) }),
        );
        expectObservable(result).toBe(expected, undefined, failed(4));
        expectSubscriptions(attempt.subscriptions).toBe(attemptSubs);
      });
      expect(calls).to.equal(4);
      expect(final).to.include({ stage: 'process', code: 'PROCESS_FAILED', retriable: true, attempts: 4 });
      expect((final as Error).cause).to.equal(boom);
      expect(hookCalls).to.deep.equal([
        ['onRetry', 0, 1, boom, 100],
        ['onRetry', 100, 2, boom, 200],
        ['onRetry', 300, 3, boom, 400],
        ['onRetryExhausted', 700, 4, boom],
      ]);
    });

    it('succeeds on the 3rd attempt, emitting only what the successful attempt gave', () => {
      let calls = 0;
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      const d = makeDelivery({ event: 1, hooks });
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold('          (a|)', { a: d });
        const failing = cold('     p#', { p: 'partial' }, boom);
        const failingSubs = ['     ^!', '101ms ^!'];
        const succeeding = cold('  --r|', { r: 'ok' });
        const succeedingSubs = '   302ms ^--!';
        const expected = '         305ms (x|)';
        const result = e1.pipe(process(() => (++calls < 3 ? failing : succeeding), noJitter));
        expectObservable(result).toBe(expected, { x: withEvent(d, 'ok') });
        expectSubscriptions(failing.subscriptions).toBe(failingSubs);
        expectSubscriptions(succeeding.subscriptions).toBe(succeedingSubs);
      });
      expect(calls).to.equal(3);
      expect(hookCalls.map(([hook, at, attempt]) => [hook, at, attempt])).to.deep.equal([
        ['onRetry', 1, 1],
        ['onRetry', 102, 2],
      ]);
    });

    it('takes RETRY_MAX_ATTEMPTS as the number of retries: 0 runs fn once', () => {
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold('      (a|)', { a: makeDelivery({ event: 1, hooks }) });
        const attempt = cold(' -#', undefined, boom);
        const expected = '     -#';
        const result = e1.pipe(process(() => attempt, { ...noJitter, retry: { maxAttempts: 0 } }));
        expectObservable(result).toBe(expected, undefined, failed(1));
        expectSubscriptions(attempt.subscriptions).toBe('^!');
      });
      expect(hookCalls).to.deep.equal([['onRetryExhausted', 1, 1, boom]]);
    });

    it('caps the delay: base 1000, max 1500 waits 1000, 1500, 1500', () => {
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold('      (a|)', { a: makeDelivery({ event: 1, hooks }) });
        const attempt = cold(' #', undefined, boom);
        const attemptSubs = ['(^!)', '1000ms (^!)', '2500ms (^!)', '4000ms (^!)'];
        const expected = '     4000ms #';
        const options = { ...noJitter, retry: { baseDelayMs: 1000, maxDelayMs: 1500 } };
        expectObservable(e1.pipe(process(() => attempt, options))).toBe(expected, undefined, failed(4));
        expectSubscriptions(attempt.subscriptions).toBe(attemptSubs);
      });
      expect(hookCalls.filter(([hook]) => hook === 'onRetry').map((call) => call[4])).to.deep.equal([
        1000, 1500, 1500,
      ]);
    });

    it('jitters each delay within ±20 %: random 0 gives 80, 160, 320; random 1 gives 120, 240, 480', () => {
      for (const [random, subs, at] of [
        [0, ['(^!)', '80ms (^!)', '240ms (^!)', '560ms (^!)'], '560ms #'],
        [1, ['(^!)', '120ms (^!)', '360ms (^!)', '840ms (^!)'], '840ms #'],
      ] as const) {
        testScheduler = marbleScheduler();
        testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
          const attempt = cold('#', undefined, boom);
          const result = cold('(a|)', { a: makeDelivery({ event: 1 }) }).pipe(
            process(() => attempt, { random: () => random }),
          );
          expectObservable(result).toBe(at, undefined, failed(4));
          expectSubscriptions(attempt.subscriptions).toBe([...subs]);
        });
      }
    });

    it('keeps random delays within the jitter bounds', () => {
      const delays: number[] = [];
      const hooks: DeliveryHooks = {
        onRetry: (_attempt, _error, delayMs) => delays.push(delayMs),
        onRetryExhausted: () => undefined,
      };
      for (let i = 0; i < 50; i++) {
        new TestScheduler(() => undefined).run(({ cold }) => {
          cold('(a|)', { a: makeDelivery({ event: 1, hooks }) })
            .pipe(process(() => cold('#')))
            .subscribe({ error: () => undefined });
        });
      }
      expect(delays).to.have.length(150);
      delays.forEach((ms, i) => {
        const raw = [100, 200, 400][i % 3] as number;
        expect(ms).to.be.within(raw * 0.8, raw * 1.2);
      });
    });

    it('runs its timers on the given scheduler', () => {
      const scheduler = new VirtualTimeScheduler();
      const calledAt: number[] = [];
      let final: unknown;
      of(makeDelivery({ event: 1 }))
        .pipe(
          process(
            () => {
              calledAt.push(scheduler.now());
              throw boom;
            },
            { ...noJitter, scheduler },
          ),
        )
        .subscribe({ error: (error: unknown) => (final = error) });
      expect(calledAt).to.deep.equal([0]);
      scheduler.flush();
      expect(calledAt).to.deep.equal([0, 100, 300, 700]);
      expect(final).to.include({ code: 'PROCESS_FAILED', attempts: 4 });
    });

    it('retries a rejected Promise on real timers', async () => {
      let calls = 0;
      const fn = async () => {
        if (++calls < 3) throw boom;
        return 'ok';
      };
      const options = { retry: { baseDelayMs: 1, jitter: 0 } };
      const out = await lastValueFrom(of(makeDelivery({ event: 1 })).pipe(process(fn, options)));
      expect(out.event).to.equal('ok');
      expect(calls).to.equal(3);
    });

    it('stops waiting at an early unsubscribe during the backoff', () => {
      let calls = 0;
      const d = makeDelivery({ event: 1 });
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const attempt = cold(' #', undefined, boom);
        const unsub = '        250ms !';
        const expected = '     -';
        const result = cold('(a|)', { a: d }).pipe(process(() => (calls++, attempt), noJitter));
        expectObservable(result, unsub).toBe(expected);
        expectSubscriptions(attempt.subscriptions).toBe(['(^!)', '100ms (^!)']);
      });
      expect(calls).to.equal(2);
      expect(getEventListeners(d.signal, 'abort')).to.have.length(0);
    });
  });

  describe('worker slot', () => {
    /** A slot that records releases and requests, granting each request as `grant` says. */
    function recordingSlot(grant: Observable<void>) {
      const log: Array<[string, number]> = [];
      const worker: WorkerSlot = {
        release: () => log.push(['release', testScheduler.now()]),
        reacquire: () => {
          log.push(['reacquire', testScheduler.now()]);
          return grant;
        },
      };
      return { worker, log };
    }

    it('gives the slot back for the backoff and retries once a slot is granted again', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const grant = cold<void>('30ms (g|)', { g: undefined });
        const { worker, log } = recordingSlot(grant);
        const d = makeDelivery({ event: 1, worker });
        let calls = 0;
        const attempts = [cold(' #', undefined, boom), cold('5ms (r|)', { r: 'ok' })];
        const result = cold('(a|)', { a: d }).pipe(process(() => attempts[calls++]!, noJitter));
        // Fails at 0, waits 100 ms without the slot, then 30 ms for a slot; runs 5 ms.
        expectObservable(result.pipe(map((out) => out.event))).toBe('135ms (r|)', { r: 'ok' });
        expectSubscriptions(grant.subscriptions).toBe('100ms ^ 29ms !');
        expectSubscriptions(attempts[1]!.subscriptions).toBe('130ms ^ 4ms !');
        testScheduler.schedule(() => {
          expect(log).to.deep.equal([
            ['release', 0],
            ['reacquire', 100],
          ]);
        }, 200);
      });
    });

    it('keeps the slot when the attempt succeeds', () => {
      const { worker, log } = recordingSlot(of(undefined));
      testScheduler.run(({ cold, expectObservable }) => {
        const d = makeDelivery({ event: 1, worker });
        const result = cold('(a|)', { a: d }).pipe(process(() => cold('-(r|)', { r: 2 }), noJitter));
        expectObservable(result.pipe(map((out) => out.event))).toBe('-(r|)', { r: 2 });
      });
      expect(log).to.deep.equal([]);
    });

    it('withdraws its request for a slot at an early unsubscribe', () => {
      let calls = 0;
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const grant = cold<void>('50ms (g|)', { g: undefined });
        const d = makeDelivery({ event: 1, worker: recordingSlot(grant).worker });
        const result = cold('(a|)', { a: d }).pipe(
          process(() => (calls++, cold('#', undefined, boom)), noJitter),
        );
        expectObservable(result, '120ms !').toBe('-');
        expectSubscriptions(grant.subscriptions).toBe('100ms ^ 19ms !');
      });
      expect(calls).to.equal(1);
    });

    it('fails REVOKED at once when the signal aborts while it waits for a slot, withdrawing the request', () => {
      let calls = 0;
      const controller = new AbortController();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const grant = cold<void>('50ms (g|)', { g: undefined });
        const d = makeDelivery({ event: 1, signal: controller.signal, worker: recordingSlot(grant).worker });
        const result = cold('(a|)', { a: d }).pipe(
          process(() => (calls++, cold('#', undefined, boom)), noJitter),
        );
        testScheduler.schedule(() => controller.abort(), 120);
        expectObservable(result).toBe('120ms #', undefined, revoked(1));
        expectSubscriptions(grant.subscriptions).toBe('100ms ^ 19ms !');
      });
      expect(calls).to.equal(1);
      expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
    });
  });

  describe('permanent errors', () => {
    for (const [name, error] of [
      ['a PermanentError', new PermanentError('no such account')],
      ['a TypeError', new TypeError('cannot read properties of undefined')],
    ] as const) {
      it(`fails at once on ${name}: fn runs once, no hook is called`, () => {
        let calls = 0;
        let final: unknown;
        const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
        testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
          const e1 = cold('      (a|)', { a: makeDelivery({ event: 1, hooks }) });
          const attempt = cold(' --#', undefined, error);
          const expected = '     --#';
          const result = e1.pipe(
            process(() => (calls++, attempt), noJitter),
            tap({ error: (e: unknown) => (final = e) }),
          );
          expectObservable(result).toBe(expected, undefined, rejected(1, error));
          expectSubscriptions(attempt.subscriptions).toBe('^-!');
        });
        expect(calls).to.equal(1);
        expect(hookCalls).to.deep.equal([]);
        expect(final).to.include({
          stage: 'process',
          code: 'PROCESS_REJECTED',
          retriable: false,
          attempts: 1,
        });
        expect((final as Error).cause).to.equal(error);
      });
    }

    it('stops retrying when a later attempt fails permanently', () => {
      let calls = 0;
      const nope = new PermanentError('nope');
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', { a: makeDelivery({ event: 1 }) }).pipe(
          process(() => (++calls === 1 ? cold('#', undefined, boom) : cold('#', undefined, nope)), noJitter),
        );
        expectObservable(result).toBe('100ms #', undefined, rejected(2, nope));
      });
      expect(calls).to.equal(2);
    });
  });

  describe('when fn throws', () => {
    it('retries a synchronous throw like a failed attempt', () => {
      let calls = 0;
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', { a: makeDelivery({ event: 1 }) }).pipe(
          process(() => {
            calls++;
            throw boom;
          }, noJitter),
        );
        expectObservable(result).toBe('700ms #', undefined, failed(4));
      });
      expect(calls).to.equal(4);
    });

    it('rejects a synchronous TypeError at once', () => {
      let calls = 0;
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', {
          a: makeDelivery({ event: undefined as unknown as { x: number } }),
        }).pipe(process((event: { x: number }) => (calls++, event.x)));
        expectObservable(result).toBe(
          '#',
          undefined,
          rejected(1, new TypeError("Cannot read properties of undefined (reading 'x')")),
        );
      });
      expect(calls).to.equal(1);
    });

    it('keeps the code and stage of a StageError it throws, setting attempts', () => {
      const options = { stage: 'process', code: 'OUTPUT_WRITE_FAILED', retriable: true } as const;
      const writeFailed = new StageError('writing to out failed: timeout', options);
      let final: unknown;
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', { a: makeDelivery({ event: 1, hooks }) }).pipe(
          process(() => cold('#', undefined, writeFailed), noJitter),
          tap({ error: (e: unknown) => (final = e) }),
        );
        expectObservable(result).toBe(
          '700ms #',
          undefined,
          new StageError(writeFailed.message, { ...options, attempts: 4 }),
        );
      });
      expect(final).to.be.instanceOf(StageError);
      expect((final as Error).stack).to.equal(writeFailed.stack);
      expect(writeFailed.attempts, 'the original is not mutated').to.equal(1);
      expect(hookCalls.at(-1)).to.deep.equal(['onRetryExhausted', 700, 4, writeFailed]);
    });

    it('passes a non-retriable StageError on at once', () => {
      const invalid = new StageError('bad', {
        stage: 'validate',
        code: 'SCHEMA_VIOLATION',
        retriable: false,
      });
      let final: unknown;
      of(makeDelivery({ event: 1 }))
        .pipe(
          process(() => {
            throw invalid;
          }),
        )
        .subscribe({ error: (e: unknown) => (final = e) });
      expect(final).to.equal(invalid);
    });
  });

  describe('revocation', () => {
    it('stops a pending retry at once when the signal aborts: REVOKED', () => {
      let calls = 0;
      let final: unknown;
      const controller = new AbortController();
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      const d = makeDelivery({ event: 1, hooks, signal: controller.signal });
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const attempt = cold(' #', undefined, boom);
        const expected = '     150ms #';
        const result = cold('(a|)', { a: d }).pipe(
          process(() => (calls++, attempt), noJitter),
          tap({ error: (e: unknown) => (final = e) }),
        );
        testScheduler.schedule(() => controller.abort(), 150);
        expectObservable(result).toBe(expected, undefined, revoked(2));
        expectSubscriptions(attempt.subscriptions).toBe(['(^!)', '100ms (^!)']);
      });
      expect(calls).to.equal(2);
      expect(final).to.include({ stage: 'process', code: 'REVOKED', retriable: false, attempts: 2 });
      expect((final as Error).cause).to.equal(boom);
      expect(hookCalls.map(([hook, at]) => [hook, at])).to.deep.equal([
        ['onRetry', 0],
        ['onRetry', 100],
      ]);
      expect(getEventListeners(d.signal, 'abort')).to.have.length(0);
    });

    it('does not retry an attempt that fails after the abort', () => {
      let calls = 0;
      const controller = new AbortController();
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable }) => {
        const attempt = cold(' 50ms #', undefined, boom);
        const a = makeDelivery({ event: 1, hooks, signal: controller.signal });
        testScheduler.schedule(() => controller.abort(), 20);
        const result = cold('(a|)', { a }).pipe(process(() => (calls++, attempt), noJitter));
        expectObservable(result).toBe('50ms #', undefined, revoked(1));
      });
      expect(calls).to.equal(1);
      expect(hookCalls).to.deep.equal([]);
    });

    it('still rejects a permanent failure after the abort: REVOKED is for retries it stopped', () => {
      const controller = new AbortController();
      const nope = new PermanentError('nope');
      testScheduler.run(({ cold, expectObservable }) => {
        testScheduler.schedule(() => controller.abort(), 20);
        const result = cold('(a|)', { a: makeDelivery({ event: 1, signal: controller.signal }) }).pipe(
          process(() => cold('50ms #', undefined, nope)),
        );
        expectObservable(result).toBe('50ms #', undefined, rejected(1, nope));
      });
    });

    it('lets an attempt in flight finish: only retries stop', () => {
      const controller = new AbortController();
      const d = makeDelivery({ event: 1, signal: controller.signal });
      testScheduler.run(({ cold, expectObservable }) => {
        testScheduler.schedule(() => controller.abort(), 20);
        const result = cold('(a|)', { a: d }).pipe(process(() => cold('50ms (r|)', { r: 2 })));
        expectObservable(result).toBe('50ms (x|)', { x: withEvent(d, 2) });
      });
    });
  });

  describe('attempt timeout', () => {
    const withTimeout = (attemptTimeoutMs: number, maxAttempts = 3): ProcessOptions => ({
      ...noJitter,
      retry: { maxAttempts, attemptTimeoutMs },
    });

    it('counts a run that takes longer as a failed attempt: retried with backoff, then PROCESS_TIMEOUT', () => {
      let calls = 0;
      let final: unknown;
      const { hooks, calls: hookCalls } = recordingHooks(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const hung = cold('-');
        const hungSubs = ['^ 999ms !', '1100ms ^ 999ms !', '2300ms ^ 999ms !'];
        const expected = ' 3300ms #';
        const result = cold('(a|)', { a: makeDelivery({ event: 1, hooks }) }).pipe(
          process(() => (calls++, hung), withTimeout(1000, 2)),
          tap({ error: (error: unknown) => (final = error) }),
        );
        expectObservable(result).toBe(expected, undefined, timedOut(3, 1000));
        expectSubscriptions(hung.subscriptions).toBe(hungSubs);
      });
      expect(calls).to.equal(3);
      expect(final).to.include({ stage: 'process', code: 'PROCESS_TIMEOUT', retriable: true, attempts: 3 });
      expect((final as Error).cause)
        .to.be.an('error')
        .with.property('message', 'timed out after 1000 ms');
      expect(hookCalls.map(([hook, at, attempt, , delayMs]) => [hook, at, attempt, delayMs])).to.deep.equal([
        ['onRetry', 1000, 1, 100],
        ['onRetry', 2100, 2, 200],
        ['onRetryExhausted', 3300, 3, undefined],
      ]);
    });

    it('lets a run that finishes in time through, untouched by the deadline', () => {
      const d = makeDelivery({ event: 1 });
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('999ms (r|)', { r: 2 });
        const result = cold('(a|)', { a: d }).pipe(process(() => work, withTimeout(1000)));
        expectObservable(result).toBe('999ms (x|)', { x: withEvent(d, 2) });
        expectSubscriptions(work.subscriptions).toBe('^ 998ms !');
      });
      expect(getEventListeners(d.signal, 'abort')).to.have.length(0);
    });

    it('succeeds on a retry after a run that hung', () => {
      let calls = 0;
      const d = makeDelivery({ event: 1 });
      testScheduler.run(({ cold, expectObservable }) => {
        const runs = [cold('-'), cold('50ms (r|)', { r: 'ok' })];
        const result = cold('(a|)', { a: d }).pipe(process(() => runs[calls++]!, withTimeout(1000)));
        expectObservable(result).toBe('1150ms (x|)', { x: withEvent(d, 'ok') });
      });
      expect(calls).to.equal(2);
    });

    it("aborts the signal fn was given for the run that timed out, not the delivery's", () => {
      const signals: AbortSignal[] = [];
      const d = makeDelivery({ event: 1 });
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', { a: d }).pipe(
          process((_, delivery) => {
            signals.push(delivery.signal);
            return signals.length === 1 ? cold('-') : cold('10ms (r|)', { r: 'ok' });
          }, withTimeout(500)),
        );
        expectObservable(result).toBe('610ms (x|)', { x: withEvent(d, 'ok') });
      });
      expect(signals).to.have.length(2);
      expect(signals[0]!.aborted).to.equal(true);
      expect(signals[0]!.reason).to.be.an('error').with.property('message', 'timed out after 500 ms');
      expect(signals[1]!.aborted, 'the next run gets a signal of its own').to.equal(false);
      expect(d.signal.aborted).to.equal(false);
      expect(getEventListeners(d.signal, 'abort')).to.have.length(0);
    });

    it("hands fn a signal that also follows the delivery's: a revoked partition stops the run too", () => {
      const controller = new AbortController();
      const d = makeDelivery({ event: 1, signal: controller.signal });
      let seen: AbortSignal | undefined;
      testScheduler.run(({ cold, expectObservable }) => {
        testScheduler.schedule(() => controller.abort(new Error('revoked')), 20);
        const result = cold('(a|)', { a: d }).pipe(
          process(
            (_, delivery) => ((seen = delivery.signal), cold('50ms (r|)', { r: 2 })),
            withTimeout(1000),
          ),
        );
        expectObservable(result).toBe('50ms (x|)', { x: withEvent(d, 2) });
      });
      expect(seen).not.to.equal(d.signal);
      expect(seen!.aborted).to.equal(true);
      expect(seen!.reason).to.have.property('message', 'revoked');
    });

    it('ignores what a timed-out Promise gives later', async () => {
      const scheduler = new VirtualTimeScheduler();
      let resolveHung!: (value: string) => void;
      const results: Array<Delivery<unknown>> = [];
      let calls = 0;
      of(makeDelivery({ event: 1 }))
        .pipe(
          process(
            () =>
              ++calls === 1
                ? new Promise<string>((resolve) => (resolveHung = resolve))
                : Promise.resolve('retried'),
            { ...withTimeout(1000), scheduler },
          ),
        )
        .subscribe((delivery) => results.push(delivery));
      scheduler.maxFrames = 1000;
      scheduler.flush();
      resolveHung('late');
      await settledPromises();
      expect(results, 'the late result of the timed-out run').to.deep.equal([]);
      scheduler.maxFrames = 1100;
      scheduler.flush();
      await settledPromises();
      expect(calls).to.equal(2);
      expect(results.map((delivery) => delivery.event)).to.deep.equal(['retried']);
    });

    it('stops the deadline at an early unsubscribe', () => {
      let calls = 0;
      const d = makeDelivery({ event: 1 });
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const hung = cold('-');
        const result = cold('(a|)', { a: d }).pipe(process(() => (calls++, hung), withTimeout(1000)));
        expectObservable(result, '500ms !').toBe('-');
        expectSubscriptions(hung.subscriptions).toBe('^ 499ms !');
      });
      expect(calls).to.equal(1);
      expect(getEventListeners(d.signal, 'abort')).to.have.length(0);
    });

    it('hands fn the delivery itself without a timeout', () => {
      const d = makeDelivery({ event: 1 });
      let seen: unknown;
      of(d)
        .pipe(process((_, delivery) => void (seen = delivery), { retry: { attemptTimeoutMs: 0 } }))
        .subscribe();
      expect(seen).to.equal(d);
    });
  });

  describe('callbacks that throw', () => {
    it('surface the exception of onRetry as it is, without another attempt', () => {
      let calls = 0;
      const hookBug = new Error('metrics down');
      const hooks: DeliveryHooks = {
        onRetry: () => {
          throw hookBug;
        },
        onRetryExhausted: () => undefined,
      };
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', { a: makeDelivery({ event: 1, hooks }) }).pipe(
          process(() => (calls++, cold('#', undefined, boom))),
        );
        expectObservable(result).toBe('#', undefined, hookBug);
      });
      expect(calls).to.equal(1);
    });

    it('surface the exception of onRetryExhausted as it is', () => {
      const hookBug = new Error('metrics down');
      const hooks: DeliveryHooks = {
        onRetry: () => undefined,
        onRetryExhausted: () => {
          throw hookBug;
        },
      };
      testScheduler.run(({ cold, expectObservable }) => {
        const result = cold('(a|)', { a: makeDelivery({ event: 1, hooks }) }).pipe(
          process(() => cold('#', undefined, boom), noJitter),
        );
        expectObservable(result).toBe('700ms #', undefined, hookBug);
      });
    });

    it('surface the exception of the random source as it is', () => {
      const randomBug = new Error('no entropy');
      let calls = 0;
      testScheduler.run(({ cold, expectObservable }) => {
        const random = () => {
          throw randomBug;
        };
        const result = cold('(a|)', { a: makeDelivery({ event: 1 }) }).pipe(
          process(() => (calls++, cold('#', undefined, boom)), { random }),
        );
        expectObservable(result).toBe('#', undefined, randomBug);
      });
      expect(calls).to.equal(1);
    });
  });

  describe('options', () => {
    it('rejects a nonsensical retry policy when created', () => {
      const fn = () => undefined;
      expect(() => process(fn, { retry: { maxAttempts: -1 } })).to.throw(RangeError, /maxAttempts/);
      expect(() => process(fn, { retry: { maxAttempts: 1.5 } })).to.throw(RangeError, /maxAttempts/);
      expect(() => process(fn, { retry: { jitter: 2 } })).to.throw(RangeError, /jitter/);
      expect(() => process(fn, { retry: { baseDelayMs: -5 } })).to.throw(RangeError, /baseDelayMs/);
      expect(() => process(fn, { retry: { attemptTimeoutMs: -1 } })).to.throw(RangeError, /attemptTimeoutMs/);
      expect(() => process(fn, { retry: { attemptTimeoutMs: 0.5 } })).to.throw(
        RangeError,
        /attemptTimeoutMs/,
      );
    });
  });
});

/** Lets every promise callback already queued run (however many `then`s a result passes). */
function settledPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
