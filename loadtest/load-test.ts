import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import { platformaticWriter } from '../lib/kafka/sinks/platformatic-writer.js';
import { unacknowledgedPartitions, type OutgoingRecord } from '../lib/sinks/record-writer.js';
import { eventFactory, type EventKind } from './events.js';
import { describeKeySpec } from './keys.js';
import { plannedCount, type LoadTestOptions } from './options.js';
import { scrape, toSample, type MetricsSample } from './prometheus.js';
import { seededRandom } from './random.js';
import { renderLoadTestReport } from './report-html.js';
import type { LoadTestResult } from './result.js';
import {
  histogram,
  maxOf,
  oneTwoFiveEdges,
  percentile,
  RateSeries,
  round,
  Samples,
  summarize,
} from './stats.js';
import { DEFAULT_TEMPLATE } from './template.js';

/** Headers every generated event carries; the service copies them to output and dead letters. */
export const HEADER_RUN = 'loadtest_run';
export const HEADER_SEQ = 'loadtest_seq';
export const HEADER_PRODUCED_AT = 'loadtest_produced_at';
export const HEADER_KIND = 'loadtest_kind';

export interface LoadTestHooks {
  /** A progress line, about once a second (the CLI writes it to stderr). */
  progress?: (line: string) => void;
  /** Resolves when the run should stop producing early (e.g. on SIGINT). */
  stopSignal?: Promise<void>;
}

const KINDS: EventKind[] = ['ok', 'malformed', 'failing'];
/** Produce requests in flight at most before the generator waits for one. */
const MAX_IN_FLIGHT = 32;

/**
 * Produces the configured load to `options.topic` and, when an output topic is given, reads
 * the output and dead-letter topics from their end offsets at start, matching records to this
 * run by the `loadtest_run` header: latency is `loadtest_produced_at` (set just before the
 * send) to the output record's timestamp (written by the service as it forwarded the event)
 * and to the moment this process read it. The service's /metrics is sampled meanwhile.
 */
