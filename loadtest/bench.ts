/**
 * The benchmark (`npm run bench -- [--count N] …`, see BENCH_USAGE): one prefilled topic, each
 * row timed from its first message to its last, a table on stdout and
 * loadtest/results/bench-<time>.json. The targets of the issue are computed and reported,
 * never asserted: the exit status is 0 whatever they say.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { PRODUCER_CLIENTS, SETTINGS } from '../lib/config/schema.js';
import type { BareMode, BareResult } from './bare-consumer.js';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions } from './bench-options.js';
import {
  completeRows,
  computeTargets,
  formatTable,
  formatTargets,
  type BenchRow,
  type LatencyCheck,
} from './bench-report.js';
import { fileTimestamp, runLoadTest, writeLoadTestResult } from './load-test.js';
import { UsageError } from './options.js';
import { KCAT, prefillWithKcat, topicSize } from './prefill.js';
import {
  killChildren,
  loadtestPipeline,
  measureUntilSettled,
  serviceEntry,
  sleep,
  startService,
  track,
  type ServiceProcess,
} from './service-process.js';
import { round } from './stats.js';
import { ignoreKafkajsNegativeTimeouts } from '../lib/kafka/negative-timeout-warning.js';

/** The prefilled events: JSON of about --size bytes each, valid for the default schema. */
export const BENCH_TEMPLATE =
  '{"Id":"{{uuid}}","seq":{{seq}},"type":"order.created","customerId":"c-{{random:1:100000}}","amount":{{random:1:100000}},"createdAt":{{now}}}';

