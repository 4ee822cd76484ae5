/** Latency (or any sample) summary; null fields when there were no samples. */
export interface Summary {
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/**
 * The p-th percentile (0–100) of ascending `sorted` values by the nearest-rank method: the
 * smallest value with at least p % of the samples at or below it. NaN for no samples.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1]!;
}

/** Count, min, mean, p50, p90, p99 and max of `values` (not modified). */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, min: null, mean: null, p50: null, p90: null, p99: null, max: null };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    min: sorted[0]!,
    mean: sum / n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[n - 1]!,
  };
}

/** The largest value, or -Infinity for none: Math.max(...values) overflows the stack on a long run. */
export function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

/** A growing list of numbers kept in a typed array (8 bytes a sample, no boxing). */
export class Samples {
  private data: Float64Array;
  length = 0;

  constructor(initialCapacity = 1024) {
    this.data = new Float64Array(Math.max(1, initialCapacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export interface Histogram {
  /** Bucket i holds values in [edges[i], edges[i + 1]); the last one everything from its edge. */
  edges: number[];
  counts: number[];
  /** Values below edges[0]. */
  below: number;
}

/** Histogram of `values` over ascending `edges` (see Histogram). */
export function histogram(values: ArrayLike<number>, edges: readonly number[]): Histogram {
  if (edges.length === 0) throw new RangeError('histogram needs at least one edge');
  for (let i = 1; i < edges.length; i++) {
    if (!(edges[i]! > edges[i - 1]!)) throw new RangeError('histogram edges must ascend');
  }
  const counts = new Array<number>(edges.length).fill(0);
  let below = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value < edges[0]!) {
      below++;
      continue;
    }
    let lo = 0;
    let hi = edges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (edges[mid]! <= value) lo = mid;
      else hi = mid - 1;
    }
    counts[lo]!++;
  }
  return { edges: [...edges], counts, below };
}

/**
 * Bucket edges 0, 1, 2, 5, 10, 20, 50, … (a 1-2-5 series), up to the first edge above `max`:
 * readable on a log-like axis for latencies from a millisecond to minutes.
 */
export function oneTwoFiveEdges(max: number): number[] {
  const edges = [0];
  for (let decade = 1; ; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const edge = step * decade;
      edges.push(edge);
      if (edge > max) return edges;
    }
  }
}

/** Events counted into fixed time buckets from a start time: a throughput series. */
export class RateSeries {
  private readonly counts: number[] = [];

  constructor(
    readonly startMs: number,
    readonly bucketMs = 1000,
  ) {}

  add(atMs: number, n = 1): void {
    const index = Math.max(0, Math.floor((atMs - this.startMs) / this.bucketMs));
    while (this.counts.length <= index) this.counts.push(0);
    this.counts[index]! += n;
  }

  /** Events per bucket, bucket 0 starting at startMs (empty buckets included). */
  buckets(): number[] {
    return [...this.counts];
  }

  /**
   * Events per second in each bucket. With `endMs`, the last bucket counts as covering only up
   * to it (a partial bucket would otherwise read as a drop), and is left out when it covers
   * less than half a bucket (too short to be a rate).
   */
  perSecond(endMs?: number): number[] {
    const rates = this.counts.map((count) => (count * 1000) / this.bucketMs);
    if (endMs === undefined || rates.length === 0) return rates;
    const last = rates.length - 1;
    const covered = Math.min(this.bucketMs, endMs - (this.startMs + last * this.bucketMs));
    if (covered < this.bucketMs / 2) rates.pop();
    else rates[last] = (this.counts[last]! * 1000) / covered;
    return rates;
  }
}

/** `n` rounded to `digits` decimals (for JSON and tables). */
export function round(n: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(n * factor) / factor;
}
