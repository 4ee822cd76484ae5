import {
  asyncScheduler,
  catchError,
  concatMap,
  defaultIfEmpty,
  defer,
  from,
  fromEvent,
  isObservable,
  map,
  mergeMap,
  type Observable,
  of,
  type OperatorFunction,
  race,
  retry,
  type SchedulerLike,
  takeLast,
  throwError,
  timer,
} from 'rxjs';
import { errorMessage, isRetriable, StageError } from '../errors.js';
import { withEvent, type Delivery, type DeliveryHooks } from '../pipeline/delivery.js';
import { backoffDelay, resolveBackoffPolicy, type BackoffPolicy } from './backoff.js';

export interface ProcessOptions {
  /**
   * `maxAttempts` counts the retries after the first run, as RETRY_MAX_ATTEMPTS does: the
   * default 3 runs fn up to 4 times, waiting 100, 200 and 400 ms (± jitter) in between.
   */
  retry?: Partial<BackoffPolicy> & { maxAttempts?: number };
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
 * 'process': PROCESS_FAILED once retries run out, PROCESS_REJECTED at once for a permanent
 * error, REVOKED as soon as `delivery.signal` aborts a pending retry; a StageError from fn
 * keeps its code and stage. `attempts` always says how many times fn ran.
 */
export function process<E, R>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  options: ProcessOptions = {},
): OperatorFunction<Delivery<E>, Delivery<ProcessedEvent<E, R>>> {
  const {
    retry: { maxAttempts = 3, ...backoff } = {},
    scheduler = asyncScheduler,
    random = Math.random,
  } = options;
  const policy = resolveBackoffPolicy(backoff);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    throw new RangeError(`process: maxAttempts must be an integer >= 0, got ${maxAttempts}`);
  }

  return concatMap((delivery) => {
    const { signal, hooks } = delivery;
    let attempts = 0; // how many times fn ran for this delivery
    return defer(() => {
      attempts++;
      return toObservable(fn(delivery.event, delivery));
    }).pipe(
      // Inside the retry, so values of a failed run never escape: only a completed run counts.
      takeLast(1),
      retry({
        count: maxAttempts,
        delay: (error: unknown, retryNumber: number) => {
          if (!isRetriable(error)) return throwError(() => error);
          const revoked = () => revokedError(attempts, error);
          if (signal.aborted) return throwError(revoked);
          let delayMs: number;
          try {
            delayMs = backoffDelay(retryNumber, policy, random);
            hooks.onRetry(retryNumber, error, delayMs);
          } catch (callbackError) {
            return throwError(() => new CallbackFailure(callbackError));
          }
          const abort$ = fromEvent(signal, 'abort').pipe(mergeMap(() => throwError(revoked)));
          return race(timer(delayMs, scheduler), abort$);
        },
      }),
      catchError((error: unknown) => throwError(() => finalError(error, attempts, hooks))),
      defaultIfEmpty(undefined),
      map((result) => (result === undefined ? delivery : withEvent(delivery, result))),
    ) as Observable<Delivery<ProcessedEvent<E, R>>>;
  });
}

/** Carries an exception of a hook or of `random` past the classification: a bug, not fn's failure. */
class CallbackFailure {
  constructor(readonly error: unknown) {}
}

function finalError(error: unknown, attempts: number, hooks: DeliveryHooks): unknown {
  if (error instanceof CallbackFailure) return error.error;
  const retriable = isRetriable(error);
  if (retriable) hooks.onRetryExhausted(attempts, error);
  if (error instanceof StageError) return withAttempts(error, attempts);
  const message = retriable
    ? `process failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorMessage(error)}`
    : `process rejected the event on attempt ${attempts}: ${errorMessage(error)}`;
  return new StageError(message, {
    stage: 'process',
    code: retriable ? 'PROCESS_FAILED' : 'PROCESS_REJECTED',
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

function toObservable<R>(result: R | Promise<R> | Observable<R>): Observable<R> {
  if (isObservable(result)) return result as Observable<R>;
  if (typeof (result as PromiseLike<R> | null)?.then === 'function') return from(result as PromiseLike<R>);
  return of(result as R);
}
