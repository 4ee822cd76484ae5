/**
 * The load generator: `npm run loadtest -- --rate 2000 --duration 30 --output-topic events-out
 * --metrics http://127.0.0.1:8080/metrics`. See `npm run loadtest -- --help` and README.md here.
 */
import { readFileSync } from 'node:fs';
import { runLoadTest, writeLoadTestResult } from './load-test.js';
import { LOADTEST_USAGE, parseLoadTestArgs, UsageError } from './options.js';
import { summaryText } from './summary.js';
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

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loadtest failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