export async function runLoadTest(
  options: LoadTestOptions,
  template: string = DEFAULT_TEMPLATE,
  hooks: LoadTestHooks = {},
): Promise<LoadTestResult> {
  const runId = randomBytes(6).toString('hex');
  const startedAt = new Date();
  const warnings: string[] = [];
  const progress = hooks.progress ?? (() => undefined);
  const kafka = new Kafka({
    clientId: 'myeventstream-loadtest',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
  });
  const random = seededRandom(options.seed);
  const makeEvent = eventFactory({
    template,
    size: options.size,
    keys: options.keys,
    malformed: options.malformed,
    failing: options.failing,
    failAttempts: options.failAttempts,
    random,
  });

  const admin = kafka.admin();
  await admin.connect();
  let reader: Reader | undefined;
  // The service's own @platformatic/kafka writer, not a kafkajs producer: at 10,000 events/s
  // kafkajs's encoding took the generator about as much CPU as the service it measures, on
  // the same cores.
  const producer = platformaticWriter({ clientId: 'myeventstream-loadtest', brokers: options.brokers });
  try {
    const existing = new Set(await admin.listTopics());
    if (!existing.has(options.topic)) {
      throw new Error(
        `topic ${options.topic} does not exist: start the service (CREATE_TOPICS=true) or create it`,
      );
    }
    const readTopics: string[] = [];
    if (options.outputTopic) {
      if (!existing.has(options.outputTopic))
        throw new Error(`output topic ${options.outputTopic} does not exist`);
      readTopics.push(options.outputTopic);
      if (options.dlqTopic && existing.has(options.dlqTopic)) readTopics.push(options.dlqTopic);
      else if (options.dlqTopic)
        warnings.push(`dead-letter topic ${options.dlqTopic} does not exist: not read`);
    } else {
      warnings.push('no --output-topic (or OUTPUT_TOPIC): end-to-end latency was not measured');
    }
    if (readTopics.length > 0) {
      const starts = await Promise.all(
        readTopics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) })),
      );
      reader = await startReader(kafka, runId, options.outputTopic!, starts);
    }
    await producer.connect();

    const planned = plannedCount(options);
    const start = Date.now();
    if (reader) reader.measureFrom = start + options.warmupSeconds * 1000;
    const produced = new RateSeries(start);
    const byKind: Record<EventKind, number> = { ok: 0, malformed: 0, failing: 0 };
    let acked = 0;
    let bytes = 0;
    let errors = 0;
    let sent = 0;
    let lastError: string | undefined;

    const sampler = options.metricsUrl
      ? startSampler(options.metricsUrl, options.sampleIntervalMs, start)
      : undefined;
    let stopRequested = false;
    void hooks.stopSignal?.then(() => (stopRequested = true));

    const ticker = setInterval(() => {
      const elapsed = (Date.now() - start) / 1000;
      const parts = [`[${elapsed.toFixed(0).padStart(4)}s] produced ${acked}${planned ? `/${planned}` : ''}`];
      parts.push(`(${Math.round(acked / Math.max(elapsed, 0.001))}/s)`);
      if (reader) {
        const recent = reader.takeWindow().sort((a, b) => a - b);
        parts.push(`settled ${reader.settled}`);
        if (recent.length > 0) parts.push(`p99 last 1s ${percentile(recent, 99)} ms`);
      }
      const sample = sampler?.samples[sampler.samples.length - 1];
      if (sample?.queueDepth != null) parts.push(`queue ${sample.queueDepth}`);
      progress(parts.join(' '));
    }, 1000);

    try {
      // Producing: batches of up to --batch events; paced by --rate, bounded in-flight.
      // With --rate the count (R × S) ends the run; --duration alone is a deadline.
      const deadline =
        options.durationSeconds !== undefined && options.rate === undefined
          ? start + options.durationSeconds * 1000
          : Infinity;
      const limit = planned ?? Infinity;
      const inFlight = new Set<Promise<void>>();
      let behind = false;
      const minGroup =
        options.rate === undefined ? 1 : Math.max(1, Math.min(options.batch, Math.floor(options.rate / 200)));
      while (sent < limit && !stopRequested) {
        const now = Date.now();
        if (now >= deadline) break;
        let n = Math.min(options.batch, limit - sent);
        if (options.rate !== undefined) {
          // Events are sent in groups of at least ~5 ms worth, so a high rate does not become
          // one produce request per event; the produce time of each is when its group is sent.
          const due = Math.floor((options.rate * (now - start)) / 1000) + 1 - sent;
          if (due < Math.min(minGroup, limit - sent)) {
            const nextAt = start + ((sent + minGroup - 1) * 1000) / options.rate;
            await sleep(Math.min(50, Math.max(1, nextAt - now)));
            continue;
          }
          if (due > options.rate * 0.5 + options.batch) behind = true;
          n = Math.min(n, due);
        }
        const producedAt = String(Date.now());
        const records: OutgoingRecord[] = [];
        let batchBytes = 0;
        for (let i = 0; i < n; i++) {
          const event = makeEvent(sent + i);
          byKind[event.kind]++;
          batchBytes += Buffer.byteLength(event.value) + (event.key ? Buffer.byteLength(event.key) : 0);
          records.push({
            topic: options.topic,
            message: {
              key: event.key,
              value: event.value,
              headers: {
                [HEADER_RUN]: runId,
                [HEADER_SEQ]: String(event.seq),
                [HEADER_PRODUCED_AT]: producedAt,
                [HEADER_KIND]: event.kind,
              },
            },
          });
        }
        sent += n;
        produced.add(Date.now(), n);
        const send: Promise<void> = producer
          .write(records)
          .then((answer) => {
            // A partition missing from the broker's answer (its leader moved) was not written.
            const lost = unacknowledgedPartitions(records, answer).filter((p) => p !== undefined).length;
            if (lost > 0) {
              errors += lost;
              lastError = 'the broker did not acknowledge every partition written';
            }
            acked += n - lost;
            bytes += lost === 0 ? batchBytes : Math.round((batchBytes * (n - lost)) / n);
          })
          .catch((error: unknown) => {
            errors += n;
            lastError = String(error);
          })
          .finally(() => inFlight.delete(send));
        inFlight.add(send);
        // Always yield: the reader, the metrics sampler and the producer's own I/O share this loop.
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        else await new Promise((resolveTurn) => setImmediate(resolveTurn));
      }
      await Promise.all(inFlight);
      const producedEnd = Date.now();
      const produceSeconds = (producedEnd - start) / 1000;
      if (behind && options.rate !== undefined) {
        warnings.push(
          `the generator fell behind --rate ${options.rate}/s: it sent ${Math.round(sent / produceSeconds)}/s`,
        );
      }
      if (errors > 0) warnings.push(`${errors} events failed to send: ${lastError}`);
      if (stopRequested) warnings.push('stopped early (signal)');

      // Settling: wait for every acknowledged event on the output or dead-letter topic.
      if (reader) {
        const idleMs = options.settleTimeoutSeconds * 1000;
        const idleSince = () => Math.max(reader!.lastSettleAt(), producedEnd);
        while (reader.settled < acked && Date.now() - idleSince() < idleMs && !stopRequested) {
          await sleep(100);
        }
        if (reader.settled < acked) {
          warnings.push(
            `${acked - reader.settled} events never reached ${options.outputTopic} or the dead-letter topic (waited ${options.settleTimeoutSeconds} s after the last one)`,
          );
        }
        if (reader.duplicates > 0)
          warnings.push(`${reader.duplicates} events arrived more than once (at-least-once)`);
      }
      clearInterval(ticker);
      sampler?.stop();
      if (sampler && sampler.errors > 0)
        warnings.push(`${sampler.errors} metrics scrapes of ${options.metricsUrl} failed`);

      const settledSeconds = reader ? Math.max(0.001, (reader.lastSettleAt() - start) / 1000) : 0;
      const latencyValues = reader?.latencyByOutput.values();
      const result: LoadTestResult = {
        kind: 'loadtest',
        runId,
        startedAt: startedAt.toISOString(),
        settings: {
          brokers: options.brokers,
          topic: options.topic,
          outputTopic: options.outputTopic ?? null,
          dlqTopic: options.dlqTopic ?? null,
          count: options.count ?? null,
          rate: options.rate ?? null,
          durationSeconds: options.durationSeconds ?? null,
          template: options.templatePath ?? template,
          size: options.size ?? null,
          keys: describeKeySpec(options.keys),
          malformed: options.malformed,
          failing: options.failing,
          failAttempts: options.failAttempts,
          seed: options.seed,
        },
        produced: {
          count: acked,
          byKind,
          bytes,
          seconds: round(produceSeconds, 3),
          perSecond: round(acked / Math.max(produceSeconds, 0.001), 1),
          errors,
        },
        settled: reader
          ? {
              count: reader.settled,
              toOutput: reader.toOutput,
              toDeadLetter: reader.toDeadLetter,
              duplicates: reader.duplicates,
              missing: Math.max(0, acked - reader.settled),
              seconds: round(settledSeconds, 3),
              perSecond: round(reader.settled / settledSeconds, 1),
            }
          : null,
        latencyMs: reader
          ? {
              warmupSeconds: options.warmupSeconds,
              byOutputTimestamp: summarize(latencyValues!),
              byOutputTimestampIncludingWarmup: summarize(reader.latencyIncludingWarmup.values()),
              byReceiveTime: summarize(reader.latencyByReceive.values()),
              byKind: Object.fromEntries(
                KINDS.map((k) => [k, summarize(reader!.latencyByKind[k].values())]),
              ) as Record<EventKind, ReturnType<typeof summarize>>,
            }
          : null,
        latencyHistogram:
          reader && latencyValues!.length > 0
            ? histogram(latencyValues!, oneTwoFiveEdges(maxOf(latencyValues!)))
            : null,
        timeline: {
          bucketMs: 1000,
          producedPerSecond: produced.perSecond(producedEnd),
          settledPerSecond: reader ? reader.series(start).perSecond(reader.lastSettleAt()) : [],
        },
        metrics: sampler
          ? { url: options.metricsUrl!, samples: sampler.samples, errors: sampler.errors }
          : null,
        warnings,
      };
      return result;
    } finally {
      clearInterval(ticker);
      sampler?.stop();
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
    if (reader) {
      await reader.consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([reader.groupId]).catch(() => undefined);
    }
    await admin.disconnect().catch(() => undefined);
  }
}

