/** Where reading a partition starts and the end offset (exclusive) captured before reading. */
export interface PartitionPlan {
  partition: number;
  from: bigint;
  end: bigint;
}

/**
 * Which partitions of a bounded read are finished. A partition is finished once the record
 * before its end offset has been read (or skipped as a control record); one whose start is at
 * or past its end has nothing to read. Records at or past the end, written after the read
 * started, are never handed out.
 */
export class EndTracker {
  private readonly plans = new Map<number, PartitionPlan>();
  private readonly done = new Set<number>();

  constructor(plans: PartitionPlan[]) {
    for (const plan of plans) {
      this.plans.set(plan.partition, plan);
      if (plan.from >= plan.end) this.done.add(plan.partition);
    }
  }

  /** A partition outside the plan counts as finished: nothing of it is wanted. */
  isDone(partition: number): boolean {
    return this.done.has(partition) || !this.plans.has(partition);
  }

  allDone(): boolean {
    return [...this.plans.keys()].every((partition) => this.done.has(partition));
  }

  donePartitions(): number[] {
    return [...this.plans.keys()].filter((partition) => this.isDone(partition));
  }

  /** Whether the record at `offset` is to be handed out: at or after the start, before the end. */
  wanted(partition: number, offset: bigint): 'before' | 'wanted' | 'past-end' {
    const plan = this.plans.get(partition);
    if (!plan || offset >= plan.end) return 'past-end';
    return offset < plan.from ? 'before' : 'wanted';
  }

  /** Records that everything up to `offset` was read; true when that finished the partition. */
  readUpTo(partition: number, offset: bigint): boolean {
    const plan = this.plans.get(partition);
    if (plan && offset >= plan.end - 1n) this.done.add(partition);
    return this.isDone(partition);
  }
}

/**
 * Spaces messages at most `ratePerSecond` apart. A slow stretch is not made up for with a
 * burst afterwards: the next slot is never earlier than now.
 */
export class Pacer {
  private next: number | undefined;

  constructor(private readonly ratePerSecond: number | undefined) {}

  /** Milliseconds to wait before sending at `now`; books that slot. */
  delay(now: number): number {
    if (this.ratePerSecond === undefined) return 0;
    const slot = this.next === undefined ? now : Math.max(now, this.next);
    this.next = slot + 1000 / this.ratePerSecond;
    return slot - now;
  }
}
