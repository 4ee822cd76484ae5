import {
  asyncScheduler,
  catchError,
  concatMap,
  defer,
  finalize,
  from,
  isObservable,
  last,
  map,
  type Observable,
  of,
  type OperatorFunction,
  race,
  retry,
  type SchedulerLike,
  switchMap,
  throwError,
  timeout,
  timer,
} from 'rxjs';
import { errorMessage, isRetriable, StageError } from '../core/errors.js';
import { abortOf, onAbort } from '../core/abort-callbacks.js';
import { withEvent, type Delivery, type DeliveryHooks } from '../core/delivery.js';
import { backoffDelay, resolveBackoffPolicy, type BackoffPolicy } from '../core/backoff.js';

export interface ProcessOptions {
  /**
   * `maxAttempts` counts the retries after the first run, as RETRY_MAX_ATTEMPTS does: the
   * default 3 runs fn up to 4 times, waiting 100, 200 and 400 ms (± jitter) in between.
   * `attemptTimeoutMs` (PROCESS_TIMEOUT_MS; 0 or unset: no limit) is how long one run may take:
   * a run still going then counts as a failed attempt, and the signal fn was given aborts.
   */
  retry?: Partial<BackoffPolicy> & { maxAttempts?: number; attemptTimeoutMs?: number };
  /** Runs the backoff timers; default asyncScheduler (tests pass a TestScheduler). */
  scheduler?: SchedulerLike;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
}

/**
 * The event after `process`: what fn gave, or the old event where it gave `undefined`.
 * An Observable that completes empty also keeps the old event, which the type cannot see.
 */
export type ProcessedEvent<E, R> = [R] extends [undefined | void]
  ? E
  : undefined extends R
    ? E | Exclude<R, undefined | void>
    : R;

/**
 * Runs `fn` once per delivery (one at a time, in order: concurrency belongs to the pipeline),
 * retrying transient failures with exponential backoff. Fails with a StageError of stage
 * 'process': PROCESS_FAILED once retries run out, PROCESS_TIMEOUT when the last of them ran
 * longer than `retry.attemptTimeoutMs`, PROCESS_REJECTED at once for a permanent error,
 * REVOKED as soon as `delivery.signal` aborts a pending retry; a StageError from fn keeps its
 * code and stage. `attempts` always says how many times fn ran.
 *
 * During a backoff the message gives its worker slot back (`delivery.worker`) and takes one
 * again for the next attempt, so messages waiting to be retried do not hold up the others.
 *
 * With a timeout, fn gets a copy of the delivery whose `signal` is the attempt's own: it aborts
 * when the attempt times out or when the delivery's signal does, so a hung call can be stopped.
 */
export function process<E, R>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  options: ProcessOptions = {},
): OperatorFunction<Delivery<E>, Delivery<ProcessedEvent<E, R>>> {
  return concatMap(processOne(fn, options));
}

/**
 * What `process` does for each delivery, for a caller holding one delivery rather than a
 * stream of them: the Observable of its runs (with the retries), emitting the processed
 * delivery. Spares such a caller an `of(delivery)` and a `concatMap` per message.
 */
export function processOne<E, R>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  options: ProcessOptions = {},
): (delivery: Delivery<E>) => Observable<Delivery<ProcessedEvent<E, R>>> {
  const {
    retry: { maxAttempts = 3, attemptTimeoutMs = 0, ...backoff } = {},
    scheduler = asyncScheduler,
    random = Math.random,
  } = options;
  const policy = resolveBackoffPolicy(backoff);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new RangeError(`process: maxAttempts must be an integer >= 0, got ${maxAttempts}`);
  }
  if (!Number.isSafeInteger(attemptTimeoutMs) || attemptTimeoutMs < 0) {
    throw new RangeError(`process: attemptTimeoutMs must be an integer >= 0, got ${attemptTimeoutMs}`);
  }
  const attempts: Attempts = { maxAttempts, timeoutMs: attemptTimeoutMs, policy, scheduler, random };
  return (delivery) => attemptsOf(fn, delivery, attempts);
}

/** How the runs of fn for one delivery are made: the options, resolved once. */
interface Attempts {
  maxAttempts: number;
  /** 0: no limit. */
  timeoutMs: number;
  policy: BackoffPolicy;
  scheduler: SchedulerLike;
  random: () => number;
}

/** A run of fn that took longer than `attemptTimeoutMs`: retriable, like any transient failure. */
class AttemptTimedOut extends Error {
  override readonly name: string = 'AttemptTimedOut';
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}

/**
 * The runs of fn for one delivery: each run is an Observable of its result, and RxJS's
 * `retry({ count, delay })` makes the next one after the backoff, `catchError` turns the last
 * failure into the stage's error. The delay decides per failure: a permanent error or a revoked
 * partition ends the retries at once; otherwise the message gives its worker slot back, waits
 * out the backoff on `scheduler`, and takes a slot again before the next run.
 */
