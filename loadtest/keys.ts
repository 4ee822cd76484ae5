import type { Random } from './random.js';

/**
 * How events get their keys:
 *   none          no key (the producer spreads events over partitions)
 *   uniform:N     key-1 … key-N, equally likely
 *   zipf:N:s      key-1 … key-N, key-k with probability ∝ 1/k^s (key-1 the hottest)
 */
export type KeySpec =
  { kind: 'none' } | { kind: 'uniform'; n: number } | { kind: 'zipf'; n: number; s: number };

/** Largest N accepted: a zipf table holds one 8-byte number per key. */
export const MAX_KEYS = 10_000_000;

export function parseKeySpec(text: string): KeySpec {
  const parts = text.trim().split(':');
  const fail = (): never => {
    throw new Error(
      `--keys must be none, uniform:N or zipf:N:s with 1 <= N <= ${MAX_KEYS}, s > 0 (got "${text}")`,
    );
  };
  const count = (value: string | undefined): number => {
    const n = Number(value);
    return Number.isInteger(n) && n >= 1 && n <= MAX_KEYS ? n : fail();
  };
  switch (parts[0]) {
    case 'none':
      return parts.length === 1 ? { kind: 'none' } : fail();
    case 'uniform':
      return parts.length === 2 ? { kind: 'uniform', n: count(parts[1]) } : fail();
    case 'zipf': {
      if (parts.length !== 3) return fail();
      const s = Number(parts[2]);
      if (!(Number.isFinite(s) && s > 0)) return fail();
      return { kind: 'zipf', n: count(parts[1]), s };
    }
    default:
      return fail();
  }
}

export function describeKeySpec(spec: KeySpec): string {
  if (spec.kind === 'none') return 'none';
  return spec.kind === 'uniform' ? `uniform:${spec.n}` : `zipf:${spec.n}:${spec.s}`;
}

/** Cumulative probabilities of ranks 1…n under zipf(s); the last entry is exactly 1. */
export function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    sum += 1 / Math.pow(k, s);
    cdf[k - 1] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] = cdf[i]! / sum;
  cdf[n - 1] = 1;
  return cdf;
}

/** The first index whose cumulative probability exceeds u (binary search). */
export function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A function giving the next event's key (a rank from 1 as `key-<rank>`), or null. */
export function keyChooser(spec: KeySpec, random: Random): () => string | null {
  switch (spec.kind) {
    case 'none':
      return () => null;
    case 'uniform':
      return () => `key-${1 + Math.floor(random() * spec.n)}`;
    case 'zipf': {
      const cdf = zipfCdf(spec.n, spec.s);
      return () => `key-${1 + sampleCdf(cdf, random())}`;
    }
  }
}
