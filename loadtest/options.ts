import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../lib/project-root.js';
import { parseKeySpec, type KeySpec } from './keys.js';

export const LOADTEST_USAGE = `Usage: npm run loadtest -- [options]

Produces events to the service's topic and measures throughput and end-to-end latency (produce
time to the output or dead-letter record), writing JSON and HTML results.

What to send (at least --count or --duration):
  --count N             events to send (as fast as possible unless --rate is given)
  --rate R              events per second
  --duration S          seconds to send for (with --rate: R × S events)
  --template FILE       payload template with {{seq}} {{uuid}} {{now}} {{random:MIN:MAX}}
                        (default {"Id":"{{uuid}}","seq":{{seq}}})
  --size BYTES          pad each payload to BYTES (a "_pad" field in objects)
  --keys SPEC           none (default), uniform:N or zipf:N:s
  --malformed SHARE     share of events sent as malformed JSON (e.g. 0.01)
  --failing SHARE       share of events carrying "loadtest_fail", which the loadtest pipeline
                        fails transiently (e.g. 0.05)
  --fail-attempts N     attempts such an event fails (default 1; above RETRY_MAX_ATTEMPTS it
                        ends in the DLQ)
  --seed N              seed for payloads, keys and shares (default: random)

Where:
  --brokers LIST        bootstrap brokers (default KAFKA_BROKERS, else 127.0.0.1:9092)
  --topic NAME          topic the service consumes (default KAFKA_TOPIC, else events)
  --output-topic NAME   the service's OUTPUT_TOPIC, read for latency (default OUTPUT_TOPIC;
                        without one, only the producing side is measured)
  --dlq-topic NAME      dead-letter topic, read too (default DLQ_TOPIC, else myeventstream-dlq;
                        "none" to skip)
  --metrics URL         the service's /metrics, sampled for queue depth
  --sample-interval MS  metrics sampling interval (default 1000)
  --settle-timeout S    give up waiting for outstanding events after S s without one (default 30)
  --batch N             events per produce request at most (default 500)
  --warmup S            leave events produced in the first S s out of the latency figures
                        (they still count as settled; default 0)
  --out DIR             results folder (default loadtest/results)
  --name NAME           results file name without extension (default loadtest-<time>)
  --help
`;

export interface LoadTestOptions {
  brokers: string[];
  topic: string;
  outputTopic: string | undefined;
  dlqTopic: string | undefined;
  count: number | undefined;
  rate: number | undefined;
  durationSeconds: number | undefined;
  templatePath: string | undefined;
  size: number | undefined;
  keys: KeySpec;
  malformed: number;
  failing: number;
  failAttempts: number;
  seed: number;
  metricsUrl: string | undefined;
  sampleIntervalMs: number;
  settleTimeoutSeconds: number;
  batch: number;
  /** Events produced in the first S seconds count as settled but not in the latency figures. */
  warmupSeconds: number;
  outDir: string;
  name: string | undefined;
}

export class UsageError extends Error {}

/** Options from the command line (`argv` without node and script) and the environment. */
export function parseLoadTestArgs(
  argv: string[],
  env: Record<string, string | undefined> = {},
  defaultSeed: () => number = () => Math.floor(Math.random() * 2 ** 31),
): LoadTestOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        brokers: { type: 'string' },
        topic: { type: 'string' },
        'output-topic': { type: 'string' },
        'dlq-topic': { type: 'string' },
        count: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        template: { type: 'string' },
        size: { type: 'string' },
        keys: { type: 'string' },
        malformed: { type: 'string' },
        failing: { type: 'string' },
        'fail-attempts': { type: 'string' },
        seed: { type: 'string' },
        metrics: { type: 'string' },
        'sample-interval': { type: 'string' },
        'settle-timeout': { type: 'string' },
        batch: { type: 'string' },
        warmup: { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';

  const count = optionalNumber(values.count, '--count', { integer: true, min: 1 });
  const rate = optionalNumber(values.rate, '--rate', { min: Number.MIN_VALUE });
  const durationSeconds = optionalNumber(values.duration, '--duration', { min: Number.MIN_VALUE });
  if (count === undefined && durationSeconds === undefined) {
    throw new UsageError('say how much to send: --count N, or --rate R --duration S');
  }
  const malformed = optionalNumber(values.malformed, '--malformed', { min: 0, max: 1 }) ?? 0;
  const failing = optionalNumber(values.failing, '--failing', { min: 0, max: 1 }) ?? 0;
  if (malformed + failing > 1) throw new UsageError('--malformed and --failing add up to more than 1');
  let keys: KeySpec;
  try {
    keys = parseKeySpec(values.keys ?? 'none');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const brokers = (values.brokers ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError('--brokers is empty');
  const dlqTopic = values['dlq-topic'] ?? (env.DLQ_TOPIC || 'myeventstream-dlq');
  return {
    brokers,
    topic: values.topic ?? (env.KAFKA_TOPIC || 'events'),
    outputTopic: values['output-topic'] ?? (env.OUTPUT_TOPIC || undefined),
    dlqTopic: dlqTopic === 'none' ? undefined : dlqTopic,
    count,
    rate,
    durationSeconds,
    templatePath: values.template,
    size: optionalNumber(values.size, '--size', { integer: true, min: 1, max: 100 * 1024 * 1024 }),
    keys,
    malformed,
    failing,
    failAttempts: optionalNumber(values['fail-attempts'], '--fail-attempts', { integer: true, min: 1 }) ?? 1,
    seed: optionalNumber(values.seed, '--seed', { integer: true, min: 0 }) ?? defaultSeed(),
    metricsUrl: values.metrics,
    sampleIntervalMs:
      optionalNumber(values['sample-interval'], '--sample-interval', { integer: true, min: 50 }) ?? 1000,
    settleTimeoutSeconds: optionalNumber(values['settle-timeout'], '--settle-timeout', { min: 0 }) ?? 30,
    batch: optionalNumber(values.batch, '--batch', { integer: true, min: 1, max: 100_000 }) ?? 500,
    warmupSeconds: optionalNumber(values.warmup, '--warmup', { min: 0 }) ?? 0,
    outDir: values.out ?? join(projectRoot(), 'loadtest', 'results'),
    name: values.name,
  };
}

/** A numeric flag's value, or undefined when absent; UsageError names the flag and the range. */
export function optionalNumber(
  text: string | undefined,
  flag: string,
  { integer = false, min = -Infinity, max = Infinity }: { integer?: boolean; min?: number; max?: number },
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.replaceAll('_', ''));
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'} (got "${text}")`);
  }
  if (value < min || value > max) {
    const range =
      max !== Infinity ? `from ${min} to ${max}` : min === Number.MIN_VALUE ? 'above 0' : `at least ${min}`;
    throw new UsageError(`${flag} must be ${range} (got "${text}")`);
  }
  return value;
}

/** Events the run will send: --count, R × S, or unknown (as fast as possible for S seconds). */
export function plannedCount(
  options: Pick<LoadTestOptions, 'count' | 'rate' | 'durationSeconds'>,
): number | undefined {
  const { count, rate, durationSeconds } = options;
  const byRate =
    rate !== undefined && durationSeconds !== undefined ? Math.ceil(rate * durationSeconds) : undefined;
  if (count !== undefined && byRate !== undefined) return Math.min(count, byRate);
  return count ?? byRate;
}
