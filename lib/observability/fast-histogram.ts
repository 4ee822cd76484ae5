import type { Metric, MetricValueWithName, Registry } from 'prom-client';

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export interface HistogramChild {
  observe(value: number): void;
}

/**
 * A Prometheus histogram for values observed on every message. prom-client's Histogram
 * validates and hashes the labels on each observation, which cost more than the rest of the
 * per-message metrics together; here a child is bound to its series once and an observation
 * is a bucket search and three additions. The exposition is the same (`_bucket`, `_sum`,
 * `_count`, cumulative `le` buckets), produced at scrape time.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of `labels`, created (at zero, so it is exported at once) on first use. */
  child(labels: Labels): HistogramChild {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const { buckets } = this;
    const target = series;
    return {
      observe(value: number) {
        let i = 0;
        while (i < buckets.length && value > buckets[i]!) i += 1;
        target.counts[i]! += 1;
        target.sum += value;
        target.count += 1;
      },
    };
  }

  /** What the registry formats at scrape time, in the shape prom-client's own metrics give. */
  async get() {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: bound, ...labels },
          value: cumulative,
        });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