interface Reader {
  consumer: Consumer;
  groupId: string;
  settled: number;
  toOutput: number;
  toDeadLetter: number;
  duplicates: number;
  /** Events produced before this time (ms) are left out of the latencies below. */
  measureFrom: number;
  latencyByOutput: Samples;
  latencyByReceive: Samples;
  latencyByKind: Record<EventKind, Samples>;
  /** By output timestamp, warm-up included. */
  latencyIncludingWarmup: Samples;
  lastSettleAt(): number;
  /** Latencies (by output timestamp) seen since the last call. */
  takeWindow(): number[];
  /** Settled events per bucket from `start`. */
  series(start: number): RateSeries;
}

async function startReader(
  kafka: Kafka,
  runId: string,
  outputTopic: string,
  starts: Array<{ topic: string; offsets: Array<{ partition: number; offset: string }> }>,
): Promise<Reader> {
  const groupId = `myeventstream-loadtest-${runId}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const seen = new Set<number>();
  const settleTimes = new Samples();
  let window: number[] = [];
  let lastSettleAt = Date.now();
  const reader: Reader = {
    consumer,
    groupId,
    settled: 0,
    toOutput: 0,
    toDeadLetter: 0,
    duplicates: 0,
    measureFrom: 0,
    latencyByOutput: new Samples(),
    latencyByReceive: new Samples(),
    latencyByKind: { ok: new Samples(), malformed: new Samples(), failing: new Samples() },
    latencyIncludingWarmup: new Samples(),
    lastSettleAt: () => lastSettleAt,
    takeWindow: () => {
      const taken = window;
      window = [];
      return taken;
    },
    series: (start) => {
      const series = new RateSeries(start);
      const times = settleTimes.values();
      for (let i = 0; i < times.length; i++) series.add(times[i]!);
      return series;
    },
  };
  await consumer.connect();
  await consumer.subscribe({ topics: starts.map((s) => s.topic), fromBeginning: false });
  const joined = new Promise<void>((resolveJoin) => {
    const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
      remove();
      resolveJoin();
    });
  });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat }) => {
      const now = Date.now();
      const toOutput = batch.topic === outputTopic;
      for (const message of batch.messages) {
        if (header(message.headers, HEADER_RUN) !== runId) continue;
        const seq = Number(header(message.headers, HEADER_SEQ));
        if (seen.has(seq)) {
          reader.duplicates++;
          continue;
        }
        seen.add(seq);
        const producedAt = Number(header(message.headers, HEADER_PRODUCED_AT));
        const kind = (header(message.headers, HEADER_KIND) ?? 'ok') as EventKind;
        const latency = Number(message.timestamp) - producedAt;
        reader.latencyIncludingWarmup.push(latency);
        if (producedAt >= reader.measureFrom) {
          reader.latencyByOutput.push(latency);
          reader.latencyByReceive.push(now - producedAt);
          (reader.latencyByKind[kind] ?? reader.latencyByKind.ok).push(latency);
        }
        window.push(latency);
        settleTimes.push(now);
        reader.settled++;
        if (toOutput) reader.toOutput++;
        else reader.toDeadLetter++;
        lastSettleAt = now;
      }
      await heartbeat();
    },
  });
  for (const { topic, offsets } of starts) {
    for (const { partition, offset } of offsets) consumer.seek({ topic, partition, offset });
  }
  await Promise.race([
    joined,
    sleep(60_000).then(() => {
      throw new Error('the output reader did not join its consumer group within 60 s');
    }),
  ]);
  return reader;
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : one.toString();
}

interface Sampler {
  samples: MetricsSample[];
  errors: number;
  stop(): void;
}

function startSampler(url: string, intervalMs: number, start: number): Sampler {
  const sampler: Sampler = { samples: [], errors: 0, stop: () => clearInterval(timer) };
  const take = () => {
    scrape(url, Math.max(500, intervalMs))
      .then((values) => sampler.samples.push(toSample(Date.now() - start, values)))
      .catch(() => sampler.errors++);
  };
  const timer = setInterval(take, intervalMs);
  take();
  return sampler;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** A file-name-safe UTC timestamp: 2026-11-26T19-05-03Z. */
export function fileTimestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
}

/** Writes <outDir>/<name>.json and .html; returns their paths. */
export function writeLoadTestResult(
  result: LoadTestResult,
  outDir: string,
  name = `loadtest-${fileTimestamp()}`,
): { json: string; html: string } {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, `${name}.json`), html: join(dir, `${name}.html`) };
  result.files = files;
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(files.html, renderLoadTestReport(result));
  return files;
}
