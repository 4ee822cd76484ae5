import {
  asyncScheduler,
  auditTime,
  concatMap,
  defer,
  filter,
  map,
  type ObservableInput,
  type OperatorFunction,
  retry,
  type SchedulerLike,
  throttleTime,
  timer,
} from 'rxjs';
import type { Settlement } from './handle-message.js';

export interface CommitAfterSettlesOptions {
  /**
   * Commits everything settled so far that is not committed yet (the broker's own notion:
   * Kafka offsets); resolves false when the broker did not acknowledge it.
   */
  commitNow(): ObservableInput<boolean>;
  /** Least time between the starts of two commits (COMMIT_INTERVAL_MS): bounds the commit rate. */
  minIntervalMs: number;
  /** How long to wait before trying a commit the broker did not acknowledge again; default 1000. */
  retryAfterMs?: number;
  /** Runs the timers; default asyncScheduler (tests pass a TestScheduler). */
  scheduler?: SchedulerLike;
}

/** A commit the broker did not acknowledge: what it carried stays due, and is retried. */
export class CommitNotAcknowledged extends Error {
  override readonly name: string = 'CommitNotAcknowledged';
  constructor() {
    super('the offset commit was not acknowledged');
  }
}

/**
 * The commit subscriber's operators over the settlements. A settled message (processed or
 * dead-lettered; an abandoned one is delivered again, so it commits nothing) asks for a
 * commit; the settles of one burst are taken together (`auditTime(0)`), then `throttleTime`
 * starts at most one commit per `minIntervalMs`, the first of a burst at once
 * and its last at the end of the interval (so what settled meanwhile is committed too);
 * `concatMap` keeps one commit in flight at a time; and RxJS's `retry` tries a commit the
 * broker did not acknowledge again after `retryAfterMs`. Emits `true` per acknowledged commit.
 * Unsubscribing stops the commits that settles ask for; `commitNow` still commits when called.
 */
export function commitAfterSettles(options: CommitAfterSettlesOptions): OperatorFunction<Settlement, true> {
  const { commitNow, minIntervalMs, retryAfterMs = 1000, scheduler = asyncScheduler } = options;
  return (settlements) =>
    settlements.pipe(
      filter((settlement) => settlement.outcome !== 'abandoned'),
      // Messages settled together (one batch, synchronously) ask for one commit, not one each.
      auditTime(0, scheduler),
      throttleTime(minIntervalMs, scheduler, { leading: true, trailing: true }),
      concatMap(() =>
        defer(commitNow).pipe(
          map((acknowledged): true => {
            if (!acknowledged) throw new CommitNotAcknowledged();
            return true;
          }),
          retry({ delay: () => timer(retryAfterMs, scheduler) }),
        ),
      ),
    );
}
