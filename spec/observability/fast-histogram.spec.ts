import { expect } from 'chai';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../lib/observability/fast-histogram.js';

describe('FastHistogram', () => {
  const buckets = [0.01, 0.1, 1, 10];
  const observations = [0, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 10, 11, 500];

  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const reference = new Registry();
    const histogram = new Histogram({
      name: 'latency_seconds',
      help: 'Latency.',
      labelNames: ['service', 'outcome'],
      buckets,
      registers: [reference],
    });
    const fast = new Registry();
    const child = new FastHistogram('latency_seconds', 'Latency.', buckets, fast).child({
      service: 's',
      outcome: 'processed',
    });
    for (const value of observations) {
      histogram.observe({ service: 's', outcome: 'processed' }, value);
      child.observe(value);
    }
    expect(await fast.metrics()).to.equal(await reference.metrics());
  });

  it('exports a series at zero as soon as it is bound, and reset() zeroes it', async () => {
    const registry = new Registry();
    const metric = new FastHistogram('idle_seconds', 'Idle.', buckets, registry);
    const child = metric.child({ service: 's' });
    expect(await registry.metrics()).to.include('idle_seconds_count{service="s"} 0');
    child.observe(3);
    expect(await registry.metrics()).to.include('idle_seconds_bucket{le="10",service="s"} 1');
    metric.reset();
    expect(await registry.metrics()).to.include('idle_seconds_count{service="s"} 0');
  });
});
