import type { EventKind } from './events.js';
import type { LoadTestResult } from './result.js';
import type { Summary } from './stats.js';

const KIND_LABELS: ReadonlyArray<[EventKind, string]> = [
  ['ok', 'ok events (never failing)'],
  ['failing', 'failing events (retried)'],
  ['malformed', 'malformed events (DLQ)'],
];

/** The load test's summary on stdout. */
export function summaryText(result: LoadTestResult): string {
  const { produced, settled, latencyMs } = result;
  const lines = [
    `produced ${produced.count} events in ${produced.seconds} s (${produced.perSecond}/s, ${(produced.bytes / 1e6).toFixed(1)} MB)`,
  ];
  if (settled) {
    lines.push(
      `settled  ${settled.count} (${settled.toOutput} output, ${settled.toDeadLetter} dead-lettered, ${settled.missing} missing, ${settled.duplicates} duplicates) by ${settled.seconds} s (${settled.perSecond}/s)`,
    );
  }
  const row = (label: string, s: Summary) =>
    `${label.padEnd(30)} p50 ${s.p50 ?? '—'}  p90 ${s.p90 ?? '—'}  p99 ${s.p99 ?? '—'}  max ${s.max ?? '—'} ms (n=${s.count})`;
  if (latencyMs) {
    lines.push(row('latency to output record', latencyMs.byOutputTimestamp));
    lines.push(row('latency to read by loadtest', latencyMs.byReceiveTime));
    if (latencyMs.warmupSeconds > 0) {
      lines.push(
        row(
          `  (warm-up of ${latencyMs.warmupSeconds} s left out; with it)`,
          latencyMs.byOutputTimestampIncludingWarmup,
        ),
      );
    }
    // Per kind once there is more than one, so that what retries cost the events that never
    // fail shows apart from the retried events' own backoff.
    const kinds = KIND_LABELS.filter(([kind]) => latencyMs.byKind[kind].count > 0);
    if (kinds.length > 1)
      for (const [kind, label] of kinds) lines.push(row(`  ${label}`, latencyMs.byKind[kind]));
  }
  const depths = (result.metrics?.samples ?? []).flatMap((s) =>
    s.queueDepth === null ? [] : [s.queueDepth],
  );
  if (depths.length > 0) {
    lines.push(`queue_depth max ${Math.max(...depths)} (${depths.length} samples)`);
  }
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}
