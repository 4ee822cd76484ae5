/** A message handed to the pipeline and not settled yet, with when it was handed off (ms). */
export interface UnsettledMessage {
  topic: string;
  partition: number;
  offset: string;
  handedOffAt: number;
}

export interface ProgressInput {
  now: number;
  /** Messages taken in and not settled (the credits held). */
  held: number;
  lastSettleAt: number;
  /** The message handed off longest ago of those not settled yet. */
  oldest: UnsettledMessage | undefined;
  /** No settle at all for this long, while messages are held, is no progress. */
  stuckAfterMs: number;
  /** One message unsettled for this long is stuck, however well the others flow (STUCK_MESSAGE_MS). */
  stuckMessageMs: number;
}

/**
 * The 'progress' condition of /readyz. Two ways to stop making progress: nothing settles at all
 * (every worker hangs, or the dead-letter topic cannot be written), or one message never settles
 * while the others do. The second is easy to miss, since throughput looks normal, yet its
 * partition's commit stops at that message: a restart would deliver everything after it again.
 * The reason names the message, so an operator can find it.
 */
export function progressOf(input: ProgressInput): { ok: boolean; reason?: string } {
  const { now, held, lastSettleAt, oldest, stuckAfterMs, stuckMessageMs } = input;
  const oldestAgeMs = oldest === undefined ? 0 : now - oldest.handedOffAt;
  const oldestText =
    oldest === undefined
      ? ''
      : `${oldest.topic}/${oldest.partition} offset ${oldest.offset} unsettled for ${seconds(oldestAgeMs)} s`;
  if (held > 0 && now - lastSettleAt > stuckAfterMs) {
    return {
      ok: false,
      reason: `no message settled for ${stuckAfterMs} ms` + (oldest ? `; the oldest, ${oldestText}` : ''),
    };
  }
  if (oldest !== undefined && oldestAgeMs > stuckMessageMs) {
    return { ok: false, reason: `${oldestText} while others settle (stuck after ${stuckMessageMs} ms)` };
  }
  return { ok: true };
}

function seconds(ms: number): string {
  return String(Math.floor(ms / 1000));
}
