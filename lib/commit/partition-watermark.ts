interface Pending {
  offset: string;
  settled: boolean;
}

/**
 * The settled prefix of one partition's handed-off offsets. Offsets are handed off in
 * increasing order and may settle in any order; the commit point is the lowest offset not yet
 * settled (Kafka's "next offset to read"), so a later offset that finishes first never moves
 * the commit past an earlier one still running. Offsets stay strings; only the final "+1" uses
 * BigInt, because offsets exceed 2^53.
 */
export class PartitionWatermark {
  private queue: Pending[] = [];
  private head = 0;
  private readonly byOffset = new Map<string, Pending>();
  private lastSettledPrefix: string | undefined;

  /** Registers an offset handed to the pipeline. Offsets must arrive in increasing order. */
  add(offset: string): void {
    if (this.byOffset.has(offset)) return;
    const pending = { offset, settled: false };
    this.queue.push(pending);
    this.byOffset.set(offset, pending);
  }

  /** Marks an offset done; returns false for an offset this watermark never saw. */
  settle(offset: string): boolean {
    const pending = this.byOffset.get(offset);
    if (!pending) return false;
    pending.settled = true;
    this.advance();
    return true;
  }

  /**
   * The offset to commit: the lowest unsettled one, or one past the last settled when all are
   * settled; undefined before the first hand-off.
   */
  commitPoint(): string | undefined {
    const next = this.queue[this.head];
    if (next) return next.offset;
    return this.lastSettledPrefix === undefined
      ? undefined
      : (BigInt(this.lastSettledPrefix) + 1n).toString();
  }

  /** Offsets handed off and not yet settled. */
  get pending(): number {
    return this.byOffset.size;
  }

  private advance(): void {
    let entry = this.queue[this.head];
    while (entry?.settled) {
      this.byOffset.delete(entry.offset);
      this.lastSettledPrefix = entry.offset;
      this.head += 1;
      entry = this.queue[this.head];
    }
    // Drop the settled prefix now and then instead of shifting on every settle.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
