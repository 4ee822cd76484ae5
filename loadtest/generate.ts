/**
 * The load generator: `npm run loadtest -- --rate 2000 --duration 30 --output-topic events-out
 * --metrics http://127.0.0.1:8080/metrics`. See `npm run loadtest -- --help` and README.md here.
 */
import { readFileSync } from 'node:fs';
import { runLoadTest, writeLoadTestResult } from './load-test.js';
import { LOADTEST_USAGE, parseLoadTestArgs, UsageError } from './options.js';
import type { LoadTestResult } from './result.js';
import type { Summary } from './stats.js';
import { DEFAULT_TEMPLATE } from './template.js';
import { ignoreKafkajsNegativeTimeouts } from '../lib/kafka/negative-timeout-warning.js';

ignoreKafkajsNegativeTimeouts();

async function main(): Promise<number> {
  let options;
  try {
    options = parseLoadTestArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${LOADTEST_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(LOADTEST_USAGE);
    return 0;
  }
  const template = options.templatePath
    ? readFileSync(options.templatePath, 'utf8').trim()
    : DEFAULT_TEMPLATE;
  let stop!: () => void;
  const stopSignal = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', () => {
    process.stderr.write('\nSIGINT: stopping, writing results (again to abort)\n');
    stop();
    process.once('SIGINT', () => process.exit(130));
  });
  const tty = process.stderr.isTTY;
  const result = await runLoadTest(options, template, {
    stopSignal,
    progress: (line) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`),
  });
  if (tty) process.stderr.write('\n');
  const files = writeLoadTestResult(result, options.outDir, options.name);
  process.stdout.write(`${summaryText(result)}\nresults: ${files.json}\nreport:  ${files.html}\n`);
  return 0;
}

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
  }
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loadtest failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