const log = (line: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

ignoreKafkajsNegativeTimeouts();

async function main(): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (!existsSync(serviceEntry())) throw new Error(`${serviceEntry()} is missing: run npm run build first`);
  process.once('SIGINT', () => {
    killChildren();
    process.exit(130);
  });
  process.once('exit', killChildren);

  const startedAt = new Date();
  const loadBefore = loadavg();
  const id = randomBytes(4).toString('hex');
  const prefix = `bench-${id}`;
  const kafka = new Kafka({
    clientId: 'myeventstream-bench',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const created: string[] = [];
  const create = async (topic: string, partitions: number) => {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
    created.push(topic);
  };
  const groups: string[] = [];
  const group = (name: string) => {
    const groupId = `${prefix}-${name}`;
    groups.push(groupId);
    return groupId;
  };

  try {
    // The topic every throughput row reads.
    let topic: string;
    let count: number;
    let bytesPerMessage: number | undefined;
    let prefillSeconds: number | null = null;
    if (options.topic) {
      topic = options.topic;
      count = await topicSize(admin, topic);
      log(`using ${topic}: ${count} events`);
    } else {
      topic = prefix;
      count = options.count;
      await create(topic, options.partitions);
      log(`prefilling ${topic}: ${count} events of ${options.size} B on ${options.partitions} partitions`);
      const filled = await prefillWithKcat({
        brokers: options.brokers,
        topic,
        count,
        template: BENCH_TEMPLATE,
        size: options.size,
        keys: { kind: 'uniform', n: 10_000 },
        progress: (done) => log(`  ${done} written`),
      });
      const inTopic = await topicSize(admin, topic);
      if (inTopic !== count) throw new Error(`prefill wrote ${inTopic} events, not ${count}`);
      bytesPerMessage = filled.bytes / count;
      prefillSeconds = round(filled.seconds, 1);
      log(`prefilled in ${filled.seconds.toFixed(1)} s (${Math.round(count / filled.seconds)}/s)`);
    }
    const dlq = `${prefix}-dlq`;
    await create(dlq, 1);

    const rows: BenchRow[] = [];
    const run = async (
      row: Omit<
        BenchRow,
        'messages' | 'seconds' | 'perSecond' | 'mbPerSecond' | 'ratioToBare' | 'cpuSeconds' | 'peakRssBytes'
      >,
      measure: () => Promise<Partial<BenchRow>>,
    ) => {
      // What one row leaves behind (the broker flushing an output topic) must not slow the next.
      if (rows.length > 0) await sleep(options.pauseSeconds * 1000);
      log(`${row.name}: running`);
      const base: BenchRow = {
        messages: null,
        seconds: null,
        perSecond: null,
        mbPerSecond: null,
        ratioToBare: null,
        cpuSeconds: null,
        peakRssBytes: null,
        ...row,
      };
      try {
        const measured = { ...base, ...(await measure()) };
        rows.push(measured);
        const rate =
          measured.messages && measured.seconds ? Math.round(measured.messages / measured.seconds) : '—';
        log(`${row.name}: ${measured.messages} in ${measured.seconds?.toFixed(2)} s = ${rate}/s`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        rows.push({ ...base, error: message });
        log(`${row.name}: FAILED: ${message}`);
      }
    };
    const serviceEnv = (groupName: string, extra: Record<string, string> = {}) => ({
      KAFKA_BROKERS: options.brokers.join(','),
      KAFKA_TOPIC: topic,
      DLQ_TOPIC: dlq,
      OUTPUT_TOPIC: '',
      KAFKA_GROUP_ID: group(groupName),
      CREATE_TOPICS: 'false',
      PIPELINE: '',
      EVENT_SCHEMA: '',
      WORKER_POOL_SIZE: '10',
      QUEUE_BUFFER_SIZE: '1000',
      PROCESSING_ORDER: 'unordered',
      ...extra,
    });
    const timeoutMs = Math.max(120_000, count * 2); // a generous bound: 500 events/s

    if (options.only.has('kcat')) {
      await run({ kind: 'kcat', name: 'kcat -C', note: 'CPU and RSS: the whole kcat process' }, () =>
        kcatRow(options.brokers, topic, count, timeoutMs),
      );
    }
    if (options.only.has('bare')) {
      await run({ kind: 'bare', name: 'kafkajs eachBatch (nothing)' }, () =>
        bareRow(options.brokers, topic, count, 'bare', group('bare'), timeoutMs),
      );
    }
    if (options.only.has('ajv')) {
      await run({ kind: 'ajv', name: 'kafkajs + JSON.parse + ajv' }, () =>
        bareRow(options.brokers, topic, count, 'ajv', group('ajv'), timeoutMs),
      );
    }
    if (options.only.has('rxjs')) {
      await run({ kind: 'rxjs', name: 'kafkajs + JSON.parse + ajv, RxJS shape only' }, () =>
        bareRow(options.brokers, topic, count, 'rxjs', group('rxjs'), timeoutMs),
      );
    }
    if (options.only.has('forwarder')) {
      const output = `${prefix}-forwarder-out`;
      await run({ kind: 'forwarder', name: 'kafkajs eachBatch → sendBatch(acks=all)' }, async () => {
        await create(output, options.partitions);
        return bareRow(options.brokers, topic, count, 'forward', group('forwarder'), timeoutMs, output);
      });
    }
    bytesPerMessage ??= bytesOf(rows);

    if (options.only.has('service')) {
      await run({ kind: 'service', name: 'service, default pipeline' }, () =>
        withService(serviceEnv('service'), (service) => measureUntilSettled(service, count, { timeoutMs })),
      );
    }
    // One forwarding row per producer client (KAFKA_PRODUCER_CLIENT), each with an output topic
    // of its own. The default client's comes first: it is "the forwarding service" of the
    // latency run, which runs with the default.
    const defaultClient = SETTINGS.get('kafka.producerClient')!.default;
    const clients = [...PRODUCER_CLIENTS].sort(
      (a, b) => Number(b === defaultClient) - Number(a === defaultClient),
    );
    for (const client of options.only.has('forward') ? clients : []) {
      const output = `${prefix}-out-${client}`;
      await run(
        {
          kind: 'forward',
          name: `service → OUTPUT_TOPIC (${client} producer)`,
          note: `at most ${options.sliceSeconds} s of the topic`,
        },
        async () => {
          await create(output, options.partitions);
          const env = serviceEnv(`forward-${client}`, {
            OUTPUT_TOPIC: output,
            KAFKA_PRODUCER_CLIENT: client,
          });
          return withService(env, (service) =>
            measureUntilSettled(service, count, { timeoutMs, maxSeconds: options.sliceSeconds }),
          );
        },
      );
    }
    for (const workers of options.only.has('process') ? options.workers : []) {
      const ideal = (workers * 1000) / options.processMs;
      const slice = Math.min(count, Math.round(ideal * options.sliceSeconds));
      await run(
        {
          kind: 'process',
          name: `service, ${options.processMs} ms process, ${workers} workers`,
          workers,
          idealPerSecond: ideal,
          note: `first ${slice} events; ideal ${ideal}/s`,
        },
        () =>
          withService(
            serviceEnv(`process-${workers}`, {
              PIPELINE: loadtestPipeline(),
              LOADTEST_PROCESS_MS: String(options.processMs),
              WORKER_POOL_SIZE: String(workers),
            }),
            (service) => measureUntilSettled(service, slice, { timeoutMs }),
          ),
      );
    }

    // Each backlog is read twice: by the slow pipeline alone, and by the same writing OUTPUT_TOPIC.
    const backlogTopics = new Map<number, string>();
    const rssRuns = options.only.has('rss')
      ? [false, true].flatMap((forwarding) => options.backlogs.map((backlog) => ({ backlog, forwarding })))
      : [];
    for (const { backlog, forwarding } of rssRuns) {
      const workers = 10;
      await run(
        {
          kind: 'rss',
          name: `service RSS${forwarding ? ' → OUTPUT_TOPIC' : ''}, ${backlog} backlog`,
          backlog,
          forwarding,
          workers,
          idealPerSecond: (workers * 1000) / options.slowMs,
        },
        async () => {
          let backlogTopic = backlogTopics.get(backlog);
          if (backlogTopic === undefined) {
            backlogTopic = `${prefix}-backlog-${backlog}`;
            await create(backlogTopic, options.partitions);
            const filled = await prefillWithKcat({
              brokers: options.brokers,
              topic: backlogTopic,
              count: backlog,
              keys: { kind: 'uniform', n: 10_000 },
            });
            backlogTopics.set(backlog, backlogTopic);
            log(`  ${backlogTopic} filled with ${backlog} small events in ${filled.seconds.toFixed(1)} s`);
          }
          const output = `${backlogTopic}-out`;
          if (forwarding) await create(output, options.partitions);
          return withService(
            serviceEnv(`rss-${backlog}${forwarding ? '-forward' : ''}`, {
              KAFKA_TOPIC: backlogTopic,
              OUTPUT_TOPIC: forwarding ? output : '',
              PIPELINE: loadtestPipeline(),
              LOADTEST_PROCESS_MS: String(options.slowMs),
              WORKER_POOL_SIZE: String(workers),
              QUEUE_BUFFER_SIZE: '1000',
            }),
            (service) => saturatedRss(service, Math.min(900, backlog - workers), options.saturateSeconds),
          );
        },
      );
    }

    const completed = completeRows(rows, bytesPerMessage ?? options.size);
    let latency: LatencyCheck | null = null;
    // The latency run goes through OUTPUT_TOPIC, so "the maximum" is the forwarding service's
    // (the default-pipeline row without output when that row was not run).
    const maximumRow = [
      completed.find((r) => r.kind === 'forward'),
      completed.find((r) => r.kind === 'service'),
    ].find((r) => r?.perSecond != null);
    const latencyRate =
      options.latencyRate ?? (maximumRow?.perSecond ? Math.floor(maximumRow.perSecond / 2) : undefined);
    const basis = options.latencyRate ? '--latency-rate' : `half of "${maximumRow?.name}"`;
    // The run at half the maximum is the target's; the runs at fixed rates are reported beside it.
    const otherLatencies: LatencyCheck[] = [];
    if (options.only.has('latency')) {
      const runs: Array<{ rate: number; basis: string; isTarget: boolean }> = [
        ...(latencyRate === undefined ? [] : [{ rate: latencyRate, basis, isTarget: true }]),
        ...options.latencyRates.map((rate) => ({ rate, basis: 'fixed rate', isTarget: false })),
      ];
      if (latencyRate === undefined)
        log('latency: no service rate measured for half the maximum (give --latency-rate)');
      for (const run of runs) {
        try {
          if (rows.length > 0) await sleep(options.pauseSeconds * 1000);
          const measured = await latencyRun(
            options,
            prefix,
            dlq,
            run.rate,
            run.basis,
            create,
            group,
            startedAt,
          );
          if (run.isTarget) latency = measured;
          else otherLatencies.push(measured);
        } catch (error) {
          log(`latency at ${run.rate}/s: FAILED: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }

    const targets = computeTargets(completed, latency);
    const table = formatTable(completed);
    const targetTable = formatTargets(targets);
    const file = resolve(options.outDir, `bench-${fileTimestamp(startedAt)}.json`);
    mkdirSync(resolve(options.outDir), { recursive: true });
    const results = {
      kind: 'bench',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        node: process.version,
        loadAverageBefore: loadBefore.map((l) => round(l, 2)),
        loadAverageAfter: loadavg().map((l) => round(l, 2)),
      },
      settings: { ...options, only: [...options.only] },
      topic: {
        name: topic,
        count,
        partitions: options.topic ? null : options.partitions,
        bytesPerMessage,
        prefillSeconds,
      },
      rows: completed,
      latency,
      latencyAtRates: otherLatencies,
      targets,
    };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(
      `\nTopic ${topic}: ${count} events, ${Math.round(bytesPerMessage ?? options.size)} B each (key + value); MB = 10^6 B\n\n${table}\n\n${[latency, ...otherLatencies].map((run) => (run ? `${describeLatency(run)}\n` : '')).join('')}\n${targetTable}\n\nload average ${results.machine.loadAverageBefore.join(' ')} before, ${results.machine.loadAverageAfter.join(' ')} after (${results.machine.cpus} CPUs)\nresults: ${file}\n`,
    );
    return 0;
  } finally {
    killChildren();
    if (!options.keep && created.length > 0) {
      await admin
        .deleteTopics({ topics: created })
        .catch((error: unknown) => log(`could not delete topics: ${String(error)}`));
    }
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
  }
}

function describeLatency(run: LatencyCheck): string {
  const produced =
    run.producedPerSecond === undefined ? '' : `, generator reached ${run.producedPerSecond}/s`;
  return `Latency at ${run.ratePerSecond}/s (${run.basis}${produced}) for ${run.seconds} s after a ${run.warmupSeconds} s warm-up: p50 ${run.p50} ms, p99 ${run.p99} ms (produce → output record; p99 ${run.p99IncludingWarmup} ms with the warm-up), ${run.settled} settled, ${run.missing} missing${run.report ? `; report ${run.report}` : ''}`;
}

/** Key and value bytes per message, as a bare consumer counted them (for a topic not filled here). */
function bytesOf(rows: BenchRow[]): number | undefined {
  const counted = rows.find((r) => r.bytes !== undefined && r.messages);
  return counted ? counted.bytes! / counted.messages! : undefined;
}

/** kcat consuming the topic to its end; stdout is counted here (one line per message). */
async function kcatRow(
  brokers: string[],
  topic: string,
  expected: number,
  timeoutMs: number,
): Promise<Partial<BenchRow>> {
  const timeFile = join(tmpdir(), `bench-kcat-${process.pid}-${Date.now()}.time`);
  const kcatArgs = ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q'];
  const timed = existsSync('/usr/bin/time');
  const child = track(
    spawn(
      timed ? '/usr/bin/time' : KCAT,
      timed ? ['-f', '%U %S %M', '-o', timeFile, KCAT, ...kcatArgs] : kcatArgs,
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ),
  );
  let lines = 0;
  let first = 0;
  let last = 0;
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const now = performance.now();
    if (first === 0) first = now;
    last = now;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolveExit(exitCode));
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kcat exited ${code}: ${stderr.trim().slice(-300)}`);
  if (lines !== expected) throw new Error(`kcat printed ${lines} messages, expected ${expected}`);
  let cpuSeconds: number | null = null;
  let peakRssBytes: number | null = null;
  if (timed) {
    const [user, system, maxRssKb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
    rmSync(timeFile, { force: true });
    cpuSeconds = user! + system!;
    peakRssBytes = maxRssKb! * 1024;
  }
  return { messages: lines, seconds: (last - first) / 1000, cpuSeconds, peakRssBytes };
}

/** The bare kafkajs consumer (bare-consumer.ts) as a child process of the same runtime. */
async function bareRow(
  brokers: string[],
  topic: string,
  count: number,
  mode: BareMode,
  groupId: string,
  timeoutMs: number,
  outputTopic?: string,
): Promise<Partial<BenchRow>> {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const script = fileURLToPath(new URL(`./bare-consumer${extension}`, import.meta.url));
  const child = track(
    spawn(
      process.execPath,
      [...process.execArgv, script, JSON.stringify({ brokers, topic, count, mode, groupId, outputTopic })],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ),
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolveExit) => child.once('close', resolveExit));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`bare consumer exited ${code}: ${stderr.trim().slice(-300)}`);
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as BareResult;
  return {
    messages: result.messages,
    seconds: result.seconds,
    cpuSeconds: result.cpuSeconds,
    peakRssBytes: result.peakRssBytes,
    bytes: result.bytes,
    ...(mode === 'ajv' || mode === 'rxjs' ? { note: `${result.invalid} invalid` } : {}),
  };
}

async function withService<T>(
  env: Record<string, string>,
  measure: (service: ServiceProcess) => Promise<T>,
): Promise<T> {
  const service = await startService(env);
  try {
    return await Promise.race([measure(service), service.died]);
  } finally {
    await service.stop();
  }
}

/**
 * Waits until the slow pipeline is saturated (queue_depth at `queueTarget`), then keeps it so
 * for `seconds`, sampling memory; peak RSS is VmHWM at the end (peak since start-up).
 */
async function saturatedRss(
  service: ServiceProcess,
  queueTarget: number,
  seconds: number,
): Promise<Partial<BenchRow>> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const values = await service.metrics().catch(() => undefined);
    if ((values?.get('queue_depth') ?? 0) >= queueTarget) break;
    if (Date.now() > deadline) throw new Error(`queue_depth never reached ${queueTarget}`);
    await sleep(250);
  }
  const settledOf = (v: Map<string, number>) =>
    (v.get('events_processed_total') ?? 0) + (v.get('dlq_messages_total') ?? 0);
  const startValues = await service.metrics();
  const start = { at: Date.now(), settled: settledOf(startValues), cpu: service.snapshot().cpuSeconds };
  let maxRss = 0;
  let maxQueue = 0;
  while (Date.now() - start.at < seconds * 1000) {
    await sleep(500);
    maxRss = Math.max(maxRss, service.snapshot().rssBytes);
    maxQueue = Math.max(maxQueue, (await service.metrics().catch(() => undefined))?.get('queue_depth') ?? 0);
  }
  const endValues = await service.metrics();
  const end = service.snapshot();
  return {
    messages: settledOf(endValues) - start.settled,
    seconds: (Date.now() - start.at) / 1000,
    cpuSeconds: end.cpuSeconds - start.cpu,
    peakRssBytes: end.peakRssBytes,
    note: `saturated ${seconds} s (queue_depth up to ${maxQueue}); RSS up to ${(maxRss / 1024 / 1024).toFixed(0)} MiB in the window`,
  };
}

async function latencyRun(
  options: BenchOptions,
  prefix: string,
  dlq: string,
  rate: number,
  basis: string,
  create: (topic: string, partitions: number) => Promise<void>,
  group: (name: string) => string,
  startedAt: Date,
): Promise<LatencyCheck> {
  const input = `${prefix}-latency-${rate}`;
  const output = `${input}-out`;
  await create(input, options.partitions);
  await create(output, options.partitions);
  const service = await startService({
    KAFKA_BROKERS: options.brokers.join(','),
    KAFKA_TOPIC: input,
    OUTPUT_TOPIC: output,
    DLQ_TOPIC: dlq,
    KAFKA_GROUP_ID: group(`latency-${rate}`),
    CREATE_TOPICS: 'false',
    PIPELINE: '',
    EVENT_SCHEMA: '',
    WORKER_POOL_SIZE: '10',
    QUEUE_BUFFER_SIZE: '1000',
    PROCESSING_ORDER: 'unordered',
  });
  try {
    const deadline = Date.now() + 90_000;
    while (!(await service.ready())) {
      if (Date.now() > deadline) throw new Error('the service did not become ready within 90 s');
      await sleep(250);
    }
    log(`latency: ${rate}/s for ${options.latencySeconds} s of ${options.size} B events`);
    const result = await Promise.race([
      runLoadTest(
        {
          brokers: options.brokers,
          topic: input,
          outputTopic: output,
          dlqTopic: dlq,
          count: undefined,
          rate,
          durationSeconds: options.latencyWarmupSeconds + options.latencySeconds,
          warmupSeconds: options.latencyWarmupSeconds,
          templatePath: undefined,
          size: options.size,
          keys: { kind: 'uniform', n: 10_000 },
          malformed: 0,
          failing: 0,
          failAttempts: 1,
          seed: 1,
          metricsUrl: service.metricsUrl,
          sampleIntervalMs: 500,
          settleTimeoutSeconds: 30,
          batch: 500,
          outDir: options.outDir,
          name: undefined,
        },
        BENCH_TEMPLATE,
        { progress: (line) => log(`  ${line}`) },
      ),
      service.died,
    ]);
    const files = writeLoadTestResult(
      result,
      options.outDir,
      `bench-${fileTimestamp(startedAt)}-latency-${rate}`,
    );
    return {
      ratePerSecond: rate,
      basis,
      seconds: options.latencySeconds,
      warmupSeconds: options.latencyWarmupSeconds,
      producedPerSecond: Math.round(result.produced.perSecond),
      p50: result.latencyMs?.byOutputTimestamp.p50 ?? null,
      p99: result.latencyMs?.byOutputTimestamp.p99 ?? null,
      p99IncludingWarmup: result.latencyMs?.byOutputTimestampIncludingWarmup.p99 ?? null,
      settled: result.settled?.count ?? 0,
      missing: result.settled?.missing ?? 0,
      report: files.html,
    };
  } finally {
    await service.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
