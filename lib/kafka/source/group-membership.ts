import type { Consumer } from 'kafkajs';
import type { Assignment, OffsetTracker, PartitionStart, TopicPartition } from '../commit/offset-tracker.js';
import { errorMessage } from '../../core/errors.js';

/** Reads what the broker holds for partitions at the start of an ownership (the admin client). */
export type ReadPartitionStarts = (
  topic: string,
  partitions: number[],
) => Promise<Map<number, PartitionStart>>;

export interface MembershipListener {
  /** A join completed; revoked partitions have ended, the others wait for their starts. */
  onJoin(
    joins: number,
    assignment: Assignment[],
    change: { revoked: TopicPartition[]; added: TopicPartition[]; kept: TopicPartition[] },
  ): void;
  /** The committed offsets of the join's partitions were read: they may hand off again. */
  onConfirmed?(joins: number, restarted: TopicPartition[]): void;
  /** Reading the committed offsets failed; it is tried again after `retryInMs`. */
  onStartsFailed?(error: unknown, retryInMs: number): void;
  /** The group is about to rebalance: the last chance to commit for the current generation. */
  onRebalancing(): void;
}

/**
 * Follows the consumer's group joins into the offset tracker. Each join's assignment is applied
 * at once (revoked partitions end); then the group's committed offsets are read from the broker
 * so that a partition new to this member starts where the group left it, and a kept one is
 * checked for commits by another member while this one was out of the group. A later join
 * supersedes a read still under way.
 */
export class GroupMembership {
  private joins = 0;

  constructor(
    consumer: Consumer,
    private readonly tracker: OffsetTracker,
    private readonly readStarts: ReadPartitionStarts,
    private readonly listener: MembershipListener,
    private readonly retryEveryMs = 1000,
  ) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assignment: Assignment[] = Object.entries(payload.memberAssignment).map(
        ([topic, partitions]) => ({
          topic,
          partitions: partitions as number[],
        }),
      );
      this.joins += 1;
      const change = tracker.assign(assignment);
      void this.confirm(this.joins, assignment);
      listener.onJoin(this.joins, assignment, change);
    });
    consumer.on(consumer.events.REBALANCING, () => listener.onRebalancing());
  }

  private async confirm(join: number, assignment: Assignment[]): Promise<void> {
    const restarted: TopicPartition[] = [];
    for (const { topic, partitions } of assignment) {
      if (partitions.length === 0) continue;
      const starts = await this.readUntilDone(join, topic, partitions);
      if (starts === undefined) return;
      for (const partition of partitions) {
        const start = starts.get(partition);
        if (start === undefined) continue;
        if (this.tracker.start(topic, partition, start)) restarted.push({ topic, partition });
      }
    }
    this.listener.onConfirmed?.(join, restarted);
  }

  /** Reads the starts, retrying until they come or a newer join makes them moot (undefined). */
  private async readUntilDone(
    join: number,
    topic: string,
    partitions: number[],
  ): Promise<Map<number, PartitionStart> | undefined> {
    for (;;) {
      if (join !== this.joins) return undefined;
      try {
        const starts = await this.readStarts(topic, partitions);
        return join === this.joins ? starts : undefined;
      } catch (error) {
        this.listener.onStartsFailed?.(
          new Error(`reading committed offsets failed: ${errorMessage(error)}`),
          this.retryEveryMs,
        );
        await new Promise((resolve) => setTimeout(resolve, this.retryEveryMs));
      }
    }
  }
}
