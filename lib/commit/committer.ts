import type { Consumer } from 'kafkajs';
import type { Logger } from 'winston';
import type { OffsetTracker, TopicPartitionOffset } from './offset-tracker.js';

export interface CommitterOptions {
  consumer: Pick<Consumer, 'commitOffsets'>;
  tracker: OffsetTracker;
  logger: Logger;
  onCommitted?(offsets: TopicPartitionOffset[]): void;
  onCommitFailed?(error: unknown): void;
}

/**
 * The one place offsets are committed: what the tracker says is due, for owned partitions of
 * the current generation, one commit at a time. A failed commit (typically a rebalance in
 * progress, an illegal generation or an unknown member, which kafkajs does not retry) is logged
 * and left due: the next tick, or the next generation's first commit, covers it.
 */
export class Committer {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CommitterOptions) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.commitNow(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Commits what is due; resolves when done (or when the commit in flight is done). */
  commitNow(): Promise<void> {
    this.running ??= this.commitDue().finally(() => (this.running = undefined));
    return this.running;
  }

  private async commitDue(): Promise<void> {
    const { consumer, tracker, logger } = this.options;
    const generation = tracker.generation;
    const due = tracker.due();
    if (due.length === 0) return;
    try {
      await consumer.commitOffsets(due);
      tracker.committed(due, generation);
      this.options.onCommitted?.(due);
    } catch (error) {
      logger.warn('Offset commit failed, will retry', { error, generation, partitions: due.length });
      this.options.onCommitFailed?.(error);
    }
  }
}
