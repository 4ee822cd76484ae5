import { setMaxListeners } from 'node:events';
import { decodeFinishedAbove, encodeFinishedAbove, type FinishedAbove } from './commit-metadata.js';
import { compareOffsets, nextOffset, offsetAfter } from './offsets.js';
import { PartitionWatermark } from './partition-watermark.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: string;
  /** Commit metadata: which offsets above `offset` finished already (see commit-metadata). */
  metadata?: string;
}

/** A commit due for one partition, with the ownership it was computed under. */
export interface DueOffset extends TopicPartitionOffset {
  epoch: number;
  /** The partition's settle count when this was computed. */
  settles: number;
}

export interface Assignment {
  topic: string;
  partitions: number[];
}

/** What the broker holds for a partition when an ownership starts. */
export interface PartitionStart {
  /** The group's committed offset, or undefined when the group never committed one. */
  committed: string | undefined;
  /** The metadata committed with it. */
  metadata?: string | null;
  /** Where reading starts without a committed offset (the log start: fromBeginning). */
  earliest: string;
}

/**
 * One partition as this member owns it. The ownership lasts as long as the partition stays
 * assigned without anybody else moving its committed offset; a group join that keeps the
 * partition keeps the ownership, its in-flight work and its watermark.
 */
export interface PartitionClaim extends TopicPartition {
  /** Numbers the ownership; deliveries carry it, and settles of an older one are ignored. */
  readonly epoch: number;
  /** Aborted when the ownership ends (revoked, or taken over by another member meanwhile). */
  readonly signal: AbortSignal;
  /**
   * The next offset to hand off, in Kafka's "next offset to read" sense. Undefined until the
   * broker's committed offset is known: a new ownership starts there, never at whatever batch
   * happens to arrive first (a fetch from before a rejoin may still arrive).
   */
  readonly position: string | undefined;
}

