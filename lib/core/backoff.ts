/** How long to wait before each retry: exponential growth, a cap, and jitter around the result. */
export interface BackoffPolicy {
  /** Delay before the first retry, in milliseconds. */
  baseDelayMs: number;
  /** Factor applied per further retry (1 = constant delay). */
  multiplier: number;
  /** No delay exceeds this, jitter included. */
  maxDelayMs: number;
  /**
   * Spread as a ratio of the delay, 0..1: 0.2 picks uniformly in ±20 %. Jitter keeps consumers that
   * failed together (a broker or database blip) from retrying in lockstep.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF_POLICY: Readonly<BackoffPolicy> = {
  baseDelayMs: 100,
  multiplier: 2,
  maxDelayMs: 10_000,
  jitter: 0.2,
};

/**
 * Fills the defaults and rejects nonsense up front, so a bad configuration fails when the
 * pipeline is built rather than on the first failing message.
 */
export function resolveBackoffPolicy(policy: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const {
    baseDelayMs = DEFAULT_BACKOFF_POLICY.baseDelayMs,
    multiplier = DEFAULT_BACKOFF_POLICY.multiplier,
    maxDelayMs = DEFAULT_BACKOFF_POLICY.maxDelayMs,
    jitter = DEFAULT_BACKOFF_POLICY.jitter,
  } = policy;
  const check = (name: string, value: number, ok: boolean) => {
    if (!Number.isFinite(value) || !ok) throw new RangeError(`backoff: invalid ${name} ${value}`);
  };
  check('baseDelayMs', baseDelayMs, baseDelayMs >= 0);
  check('multiplier', multiplier, multiplier >= 1);
  check('maxDelayMs', maxDelayMs, maxDelayMs >= 0);
  check('jitter', jitter, jitter >= 0 && jitter <= 1);
  return { baseDelayMs, multiplier, maxDelayMs, jitter };
}

/**
 * The delay before retry number `attempt` (1-based): `baseDelayMs · multiplier^(attempt-1)`,
 * capped at `maxDelayMs`, then spread uniformly over ±`jitter` of itself (`random()` = 0.5 gives
 * the exact value) and capped again, so the result stays within [0, maxDelayMs].
 */
export function backoffDelay(
  attempt: number,
  policy: Partial<BackoffPolicy> = {},
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`backoff: attempt must be an integer >= 1, got ${attempt}`);
  }
  const { baseDelayMs, multiplier, maxDelayMs, jitter } = resolveBackoffPolicy(policy);
  // multiplier ** n overflows to Infinity for large n: the cap turns that back into maxDelayMs,
  // and a zero base is tested first because 0 · Infinity is NaN.
  const raw = baseDelayMs === 0 ? 0 : Math.min(baseDelayMs * multiplier ** (attempt - 1), maxDelayMs);
  // A misbehaving random source must not turn into a negative or NaN delay.
  const r = Math.min(1, Math.max(0, random() || 0));
  const delay = raw * (1 + jitter * (2 * r - 1));
  return Math.min(maxDelayMs, Math.max(0, delay));
}
