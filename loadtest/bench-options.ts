import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../lib/project-root.js';
import { optionalNumber, UsageError } from './options.js';

export const BENCH_USAGE = `Usage: npm run bench -- [options]

Benchmarks on one prefilled topic (each row timed from its first message to its last): kcat,
a bare kafkajs consumer, bare kafkajs + JSON.parse + ajv, a bare kafkajs forwarder (eachBatch →
one sendBatch with acks=all per batch), the compiled service with the default pipeline, with the
default pipeline writing OUTPUT_TOPIC, and with a 10 ms asynchronous process at several
WORKER_POOL_SIZEs; then the service's peak RSS with a small and a large backlog (without and
with OUTPUT_TOPIC), and p99 end-to-end latency at half the forwarding service's maximum. "× bare"
is a row's rate over the bare consumer's, or over the bare forwarder's for forwarding rows. Prints a table and writes
loadtest/results/bench-<time>.json (and the latency run's report next to it).

  --brokers LIST          bootstrap brokers (default KAFKA_BROKERS, else 127.0.0.1:9092)
  --count N               events in the prefilled topic (default 500000)
  --size BYTES            size of each event (default 1024)
  --partitions N          partitions of the topics created (default 6)
  --topic NAME            use this already filled topic instead of creating one
  --workers LIST          WORKER_POOL_SIZEs of the process rows (default 10,50,100,200)
  --process-ms MS         the process rows' asynchronous process time (default 10)
  --slice-seconds S       process rows read ideal × S events of the topic, the OUTPUT_TOPIC
                          row at most S seconds of it (default 15)
  --pause-seconds S       quiet time before each row, for the broker to finish what the last
                          one left (flushing its writes; default 5)
  --backlogs LIST         backlogs of the RSS rows (default 10000,1000000)
  --slow-ms MS            process time of the RSS rows (default 100, 10 workers)
  --saturate-seconds S    how long the RSS rows keep the pipeline saturated (default 15)
  --latency-seconds S     length of the latency run, measured (default 20)
  --latency-warmup S      load before it, left out of the latency figures (default 5)
  --latency-rates LIST    further latency runs at these rates, reported beside it (default
                          1000,5000,20000; "none" for none)
  --latency-rate R        its rate (default: half the OUTPUT_TOPIC row's rate, else half the
                          default-pipeline row's)
  --only LIST             rows to run: kcat,bare,ajv,rxjs,forwarder,service,forward,process,
                          rss,latency
                          (default all)
  --keep                  keep the topics created
  --out DIR               results folder (default loadtest/results)
  --help
`;

export const ROW_GROUPS = [
  'kcat',
  'bare',
  'ajv',
  'rxjs',
  'forwarder',
  'service',
  'forward',
  'process',
  'rss',
  'latency',
] as const;
export type RowGroup = (typeof ROW_GROUPS)[number];

export interface BenchOptions {
  brokers: string[];
  count: number;
  size: number;
  partitions: number;
  topic: string | undefined;
  workers: number[];
  processMs: number;
  sliceSeconds: number;
  pauseSeconds: number;
  backlogs: number[];
  slowMs: number;
  saturateSeconds: number;
  latencySeconds: number;
  latencyWarmupSeconds: number;
  latencyRate: number | undefined;
  latencyRates: number[];
  only: Set<RowGroup>;
  keep: boolean;
  outDir: string;
}

export function parseBenchArgs(
  argv: string[],
  env: Record<string, string | undefined> = {},
): BenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        brokers: { type: 'string' },
        count: { type: 'string' },
        size: { type: 'string' },
        partitions: { type: 'string' },
        topic: { type: 'string' },
        workers: { type: 'string' },
        'process-ms': { type: 'string' },
        'slice-seconds': { type: 'string' },
        'pause-seconds': { type: 'string' },
        backlogs: { type: 'string' },
        'slow-ms': { type: 'string' },
        'saturate-seconds': { type: 'string' },
        'latency-seconds': { type: 'string' },
        'latency-warmup': { type: 'string' },
        'latency-rate': { type: 'string' },
        'latency-rates': { type: 'string' },
        only: { type: 'string' },
        keep: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const only = new Set<RowGroup>();
  for (const name of (values.only ?? ROW_GROUPS.join(',')).split(',').map((s) => s.trim())) {
    if (!(ROW_GROUPS as readonly string[]).includes(name)) {
      throw new UsageError(`--only takes ${ROW_GROUPS.join(', ')} (got "${name}")`);
    }
    only.add(name as RowGroup);
  }
  return {
    brokers: (values.brokers ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').filter(Boolean),
    count: positiveInt(values.count, '--count') ?? 500_000,
    size: positiveInt(values.size, '--size') ?? 1024,
    partitions: positiveInt(values.partitions, '--partitions') ?? 6,
    topic: values.topic,
    workers: intList(values.workers, '--workers') ?? [10, 50, 100, 200],
    processMs: positiveInt(values['process-ms'], '--process-ms') ?? 10,
    sliceSeconds: positiveInt(values['slice-seconds'], '--slice-seconds') ?? 15,
    pauseSeconds: optionalNumber(values['pause-seconds'], '--pause-seconds', { min: 0 }) ?? 5,
    backlogs: intList(values.backlogs, '--backlogs') ?? [10_000, 1_000_000],
    slowMs: positiveInt(values['slow-ms'], '--slow-ms') ?? 100,
    saturateSeconds: positiveInt(values['saturate-seconds'], '--saturate-seconds') ?? 15,
    latencySeconds: positiveInt(values['latency-seconds'], '--latency-seconds') ?? 20,
    latencyWarmupSeconds: optionalNumber(values['latency-warmup'], '--latency-warmup', { min: 0 }) ?? 5,
    latencyRate: positiveInt(values['latency-rate'], '--latency-rate'),
    latencyRates:
      values['latency-rates'] === 'none'
        ? []
        : (intList(values['latency-rates'], '--latency-rates') ?? [1000, 5000, 20_000]),
    only,
    keep: values.keep ?? false,
    outDir: values.out ?? join(projectRoot(), 'loadtest', 'results'),
  };
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  return optionalNumber(text, flag, { integer: true, min: 1 });
}

function intList(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((part) => positiveInt(part.trim(), flag)!);
}