interface OwnedPartition extends PartitionClaim {
  key: string;
  controller: AbortController;
  position: string | undefined;
  /** The commit point before the first hand-off: the offset this ownership started at. */
  start: string | undefined;
  watermark: PartitionWatermark;
  /** The last offset the broker acknowledged for this partition (ours or found at the start). */
  lastCommitted: string | undefined;
  /** Settles so far, and as of the last acknowledged commit: its metadata is stale when they differ. */
  settles: number;
  settlesCommitted: number;
  /** Offsets above the start that finished before the last owner's commit: not processed again. */
  finished: FinishedAbove | undefined;
  /** False from a group join until the broker's committed offset was read for it. */
  confirmed: boolean;
  waiters: Array<() => void>;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * The partitions this member owns and the settled prefix of each: what may be handed off
 * (continuing the partition's position), what is due for a commit, and which work is stale.
 *
 * A group join does not by itself end anything: kafkajs rejoins from inside a fetch when a
 * partition leader moves, and the broker's generation does not even change when a follower
 * rejoins a stable group. Only a partition that is revoked, or whose committed offset was moved
 * by another member while we were out of the group, ends its ownership and abandons its work.
 */
export class OffsetTracker {
  private owned = new Map<string, OwnedPartition>();
  private epochs = 0;
  private lastLookup: OwnedPartition | undefined;

  /**
   * A group join's assignment. Revoked partitions end at once (their signal aborts); kept and
   * added ones wait for `start()` with the broker's committed offsets before anything is handed
   * off or committed for them.
   */
  assign(assignment: Assignment[]): {
    revoked: TopicPartition[];
    added: TopicPartition[];
    kept: TopicPartition[];
  } {
    const next = new Map<string, OwnedPartition>();
    const added: TopicPartition[] = [];
    const kept: TopicPartition[] = [];
    for (const { topic, partitions } of assignment) {
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        const previous = this.owned.get(key);
        if (previous) {
          previous.confirmed = false;
          next.set(key, previous);
          kept.push({ topic, partition });
        } else {
          next.set(key, this.newOwnership(topic, partition));
          added.push({ topic, partition });
        }
      }
    }
    const revoked: TopicPartition[] = [];
    for (const [key, owned] of this.owned) {
      if (next.has(key)) continue;
      this.end(owned, 'partition revoked');
      revoked.push({ topic: owned.topic, partition: owned.partition });
    }
    this.owned = next;
    this.lastLookup = undefined;
    return { revoked, added, kept };
  }

  /**
   * The broker's committed offset for an owned partition after a join. A new ownership starts
   * there. A kept one goes on where it was, unless another member committed past our last
   * commit meanwhile (we had dropped out of the group): its work is then stale and a new
   * ownership starts at that offset. Returns true when a kept partition's ownership was
   * replaced that way.
   */
  start(topic: string, partition: number, broker: PartitionStart): boolean {
    let owned = this.owned.get(keyOf(topic, partition));
    if (!owned || owned.confirmed) return false;
    const takenOver = owned.start !== undefined && movedByOthers(owned, broker.committed);
    const startsAnew = owned.start === undefined || takenOver;
    if (startsAnew) {
      if (takenOver) {
        this.end(owned, 'partition taken over by another member meanwhile');
        owned = this.newOwnership(topic, partition);
        this.owned.set(owned.key, owned);
        this.lastLookup = undefined;
      }
      owned.start = broker.committed ?? broker.earliest;
      owned.position = owned.start;
      owned.lastCommitted = broker.committed;
      owned.finished =
        broker.committed === undefined ? undefined : decodeFinishedAbove(broker.committed, broker.metadata);
    }
    owned.confirmed = true;
    for (const wake of owned.waiters.splice(0)) wake();
    return takenOver;
  }

  /** The partition as the source may hand it off, or undefined when it is not owned. */
  claim(topic: string, partition: number): PartitionClaim | undefined {
    return this.find(topic, partition);
  }

  /** Whether the claim still holds and may hand off (owned, same ownership, offsets known). */
  isCurrent(claim: PartitionClaim): boolean {
    const owned = claim as OwnedPartition;
    return this.owned.get(owned.key) === owned && owned.confirmed && !owned.controller.signal.aborted;
  }

  /**
   * Resolves once the claim's partition may hand off (its committed offset was read) or has
   * ended, or after `timeoutMs`, so a waiting intake can heartbeat in between.
   */
  whenConfirmed(claim: PartitionClaim, timeoutMs: number): Promise<void> {
    const owned = claim as OwnedPartition;
    if (owned.confirmed || this.owned.get(owned.key) !== owned) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      owned.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Registers an offset handed to the pipeline under `claim`; offsets come in increasing order. */
  handOff(claim: PartitionClaim, offset: string): void {
    (claim as OwnedPartition).watermark.add(offset);
  }

  /**
   * For an offset the previous commit recorded as finished: registers it as handed off and
   * settled at once, and returns true; the message is not processed again. False otherwise.
   */
  skipFinished(claim: PartitionClaim, offset: string): boolean {
    const owned = claim as OwnedPartition;
    const finished = owned.finished;
    if (finished === undefined) return false;
    if (compareOffsets(offset, finished.upTo) > 0) {
      owned.finished = undefined;
      return false;
    }
    if (finished.unfinished.has(offset) || !offsetAfter(offset, owned.start!)) return false;
    owned.watermark.add(offset);
    owned.watermark.settle(offset);
    owned.settles += 1;
    return true;
  }

  /** Moves the claim's position past `lastOffset` once a run of hand-offs ended there. */
  advance(claim: PartitionClaim, lastOffset: string): void {
    const owned = claim as OwnedPartition;
    if (owned.position === undefined || compareOffsets(lastOffset, owned.position) >= 0)
      owned.position = nextOffset(lastOffset);
  }

  /**
   * kafkajs resolved a batch by itself (all its records were filtered out). The position
   * follows when that batch continued it; otherwise the batch was stale and changes nothing.
   */
  skippedByClient(topic: string, partition: number, firstOffset: string | null, lastOffset: string): void {
    const owned = this.find(topic, partition);
    if (!owned?.confirmed || owned.position === undefined) return;
    if (!offsetAfter(firstOffset ?? lastOffset, owned.position)) this.advance(owned, lastOffset);
  }

  settle(topic: string, partition: number, offset: string, epoch: number): void {
    const owned = this.find(topic, partition);
    if (owned && owned.epoch === epoch && owned.watermark.settle(offset)) owned.settles += 1;
  }

  /**
   * Offsets that moved since they were last committed, for owned partitions whose committed
   * offset is known: a partition waiting for that after a join is never committed, so a commit
   * can never lower what another member committed meanwhile.
   */
  due(): DueOffset[] {
    const due: DueOffset[] = [];
    for (const owned of this.owned.values()) {
      if (!owned.confirmed) continue;
      const { watermark } = owned;
      const offset = watermark.commitPoint() ?? owned.start;
      if (offset === undefined) continue;
      const moved = offset !== (owned.lastCommitted ?? owned.start);
      // Settles above a commit point that did not move change only the metadata.
      const finishedAbove = watermark.pending > 0 && owned.settles !== owned.settlesCommitted;
      if (!moved && !finishedAbove) continue;
      const highest = watermark.highestHandedOff;
      const metadata =
        highest === undefined
          ? undefined
          : encodeFinishedAbove(offset, highest, watermark.unsettledOffsets());
      due.push({
        topic: owned.topic,
        partition: owned.partition,
        offset,
        epoch: owned.epoch,
        settles: owned.settles,
        ...(metadata === undefined ? {} : { metadata }),
      });
    }
    return due;
  }

  /** Records what the broker acknowledged; ignored for partitions whose ownership ended since. */
  committed(offsets: DueOffset[]): void {
    for (const { topic, partition, offset, epoch, settles } of offsets) {
      const owned = this.find(topic, partition);
      if (owned && owned.epoch === epoch) {
        owned.lastCommitted = offset;
        owned.settlesCommitted = settles;
      }
    }
  }

  /** Where each owned partition would commit now, once anything was handed off in it. */
  commitPoints(): TopicPartitionOffset[] {
    return [...this.owned.values()].flatMap(({ topic, partition, watermark }) => {
      const offset = watermark.commitPoint();
      return offset === undefined ? [] : [{ topic, partition, offset }];
    });
  }

  /** The committed offset of each owned partition (for metrics). */
  positions(): TopicPartitionOffset[] {
    return [...this.owned.values()].flatMap(({ topic, partition, lastCommitted }) =>
      lastCommitted === undefined ? [] : [{ topic, partition, offset: lastCommitted }],
    );
  }

  ownedPartitions(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Ends every ownership's work, e.g. when shutdown gives up waiting. */
  abortAll(reason: string): void {
    for (const owned of this.owned.values()) owned.controller.abort(new Error(reason));
  }

  private newOwnership(topic: string, partition: number): OwnedPartition {
    const controller = new AbortController();
    // Every message of the partition in flight listens to this one signal (each removes its
    // listener when it settles), so more than 10 is normal: no leak warning on stderr.
    setMaxListeners(0, controller.signal);
    this.epochs += 1;
    return {
      topic,
      partition,
      key: keyOf(topic, partition),
      epoch: this.epochs,
      controller,
      signal: controller.signal,
      position: undefined,
      start: undefined,
      watermark: new PartitionWatermark(),
      lastCommitted: undefined,
      settles: 0,
      settlesCommitted: 0,
      finished: undefined,
      confirmed: false,
      waiters: [],
    };
  }

  private end(owned: OwnedPartition, reason: string): void {
    owned.controller.abort(new Error(reason));
    for (const wake of owned.waiters.splice(0)) wake();
  }

  private find(topic: string, partition: number): OwnedPartition | undefined {
    // Called for every settle: remember the last partition instead of building its key.
    const last = this.lastLookup;
    if (last && last.topic === topic && last.partition === partition) return last;
    const owned = this.owned.get(keyOf(topic, partition));
    if (owned) this.lastLookup = owned;
    return owned;
  }
}

/**
 * Another member committed for this partition while we were out of the group: the broker's
 * offset is past the last one we know of. (Committed offsets only move forward, so an offset
 * at or below ours is our own.)
 */
function movedByOthers(owned: OwnedPartition, brokerCommitted: string | undefined): boolean {
  if (brokerCommitted === undefined) return false;
  const ours = owned.lastCommitted ?? owned.start;
  return ours === undefined || offsetAfter(brokerCommitted, ours);
}
