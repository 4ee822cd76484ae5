import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';
import { DEAD_LETTER_KINDS, type ErrorCode, type Stage } from '../core/errors.js';

/** How a message left the process stage; a closed set so it can be a label. */
export const OUTCOMES = ['processed', 'dead_lettered'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The slice of a prom-client counter child callers need: they never see label plumbing. */
export interface CounterHandle {
  inc(value?: number): void;
}

export interface GaugeHandle {
  inc(value?: number): void;
  dec(value?: number): void;
  set(value: number): void;
}

/** Point-in-time values read at scrape time, so they are never stale between events. */
export interface MetricsCallbacks {
  /** Age in seconds of the oldest message fetched but not yet settled; 0 when none. */
  oldestUnsettledAgeSeconds?: () => number;
  /** Messages fetched and waiting for a worker; when given it overrides `queueDepth.set()`. */
  queueDepth?: () => number;
  /** Messages started and not settled; when given it overrides `messagesInFlight.set()`. */
  messagesInFlight?: () => number;
  /** Messages waiting out a retry's backoff, holding no worker; 0 when not given. */
  messagesInBackoff?: () => number;
}

export interface Metrics {
  // The Go service's metrics: names and the lone `service` label are what dashboards query.
  readonly queueDepth: GaugeHandle;
  readonly eventsIngested: CounterHandle;
  readonly eventsProcessed: CounterHandle;
  readonly retryAttempts: CounterHandle;
  readonly retryExhausted: CounterHandle;

  readonly messagesInFlight: GaugeHandle;
  readonly commits: CounterHandle;
  readonly commitFailures: CounterHandle;
  readonly dlqWriteFailures: CounterHandle;
  /** Fetched batches dropped because they did not continue their partition (fetched before a rejoin). */
  readonly staleBatches: CounterHandle;
  /** Messages not run again after a restart because the last commit recorded them finished. */
  readonly finishedSkipped: CounterHandle;

  /**
   * One message written to the dead-letter topic: bumps the Go `dlq_messages_total` and the
   * `myeventstream_dead_letters_total{stage,code}` breakdown together so their sums agree.
   */
  deadLettered(stage: Stage, code: ErrorCode): void;
  /** Seconds from hand-off to the process stage until the message settled. */
  observeProcessing(outcome: Outcome, seconds: number): void;
  /** Time from the broker timestamp (ms since epoch, kafkajs's string form) until settle. */
  observeEndToEnd(kafkaTimestampMs: string | number, nowMs?: number): void;
  /** Offsets exceed 2^53; a gauge is a float anyway, so precision loss there is accepted. */
  setCommittedOffset(topic: string, partition: number, offset: string | number | bigint): void;
  setConsumerLag(topic: string, partition: number, lag: number | bigint): void;
  /** Drops a revoked partition's series so another instance's values are not shadowed. */
  forgetPartition(topic: string, partition: number): void;
}

// Processing includes retries with backoff, so the tail reaches minutes.
const PROCESSING_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
// End-to-end includes time spent in the topic, which grows to hours under a backlog.
const END_TO_END_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function createMetrics(
  registry: Registry,
  serviceName: string,
  callbacks: MetricsCallbacks = {},
): Metrics {
  const registers = [registry];
  const service = { service: serviceName };

  // Every counter is created with its one series at 0, so rate() works from the first scrape.
  // Counting happens in a plain number (incremented per message) and reaches prom-client at
  // scrape time: its own inc() hashes the labels on every call.
  const counter = (name: string, help: string): CounterHandle => {
    let total = 0;
    new Counter({
      name,
      help,
      labelNames: ['service'],
      registers,
      collect() {
        this.reset();
        this.inc(service, total);
      },
    });
    return {
      inc(value = 1) {
        if (!(value >= 0)) throw new RangeError(`a counter only goes up, got ${value}`);
        total += value;
      },
    };
  };

  const queueDepthCallback = callbacks.queueDepth;
  const queueDepth = new Gauge({
    name: 'queue_depth',
    help: 'Messages fetched from Kafka and waiting for a worker.',
    labelNames: ['service'],
    registers,
    collect() {
      if (queueDepthCallback) this.set(service, queueDepthCallback());
    },
  });
  queueDepth.set(service, 0);

  const oldestCallback = callbacks.oldestUnsettledAgeSeconds;
  new Gauge({
    name: 'myeventstream_oldest_unsettled_message_age_seconds',
    help: 'Age of the oldest fetched message not yet settled; a rising value means the pipeline is stuck.',
    labelNames: ['service'],
    registers,
    collect() {
      this.set(service, oldestCallback ? oldestCallback() : 0);
    },
  });

  const inFlightCallback = callbacks.messagesInFlight;
  const inFlight = new Gauge({
    name: 'myeventstream_messages_in_flight',
    help: 'Messages started and not yet settled: working, waiting out a retry backoff, or waiting for acknowledgements.',
    labelNames: ['service'],
    registers,
    collect() {
      if (inFlightCallback) this.set(service, inFlightCallback());
    },
  });
  inFlight.set(service, 0);

  const inBackoffCallback = callbacks.messagesInBackoff;
  new Gauge({
    name: 'myeventstream_messages_in_backoff',
    help: 'Messages waiting out a retry backoff (or for a worker for their next attempt); they hold no worker.',
    labelNames: ['service'],
    registers,
    collect() {
      this.set(service, inBackoffCallback ? inBackoffCallback() : 0);
    },
  });

  const deadLetters = new Counter({
    name: 'myeventstream_dead_letters_total',
    help: 'Messages written to the dead-letter topic, by failing stage and error code.',
    labelNames: ['service', 'stage', 'code'],
    registers,
  });
  // Only the pairs that can happen: a zero series for decode/PROCESS_FAILED would only mislead.
  for (const { stage, code } of DEAD_LETTER_KINDS) deadLetters.inc({ ...service, stage, code }, 0);

  // Observed for every message: FastHistogram keeps the per-observation cost to a bucket search.
  const processing = new FastHistogram(
    'myeventstream_processing_duration_seconds',
    'Time from hand-off to the process stage until the message settled.',
    PROCESSING_BUCKETS,
    registry,
  );
  const processingByOutcome = new Map(
    OUTCOMES.map((outcome) => [outcome, processing.child({ ...service, outcome })]),
  );
  const endToEndChild = new FastHistogram(
    'myeventstream_end_to_end_latency_seconds',
    'Time from the Kafka message timestamp until the message settled.',
    END_TO_END_BUCKETS,
    registry,
  ).child(service);

  // Partitions are not known up front, so these two are only set (never pre-initialised).
  const committedOffset = new Gauge({
    name: 'myeventstream_committed_offset',
    help: 'Last offset committed per partition (the next offset to consume).',
    labelNames: ['service', 'topic', 'partition'],
    registers,
  });
  const consumerLag = new Gauge({
    name: 'myeventstream_consumer_lag',
    help: 'High watermark minus committed offset per partition.',
    labelNames: ['service', 'topic', 'partition'],
    registers,
  });

  const dlqMessages = counter('dlq_messages_total', 'Messages sent to the dead-letter topic.');
  const metrics: Metrics = {
    queueDepth: queueDepth.labels(service),
    eventsIngested: counter('events_ingested_total', 'Messages fetched from Kafka.'),
    eventsProcessed: counter('events_processed_total', 'Messages processed successfully.'),
    retryAttempts: counter('retry_attempts_total', 'Retries of a failed attempt.'),
    retryExhausted: counter('retry_exhausted_total', 'Messages whose retries were all used up.'),
    messagesInFlight: inFlight.labels(service),
    commits: counter('myeventstream_commits_total', 'Successful offset commits.'),
    commitFailures: counter('myeventstream_commit_failures_total', 'Failed offset commits.'),
    finishedSkipped: counter(
      'myeventstream_finished_skipped_total',
      'Messages not processed again after a restart or rebalance because the last commit recorded them finished.',
    ),
    staleBatches: counter(
      'myeventstream_stale_batches_total',
      'Fetched batches dropped because they did not continue their partition (fetched before a rejoin).',
    ),
    dlqWriteFailures: counter(
      'myeventstream_dlq_write_failures_total',
      'Failed writes to the dead-letter topic.',
    ),

    deadLettered(stage, code) {
      dlqMessages.inc();
      deadLetters.inc({ ...service, stage, code });
    },
    observeProcessing(outcome, seconds) {
      processingByOutcome.get(outcome)?.observe(seconds);
    },
    observeEndToEnd(kafkaTimestampMs, nowMs = Date.now()) {
      const sent = Number(kafkaTimestampMs);
      if (!Number.isFinite(sent)) return;
      // Producer and broker clocks may run ahead of ours; a negative latency is skew, not speed.
      endToEndChild.observe(Math.max(0, (nowMs - sent) / 1000));
    },
    setCommittedOffset(topic, partition, offset) {
      committedOffset.set({ ...service, topic, partition }, Number(offset));
    },
    setConsumerLag(topic, partition, lag) {
      consumerLag.set({ ...service, topic, partition }, Number(lag));
    },
    forgetPartition(topic, partition) {
      committedOffset.remove({ ...service, topic, partition });
      consumerLag.remove({ ...service, topic, partition });
    },
  };

  collectDefaultMetrics({ register: registry });
  return metrics;
}
