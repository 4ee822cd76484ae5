import type { Logger } from 'winston';
import type { DueOffset, OffsetTracker, TopicPartitionOffset } from './offset-tracker.js';

export interface CommitterOptions {
  /** Sends one commit request; rejects when the broker did not acknowledge it. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  tracker: Pick<OffsetTracker, 'due' | 'committed'>;
  logger: Logger;
  onCommitted?(offsets: TopicPartitionOffset[]): void;
  onCommitFailed?(error: unknown): void;
}

/**
 * The one place offsets are committed: what the tracker says is due, one commit at a time.
 * When commits go out is the commit subscriber's (commitAfterSettles, over the settlements);
 * a rebalance and the shutdown call commitNow too. Only what the broker acknowledged is
 * recorded; a failed commit (a rebalance in progress, an illegal generation, a coordinator
 * moving) is logged and left due for the next one.
 */
export class Committer {
  private inFlight: Promise<boolean> | undefined;
  /** A commit asked for while one was in flight: it runs right after, for what is due then. */
  private followUp: Promise<boolean> | undefined;

  constructor(private readonly options: CommitterOptions) {}

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
    const running = this.commitDue().finally(() => {
      this.inFlight = undefined;
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
      return false;
    }
    tracker.committed(due);
    this.options.onCommitted?.(due);
    return true;
  }
}
