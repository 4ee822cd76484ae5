/**
 * The settled prefix of one partition's handed-off offsets. Offsets are handed off in
 * increasing order and may settle in any order; the commit point is the lowest offset not yet
 * settled (Kafka's "next offset to read"), so a later offset that finishes first never moves
 * the commit past an earlier one still running.
 *
 * Only the unsettled offsets are kept, plus the highest one handed off: every offset handed
 * off between them has settled, so nothing about those needs remembering. Memory therefore
 * follows the messages in flight (bounded by the credits), not the messages settled behind
 * one that hangs. Offsets stay strings; only the final "+1" uses BigInt, because offsets
 * exceed 2^53.
 */
export class PartitionWatermark {
  /** Insertion order is hand-off order, which is ascending: the first is the lowest. */
  private readonly unsettled = new Set<string>();
  private highest: string | undefined;

  /** Registers an offset handed to the pipeline. Offsets must arrive in increasing order. */
  add(offset: string): void {
    // A second hand-off of an offset already seen (settled or not) changes nothing.
    if (this.highest !== undefined && !isAbove(offset, this.highest)) return;
    this.highest = offset;
    this.unsettled.add(offset);
  }

  /** Marks an offset done; returns false for an offset that was not handed off and unsettled. */
  settle(offset: string): boolean {
    return this.unsettled.delete(offset);
  }

  /**
   * The offset to commit: the lowest unsettled one, or one past the last settled when all are
   * settled; undefined before the first hand-off.
   */
  commitPoint(): string | undefined {
    if (this.highest === undefined) return undefined;
    const lowest = this.unsettled.values().next();
    return lowest.done ? (BigInt(this.highest) + 1n).toString() : lowest.value;
  }

  /** Offsets handed off and not yet settled. */
  get pending(): number {
    return this.unsettled.size;
  }

  /** The highest offset handed off; undefined before the first hand-off. */
  get highestHandedOff(): string | undefined {
    return this.highest;
  }

  /** The offsets handed off and not yet settled, lowest first. */
  unsettledOffsets(): IterableIterator<string> {
    return this.unsettled.values();
  }
}

/** a > b for offsets as Kafka writes them: decimal, no sign, no leading zeros. */
function isAbove(a: string, b: string): boolean {
  return a.length === b.length ? a > b : a.length > b.length;
}
