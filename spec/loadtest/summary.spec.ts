import { expect } from 'chai';
import type { EventKind } from '../../loadtest/events.js';
import type { LoadTestResult } from '../../loadtest/result.js';
import type { Summary } from '../../loadtest/stats.js';
import { summaryText } from '../../loadtest/summary.js';

const summary = (count: number, p50: number, p99: number): Summary => ({
  count,
  min: p50,
  mean: p50,
  p50,
  p90: p99,
  p99,
  max: p99,
});
const none: Summary = { count: 0, min: null, mean: null, p50: null, p90: null, p99: null, max: null };

function result(byKind: Record<EventKind, Summary>) {
  return {
    produced: {
      count: 100,
      byKind: { ok: 95, malformed: 0, failing: 5 },
      bytes: 1e5,
      seconds: 1,
      perSecond: 100,
      errors: 0,
    },
    settled: null,
    latencyMs: {
      warmupSeconds: 0,
      byOutputTimestamp: summary(100, 3, 120),
      byOutputTimestampIncludingWarmup: summary(100, 3, 120),
      byReceiveTime: summary(100, 4, 130),
      byKind,
    },
    metrics: {
      url: 'http://127.0.0.1:8080/metrics',
      errors: 0,
      samples: [0, 12, 3, null].map((queueDepth, t) => ({
        t,
        queueDepth,
        inFlight: null,
        ingested: null,
        processed: null,
        deadLettered: null,
        retries: null,
        residentBytes: null,
      })),
    },
    warnings: [],
  } as unknown as LoadTestResult;
}

describe('loadtest summary', () => {
  it('gives the latency of each kind of event apart when there are several, and the largest queue_depth', () => {
    const text = summaryText(
      result({ ok: summary(95, 2, 20), failing: summary(5, 105, 140), malformed: none }),
    );
    expect(text).to.match(
      /^ {2}ok events \(never failing\) +p50 2 {2}p90 20 {2}p99 20 {2}max 20 ms \(n=95\)$/m,
    );
    expect(text).to.match(
      /^ {2}failing events \(retried\) +p50 105 {2}p90 140 {2}p99 140 {2}max 140 ms \(n=5\)$/m,
    );
    expect(text).not.to.include('malformed events');
    expect(text).to.include('queue_depth max 12 (3 samples)');
  });

  it('gives no per-kind lines when every event is of one kind', () => {
    const text = summaryText(result({ ok: summary(100, 3, 120), failing: none, malformed: none }));
    expect(text).not.to.include('ok events');
  });
});
