import { expect } from 'chai';
import { histogramBars, renderLoadTestReport } from '../../loadtest/report-html.js';
import type { LoadTestResult } from '../../loadtest/result.js';
import { histogram, oneTwoFiveEdges, summarize } from '../../loadtest/stats.js';
import { barChart, escapeHtml, lineChart, niceTicks } from '../../loadtest/svg.js';

function result(overrides: Partial<LoadTestResult> = {}): LoadTestResult {
  const latencies = [3, 4, 4, 5, 8, 12, 40];
  const s = summarize(latencies);
  return {
    kind: 'loadtest',
    runId: 'abc123',
    startedAt: '2026-11-26T19:00:00.000Z',
    settings: {
      brokers: ['127.0.0.1:9092'],
      topic: 'events',
      outputTopic: 'events-out',
      dlqTopic: 'events-dlq',
      count: null,
      rate: 100,
      durationSeconds: 3,
      template: '{"Id":"{{uuid}}","seq":{{seq}}}',
      size: null,
      keys: 'none',
      malformed: 0,
      failing: 0,
      failAttempts: 1,
      seed: 1,
    },
    produced: {
      count: 300,
      byKind: { ok: 300, malformed: 0, failing: 0 },
      bytes: 15000,
      seconds: 3,
      perSecond: 100,
      errors: 0,
    },
    settled: {
      count: 300,
      toOutput: 300,
      toDeadLetter: 0,
      duplicates: 0,
      missing: 0,
      seconds: 3.1,
      perSecond: 96.8,
    },
    latencyMs: {
      warmupSeconds: 0,
      byOutputTimestampIncludingWarmup: s,
      byOutputTimestamp: s,
      byReceiveTime: s,
      byKind: { ok: s, malformed: summarize([]), failing: summarize([]) },
    },
    latencyHistogram: histogram(latencies, oneTwoFiveEdges(40)),
    timeline: { bucketMs: 1000, producedPerSecond: [100, 100, 100], settledPerSecond: [90, 100, 110] },
    metrics: {
      url: 'http://127.0.0.1:8080/metrics',
      samples: [0, 1000, 2000].map((t, i) => ({
        t,
        queueDepth: i * 10,
        inFlight: 3,
        ingested: null,
        processed: null,
        deadLettered: null,
        retries: null,
        residentBytes: null,
      })),
      errors: 0,
    },
    warnings: [],
    ...overrides,
  };
}

describe('loadtest HTML report', () => {
  it('is one self-contained page: three inline SVG charts, no scripts, no external resources', () => {
    const html = renderLoadTestReport(result());
    expect(html).to.match(/^<!doctype html>/);
    expect(html.match(/<svg /g)).to.have.length(3);
    expect(html).to.include('Throughput over time');
    expect(html).to.include('End-to-end latency distribution');
    expect(html).to.include('Service queue depth over time');
    expect(html).not.to.match(/<script|<link|<img|\bsrc=|\bhref=|@import|url\(/i);
    expect(html).not.to.match(/https?:\/\//);
  });

  it('draws one path per series and one bar per latency bucket', () => {
    const html = renderLoadTestReport(result());
    expect(html.match(/<path /g)).to.have.length(4); // produced, settled, queue depth, in flight
    expect(html).to.include('<title>2–5: 3</title>');
    expect(html).to.include('<title>20–50: 1</title>');
  });

  it('escapes everything that comes from settings, templates and warnings', () => {
    const html = renderLoadTestReport(
      result({
        settings: { ...result().settings, topic: '<script>alert(1)</script>', template: '{"a":"</td>"}' },
        warnings: ['<img onerror=x>'],
      }),
    );
    expect(html).not.to.include('<script>alert');
    expect(html).not.to.include('<img');
    expect(html).to.include('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).to.include('&lt;/td&gt;');
  });

  it('says what was not measured instead of drawing empty charts', () => {
    const html = renderLoadTestReport(
      result({
        settled: null,
        latencyMs: null,
        latencyHistogram: null,
        metrics: null,
        timeline: { bucketMs: 1000, producedPerSecond: [], settledPerSecond: [] },
      }),
    );
    expect(html).to.include('end-to-end latency was not measured');
    expect(html).to.include('not sampled (no --metrics given)');
    expect(html).to.include('no data');
    expect(html).not.to.include('NaN');
  });

  it('labels histogram bars from the first to the last non-empty bucket', () => {
    const h = histogram([3, 4, 700], oneTwoFiveEdges(700));
    const bars = histogramBars(h);
    expect(bars[0]).to.deep.equal({ label: '2–5', value: 2 });
    expect(bars[bars.length - 1]).to.deep.equal({ label: '500–1000', value: 1 });
    expect(histogramBars(histogram([], [0, 1]))).to.deep.equal([]);
  });

  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 10)).to.deep.equal([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 7300)).to.deep.equal([0, 2000, 4000, 6000, 8000]);
    expect(niceTicks(0, 0)).to.deep.equal([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const ticks = niceTicks(0, 0.37);
    expect(ticks[0]).to.equal(0);
    expect(ticks[ticks.length - 1]).to.be.at.least(0.37);
  });

  it('renders charts with no finite coordinates lost', () => {
    const svg = lineChart('t', 'x', 'y', [
      {
        name: 'a',
        color: '#000',
        points: [
          [0, 0],
          [1, 5],
        ],
      },
    ]);
    expect(svg).not.to.match(/NaN|Infinity/);
    expect(barChart('t', 'x', 'y', [{ label: 'one', value: 0 }])).not.to.match(/NaN|Infinity/);
    expect(escapeHtml(`<a href="x">'&'</a>`)).to.equal(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });
});
