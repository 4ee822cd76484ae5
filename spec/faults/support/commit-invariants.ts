/**
 * The two rules a group's committed offsets must keep, checked over a series of observations
 * (DESIGN invariant 10). Pure: the commit watcher gathers the observations and the finish times,
 * this decides what broke a rule.
 */

/** The group's committed offset of each partition, as read at `at` (ms, this machine's clock). */
export interface CommitObservation {
  /** When the answer arrived: the commits it shows were made no later than this. */
  at: number;
  /** Partition → committed offset, '-1' when the group has none. */
  committed: ReadonlyMap<number, string>;
}

/**
 * When a source message was finished (its output record or dead letter appended by the
 * broker), in ms; undefined when it never was.
 */
export type FinishedAt = (partition: number, offset: string) => number | undefined;

/** A partition's committed offset lower than in the observation before. */
export interface BackwardMove {
  partition: number;
  from: string;
  to: string;
  /** When the lower offset was seen. */
  at: number;
}

/** A committed offset seen above an offset whose message was not finished by then. */
export interface CommitPastUnfinished {
  partition: number;
  offset: string;
  committed: string;
  /** The first observation whose commit covered `offset`. */
  at: number;
  /** When the message was finished after all; undefined: never. */
  finishedAt: number | undefined;
}

export interface CommitViolations {
  backwardMoves: BackwardMove[];
  pastUnfinished: CommitPastUnfinished[];
}

export interface CheckOptions {
  /**
   * Per partition, the first offset to judge (default 0): offsets below it were committed
   * before anyone watched.
   */
  judgedFrom?: ReadonlyMap<number, string>;
  /** How much later than an observation a finish may be stamped and still count (default 0). */
  toleranceMs?: number;
}

/**
 * Checks `observations`, in the order they were made:
 * 1. a partition's committed offset never moves backwards from one observation to the next
 *    (a commit that disappears, back to '-1', counts too);
 * 2. every offset below a committed offset c seen at time t was finished by t: each offset is
 *    judged at the first observation that covered it, the earliest and so strictest moment.
 */
export function checkCommitInvariants(
  observations: readonly CommitObservation[],
  finishedAt: FinishedAt,
  { judgedFrom = new Map(), toleranceMs = 0 }: CheckOptions = {},
): CommitViolations {
  const backwardMoves: BackwardMove[] = [];
  const pastUnfinished: CommitPastUnfinished[] = [];
  const previous = new Map<number, bigint>();
  // Per partition, the offsets below this were judged already.
  const covered = new Map<number, bigint>();
  for (const { at, committed } of observations) {
    for (const [partition, text] of committed) {
      const offset = BigInt(text);
      const before = previous.get(partition);
      if (before !== undefined && offset < before)
        backwardMoves.push({ partition, from: before.toString(), to: text, at });
      previous.set(partition, offset);
      let next = covered.get(partition) ?? BigInt(judgedFrom.get(partition) ?? '0');
      for (; next < offset; next++) {
        const finished = finishedAt(partition, next.toString());
        if (finished === undefined || finished > at + toleranceMs)
          pastUnfinished.push({
            partition,
            offset: next.toString(),
            committed: text,
            at,
            finishedAt: finished,
          });
      }
      covered.set(partition, next);
    }
  }
  return { backwardMoves, pastUnfinished };
}
