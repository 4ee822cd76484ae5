import type { Logger } from 'winston';
import type { DueOffset, OffsetTracker, TopicPartitionOffset } from './offset-tracker.js';

export interface CommitterOptions {
  /** Sends one commit request; rejects when the broker did not acknowledge it. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  tracker: Pick<OffsetTracker, 'due' | 'committed'>;
  logger: Logger;
  /** Least time between the starts of two commits (COMMIT_INTERVAL_MS): bounds the commit rate. */
  minIntervalMs: number;
  /** How long to wait before trying again after a failed commit (default 1000 ms). */
  retryAfterMs?: number;
  onCommitted?(offsets: TopicPartitionOffset[]): void;
  onCommitFailed?(error: unknown): void;
}

/**
 * The one place offsets are committed: what the tracker says is due, one commit at a time.
 * A commit goes out soon after messages settle (`settled()`), at most one per `minIntervalMs`,
 * so a crash redoes little more than what was in flight. Only what the broker acknowledged is
 * recorded; a failed commit (a rebalance in progress, an illegal generation, a coordinator
 * moving) is logged and left due for the next one.
 */
export class Committer {
  private inFlight: Promise<boolean> | undefined;
  /** A commit asked for while one was in flight: it runs right after, for what is due then. */
  private followUp: Promise<boolean> | undefined;
  private scheduled: NodeJS.Timeout | undefined;
  private lastStartedAt = -Infinity;
  private lastFailedAt = -Infinity;
  /** Something settled (or a commit failed) since the last commit started. */
  private dirty = false;
  private stopped = false;

  constructor(private readonly options: CommitterOptions) {}

  /** Messages settled: commit what became due, as soon as the rate bound allows. */
  settled(): void {
    this.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.scheduled || this.inFlight || !this.dirty) return;
    const { minIntervalMs, retryAfterMs = 1000 } = this.options;
    const earliest = Math.max(this.lastStartedAt + minIntervalMs, this.lastFailedAt + retryAfterMs);
    const wait = Math.max(0, earliest - Date.now());
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      void this.commitNow();
    }, wait);
  }

  /** No more commits from settles; commitNow() still commits when asked. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
  }

  /**
   * Commits everything due at the moment of the call. When a commit is in flight, what settled
   * since it started is committed by one more commit after it, shared by every caller meanwhile.
   * Resolves false when the broker did not acknowledge it.
   */
  commitNow(): Promise<boolean> {
    if (!this.inFlight) return this.run();
    this.followUp ??= this.inFlight.then(() => {
      this.followUp = undefined;
      return this.run();
    });
    return this.followUp;
  }

  private run(): Promise<boolean> {
    this.lastStartedAt = Date.now();
    this.dirty = false;
    const running = this.commitDue().finally(() => {
      this.inFlight = undefined;
      // Settles that came while this commit was in flight are committed next.
      if (!this.followUp) this.schedule();
    });
    this.inFlight = running;
    return running;
  }

  private async commitDue(): Promise<boolean> {
    const { tracker, logger } = this.options;
    const due: DueOffset[] = tracker.due();
    if (due.length === 0) return true;
    try {
      await this.options.commit(
        due.map(({ topic, partition, offset, metadata }) =>
          metadata === undefined ? { topic, partition, offset } : { topic, partition, offset, metadata },
        ),
      );
    } catch (error) {
      logger.warn('Offset commit failed, will retry', { error, partitions: due.length });
      this.options.onCommitFailed?.(error);
      this.lastFailedAt = Date.now();
      this.dirty = true;
      return false;
    }
    tracker.committed(due);
    this.options.onCommitted?.(due);
    return true;
  }
}