function attemptsOf<E, R>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  delivery: Delivery<E>,
  { maxAttempts, timeoutMs, policy, scheduler, random }: Attempts,
): Observable<Delivery<ProcessedEvent<E, R>>> {
  const { signal, hooks, worker } = delivery;
  let attempts = 0; // how many times fn ran for this delivery

  const backoff = (error: unknown): Observable<unknown> => {
    if (!isRetriable(error)) return throwError(() => error);
    if (signal.aborted) return throwError(() => revokedError(attempts, error));
    let delayMs: number;
    try {
      delayMs = backoffDelay(attempts, policy, random);
      hooks.onRetry(attempts, error, delayMs);
    } catch (callbackError) {
      // A hook or the random source threw: a bug, surfaced as it is rather than retried.
      return throwError(() => new SurfacedAsIs(callbackError));
    }
    // Waiting needs no worker: the slot goes back to the pool for the backoff, and the next
    // attempt waits for a free one like any other message.
    const waited = defer(() => {
      worker?.release();
      return timer(delayMs, scheduler);
    }).pipe(switchMap(() => (worker ? worker.reacquire() : of(undefined))));
    const revoked = abortOf(signal).pipe(switchMap(() => throwError(() => revokedError(attempts, error))));
    return race(waited, revoked);
  };

  const withResult = (result: R | undefined) =>
    (result === undefined ? delivery : withEvent(delivery, result)) as Delivery<ProcessedEvent<E, R>>;
  return defer(() => {
    attempts += 1;
    return timeoutMs === 0
      ? runOf(fn, delivery, withResult)
      : resultWithin(fn, delivery, withResult, timeoutMs, scheduler);
  }).pipe(
    retry({ count: maxAttempts, delay: backoff }),
    catchError((error: unknown) =>
      // finalError may throw itself (onRetryExhausted did): then that error is the one surfaced.
      throwError(() => (error instanceof SurfacedAsIs ? error.error : finalError(error, attempts, hooks))),
    ),
  );
}

/** A failure that is not the attempt's: it skips the retries and the stage's error wrapping. */
class SurfacedAsIs {
  constructor(readonly error: unknown) {}
}

/**
 * One run of fn as an Observable of `done(result)`: of a value, a Promise's, or the last value of
 * an Observable (undefined when it completed empty). Only a completed run counts: values of a
 * failed run never escape, and a Promise's late answer after an unsubscribe is dropped. A value
 * given at once is mapped without an operator, as that is the common case on the hot path.
 */
function resultOf<E, R, T>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  delivery: Delivery<E>,
  done: (result: R | undefined) => T,
): Observable<T> {
  return defer(() => runOf(fn, delivery, done));
}

/**
 * resultOf without its `defer`: runs fn now. Only for a caller that is itself deferred (each
 * attempt is), where a throw from fn becomes the attempt's error all the same.
 */
function runOf<E, R, T>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  delivery: Delivery<E>,
  done: (result: R | undefined) => T,
): Observable<T> {
  const result = fn(delivery.event, delivery);
  if (isObservable(result)) return result.pipe(last(null, undefined), map(done));
  if (typeof (result as PromiseLike<R> | null)?.then === 'function') {
    // The promise's own `then` maps the result: a map operator cost more per run (measured
    // in the forwarding path: about 1.2 KB allocated per message, of some 26 KB).
    return from((result as PromiseLike<R>).then(done));
  }
  return of(done(result as R));
}

/**
 * A run limited to `timeoutMs`. fn gets a copy of the delivery whose signal is the run's own: it
 * follows the delivery's signal, and aborts when the run is given up for taking too long.
 */
function resultWithin<E, R, T>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  delivery: Delivery<E>,
  done: (result: R | undefined) => T,
  timeoutMs: number,
  scheduler: SchedulerLike,
): Observable<T> {
  return defer(() => {
    const controller = new AbortController();
    const stopFollowing = onAbort(delivery.signal, () => controller.abort(delivery.signal.reason));
    return resultOf(fn, { ...delivery, signal: controller.signal }, done).pipe(
      timeout({
        first: timeoutMs,
        scheduler,
        with: () => {
          const timedOut = new AttemptTimedOut(timeoutMs);
          controller.abort(timedOut);
          return throwError(() => timedOut);
        },
      }),
      finalize(stopFollowing),
    );
  });
}

function finalError(error: unknown, attempts: number, hooks: DeliveryHooks): unknown {
  const retriable = isRetriable(error);
  if (retriable) hooks.onRetryExhausted(attempts, error);
  if (error instanceof StageError) return withAttempts(error, attempts);
  const message = retriable
    ? `process failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorMessage(error)}`
    : `process rejected the event on attempt ${attempts}: ${errorMessage(error)}`;
  const retriableCode = error instanceof AttemptTimedOut ? 'PROCESS_TIMEOUT' : 'PROCESS_FAILED';
  return new StageError(message, {
    stage: 'process',
    code: retriable ? retriableCode : 'PROCESS_REJECTED',
    // A retriable failure stays so: replaying the message from the DLQ may well succeed.
    retriable,
    attempts,
    cause: error,
  });
}

function revokedError(attempts: number, lastError: unknown): StageError {
  return new StageError(`partition revoked after ${attempts} attempt${attempts === 1 ? '' : 's'}`, {
    stage: 'process',
    code: 'REVOKED',
    retriable: false,
    attempts,
    cause: lastError,
  });
}

/** A copy with the attempt count (errors are never mutated), keeping the original's stack. */
function withAttempts(error: StageError, attempts: number): StageError {
  if (error.attempts === attempts) return error;
  const { stage, code, retriable, violations, cause } = error;
  const copy = new StageError(error.message, { stage, code, retriable, violations, cause, attempts });
  if (error.stack !== undefined) copy.stack = error.stack;
  return copy;
}
