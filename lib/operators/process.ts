import {
  asyncScheduler,
  concatMap,
  isObservable,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Unsubscribable,
} from 'rxjs';
import { errorMessage, isRetriable, StageError } from '../core/errors.js';
import { onAbort } from '../core/abort-callbacks.js';
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

  return concatMap((delivery) => attemptsOf(fn, delivery, attempts));
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
 * The runs of fn for one delivery as one Observable: the delivery (with fn's result) once a run
 * completes, or the final error. Hand-written rather than defer + takeLast + retry + catchError
 * + map, which cost a subscriber each for every message; the spec pins the behaviour.
 */
function attemptsOf<E, R>(
  fn: (event: E, delivery: Delivery<E>) => R | Promise<R> | Observable<R>,
  delivery: Delivery<E>,
  { maxAttempts, timeoutMs, policy, scheduler, random }: Attempts,
): Observable<Delivery<ProcessedEvent<E, R>>> {
  return new Observable<Delivery<ProcessedEvent<E, R>>>((subscriber) => {
    const { signal, hooks, worker } = delivery;
    let attempts = 0; // how many times fn ran for this delivery
    let live = 0; // the run going on (its number), 0 between runs: a late result of another is ignored
    let running: Unsubscribable | undefined;
    let closed = false;
    let stopWaiting: (() => void) | undefined;
    let stopDeadline: (() => void) | undefined;

    const endRun = () => {
      live = 0;
      stopDeadline?.();
    };
    const succeed = (result: R | undefined) => {
      endRun();
      subscriber.next(
        (result === undefined ? delivery : withEvent(delivery, result)) as Delivery<ProcessedEvent<E, R>>,
      );
      subscriber.complete();
    };
    const fail = (error: unknown) => {
      let final: unknown;
      try {
        final = finalError(error, attempts, hooks);
      } catch (callbackError) {
        final = callbackError; // onRetryExhausted threw: a bug to surface as it is
      }
      subscriber.error(final);
    };

    const failedAttempt = (error: unknown) => {
      endRun();
      running = undefined;
      // A permanent error, or no retry left: the last attempt's error decides.
      if (!isRetriable(error) || attempts > maxAttempts) return fail(error);
      if (signal.aborted) return fail(revokedError(attempts, error));
      let delayMs: number;
      try {
        delayMs = backoffDelay(attempts, policy, random);
        hooks.onRetry(attempts, error, delayMs);
      } catch (callbackError) {
        // A hook or the random source threw: a bug, surfaced as it is rather than retried.
        return subscriber.error(callbackError);
      }
      const retry = () => {
        stopWaiting?.();
        attempt();
      };
      // Waiting needs no worker: the slot goes back to the pool for the backoff, and the next
      // attempt waits for a free one like any other message.
      worker?.release();
      let slotWanted: Unsubscribable | undefined;
      const timer = scheduler.schedule(() => {
        if (worker) slotWanted = worker.reacquire().subscribe(retry);
        else retry();
      }, delayMs);
      const stopListening = onAbort(signal, () => {
        stopWaiting?.();
        fail(revokedError(attempts, error));
      });
      stopWaiting = () => {
        stopWaiting = undefined;
        timer.unsubscribe();
        slotWanted?.unsubscribe();
        stopListening();
      };
    };

    /**
     * The delivery fn gets for this run. With a timeout, a copy whose signal is the run's own:
     * it follows the delivery's signal, and aborts when the run is given up for taking too
     * long. (Made lazily behind a getter, the copy cost several times more than it saves.)
     */
    const deliveryForRun = (): Delivery<E> => {
      if (timeoutMs === 0) return delivery;
      const controller = new AbortController();
      const stopFollowing = onAbort(signal, () => controller.abort(signal.reason));
      const deadline = scheduler.schedule(() => {
        const timedOut = new AttemptTimedOut(timeoutMs);
        running?.unsubscribe();
        controller.abort(timedOut);
        failedAttempt(timedOut);
      }, timeoutMs);
      stopDeadline = () => {
        stopDeadline = undefined;
        deadline.unsubscribe();
        stopFollowing();
      };
      return { ...delivery, signal: controller.signal };
    };

    const attempt = () => {
      const run = ++attempts;
      live = run;
      let result: R | Promise<R> | Observable<R>;
      try {
        result = fn(delivery.event, deliveryForRun());
      } catch (error) {
        return failedAttempt(error);
      }
      if (isObservable(result)) {
        // Only a completed run counts: values of a failed run never escape.
        let last: R | undefined;
        running = (result as Observable<R>).subscribe({
          next: (value) => (last = value),
          error: failedAttempt,
          complete: () => succeed(last),
        });
      } else if (typeof (result as PromiseLike<R> | null)?.then === 'function') {
        (result as PromiseLike<R>).then(
          (value) => {
            if (!closed && live === run) succeed(value);
          },
          (error: unknown) => {
            if (!closed && live === run) failedAttempt(error);
          },
        );
      } else {
        succeed(result as R);
      }
    };

    attempt();
    return () => {
      closed = true;
      stopDeadline?.();
      stopWaiting?.();
      running?.unsubscribe();
    };
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
