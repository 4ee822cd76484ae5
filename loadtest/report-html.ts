import type { MetricsSample } from './prometheus.js';
import type { LoadTestResult } from './result.js';
import type { Histogram, Summary } from './stats.js';
import { barChart, emptyChart, escapeHtml, formatNumber, lineChart, type Series } from './svg.js';

/**
 * The HTML report of a load test: one self-contained page (inline CSS and SVG, no scripts, no
 * external resources) with the summary, throughput over time, the latency histogram and the
 * service's queue depth over time.
 */
export function renderLoadTestReport(result: LoadTestResult): string {
  const { settings, produced, settled, latencyMs } = result;
  const title = `Load test ${result.runId}`;
  const rows: Array<[string, string]> = [
    ['started', result.startedAt],
    ['topic', settings.topic],
    ['output / dead-letter topic', `${settings.outputTopic ?? '—'} / ${settings.dlqTopic ?? '—'}`],
    [
      'load',
      [
        settings.count !== null ? `count ${settings.count}` : null,
        settings.rate !== null ? `rate ${settings.rate}/s` : 'as fast as possible',
        settings.durationSeconds !== null ? `for ${settings.durationSeconds} s` : null,
      ]
        .filter(Boolean)
        .join(', '),
    ],
    ['payload', `${settings.template}${settings.size !== null ? ` padded to ${settings.size} B` : ''}`],
    ['keys', settings.keys],
    [
      'malformed / failing',
      `${settings.malformed} / ${settings.failing} (failing ${settings.failAttempts} attempt(s))`,
    ],
    [
      'produced',
      `${produced.count} events (${produced.byKind.ok} ok, ${produced.byKind.malformed} malformed, ${produced.byKind.failing} failing), ${formatNumber(produced.bytes / 1e6)} MB in ${produced.seconds.toFixed(1)} s: ${formatNumber(produced.perSecond)}/s${produced.errors ? `, ${produced.errors} send errors` : ''}`,
    ],
  ];
  if (settled) {
    rows.push([
      'settled',
      `${settled.count} (${settled.toOutput} output, ${settled.toDeadLetter} dead-lettered, ${settled.duplicates} duplicates, ${settled.missing} missing) in ${settled.seconds.toFixed(1)} s: ${formatNumber(settled.perSecond)}/s`,
    ]);
  }
  const latencyTable = latencyMs
    ? table(
        ['end-to-end latency (ms)', 'count', 'p50', 'p90', 'p99', 'max', 'mean'],
        [
          summaryRow('produce → output record timestamp', latencyMs.byOutputTimestamp),
          summaryRow('produce → read by the load test', latencyMs.byReceiveTime),
          summaryRow('  ok events', latencyMs.byKind.ok),
          summaryRow('  failing events (retried)', latencyMs.byKind.failing),
          summaryRow('  malformed events (dead-lettered)', latencyMs.byKind.malformed),
          ...(latencyMs.warmupSeconds > 0
            ? [
                summaryRow(
                  `produce → output record, the first ${latencyMs.warmupSeconds} s (warm-up) included`,
                  latencyMs.byOutputTimestampIncludingWarmup,
                ),
              ]
            : []),
        ],
      )
    : '<p>No output topic was given: end-to-end latency was not measured.</p>';

  const seconds = (values: number[], bucketMs: number) =>
    values.map((v, i): [number, number] => [((i + 1) * bucketMs) / 1000, v]);
  const throughput = lineChart('Throughput over time', 'seconds since start', 'events/s', [
    {
      name: 'produced',
      color: '#4e79a7',
      points: seconds(result.timeline.producedPerSecond, result.timeline.bucketMs),
    },
    {
      name: 'settled',
      color: '#f28e2b',
      points: seconds(result.timeline.settledPerSecond, result.timeline.bucketMs),
    },
  ]);
  const latency = result.latencyHistogram
    ? barChart(
        'End-to-end latency distribution (produce → output record)',
        'milliseconds',
        'events',
        histogramBars(result.latencyHistogram),
      )
    : emptyChart('End-to-end latency distribution', 'not measured (no output topic)');
  const queue = queueChart(result);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 960px; }
table { border-collapse: collapse; margin: 12px 0; }
td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left; font-size: 13px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.warn { color: #a33; }
svg { display: block; margin: 16px 0; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${table(
  ['', ''],
  rows.map(([k, v]) => [escapeHtml(k), escapeHtml(v)]),
)}
${result.warnings.map((w) => `<p class="warn">${escapeHtml(w)}</p>`).join('\n')}
${latencyTable}
${throughput}
${latency}
${queue}
</body>
</html>
`;
}

function queueChart(result: LoadTestResult): string {
  const title = 'Service queue depth over time';
  const metrics = result.metrics;
  if (!metrics) return emptyChart(title, 'not sampled (no --metrics given)');
  const points = (pick: (s: MetricsSample) => number | null) =>
    metrics.samples.flatMap((s): Array<[number, number]> => {
      const v = pick(s);
      return v === null ? [] : [[s.t / 1000, v]];
    });
  const series: Series[] = [
    { name: 'queue_depth', color: '#e15759', points: points((s) => s.queueDepth) },
    { name: 'in flight', color: '#59a14f', points: points((s) => s.inFlight) },
  ];
  if (series.every((s) => s.points.length === 0)) return emptyChart(title, 'no sample answered');
  return lineChart(title, 'seconds since start', 'messages', series);
}

/** Histogram buckets as bars, from the first to the last non-empty one. */
export function histogramBars(h: Histogram): Array<{ label: string; value: number }> {
  const first = h.counts.findIndex((c) => c > 0);
  if (first < 0) return [];
  let last = h.counts.length - 1;
  while (last > first && h.counts[last] === 0) last--;
  const bars: Array<{ label: string; value: number }> = [];
  if (h.below > 0) bars.push({ label: `<${h.edges[0]}`, value: h.below });
  for (let i = first; i <= last; i++) {
    const next = h.edges[i + 1];
    bars.push({
      label:
        next === undefined
          ? `≥${formatNumber(h.edges[i]!)}`
          : `${formatNumber(h.edges[i]!)}–${formatNumber(next)}`,
      value: h.counts[i]!,
    });
  }
  return bars;
}

function summaryRow(label: string, s: Summary): string[] {
  const f = (v: number | null) => (v === null ? '—' : formatNumber(v));
  return [escapeHtml(label), String(s.count), f(s.p50), f(s.p90), f(s.p99), f(s.max), f(s.mean)];
}

/** Cells are HTML already (escaped by the caller). */
function table(head: string[], rows: string[][]): string {
  const th = head.some((h) => h !== '')
    ? `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`
    : '';
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${i > 0 && /^[\d.—kM]+$/.test(c) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table>${th}${body}</table>`;
}
