import { PartitionWatermark } from './partition-watermark.js';

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface Assignment {
  topic: string;
  partitions: number[];
}

interface OwnedPartition {
  topic: string;
  partition: number;
  generation: number;
  watermark: PartitionWatermark;
  lastCommitted: string | undefined;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Per-partition watermarks of the partitions this member owns, one generation at a time.
 * A group join starts every partition afresh (kafkajs restarts each from its committed offset),
 * so hand-offs and settles stamped with an older generation are ignored: they can never move a
 * newer generation's watermark, and revoked partitions are never committed.
 */
export class OffsetTracker {
  private owned = new Map<string, OwnedPartition>();
  private currentGeneration = 0;
  private lastLookup: { topic: string; partition: number; key: string; owned: OwnedPartition } | undefined;

  get generation(): number {
    return this.currentGeneration;
  }

  /** A new group generation with its assignment; returns the partitions that were revoked. */
  assign(generation: number, assignment: Assignment[]): Array<{ topic: string; partition: number }> {
    const next = new Map<string, OwnedPartition>();
    for (const { topic, partitions } of assignment) {
      for (const partition of partitions) {
        const previous = this.owned.get(keyOf(topic, partition));
        next.set(keyOf(topic, partition), {
          topic,
          partition,
          generation,
          watermark: new PartitionWatermark(),
          lastCommitted: previous?.lastCommitted,
        });
      }
    }
    const revoked = [...this.owned.values()].filter((p) => !next.has(keyOf(p.topic, p.partition)));
    this.owned = next;
    this.currentGeneration = generation;
    return revoked.map(({ topic, partition }) => ({ topic, partition }));
  }

  handOff(topic: string, partition: number, offset: string, generation: number): void {
    const owned = this.current(topic, partition, generation);
    owned?.watermark.add(offset);
  }

  settle(topic: string, partition: number, offset: string, generation: number): void {
    this.current(topic, partition, generation)?.watermark.settle(offset);
  }

  /** Offsets that moved since their last commit, for owned partitions only. */
  due(): TopicPartitionOffset[] {
    const due: TopicPartitionOffset[] = [];
    for (const owned of this.owned.values()) {
      const offset = owned.watermark.commitPoint();
      if (offset !== undefined && offset !== owned.lastCommitted) {
        due.push({ topic: owned.topic, partition: owned.partition, offset });
      }
    }
    return due;
  }

  /** Records a successful commit; ignored for partitions owned by another generation since. */
  committed(offsets: TopicPartitionOffset[], generation: number): void {
    for (const { topic, partition, offset } of offsets) {
      const owned = this.current(topic, partition, generation);
      if (owned) owned.lastCommitted = offset;
    }
  }

  /** Current commit point of each owned partition (for metrics). */
  positions(): TopicPartitionOffset[] {
    return [...this.owned.values()].flatMap(({ topic, partition, watermark, lastCommitted }) => {
      const offset = lastCommitted ?? watermark.commitPoint();
      return offset === undefined ? [] : [{ topic, partition, offset }];
    });
  }

  ownedPartitions(): Array<{ topic: string; partition: number }> {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  private current(topic: string, partition: number, generation: number): OwnedPartition | undefined {
    // Called twice per message: remember the last partition instead of building its key.
    const last = this.lastLookup;
    if (
      last &&
      last.topic === topic &&
      last.partition === partition &&
      this.owned.get(last.key) === last.owned
    ) {
      return last.owned.generation === generation ? last.owned : undefined;
    }
    const key = keyOf(topic, partition);
    const owned = this.owned.get(key);
    if (owned) this.lastLookup = { topic, partition, key, owned };
    return owned && owned.generation === generation ? owned : undefined;
  }
}
