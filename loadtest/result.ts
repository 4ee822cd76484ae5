import type { EventKind } from './events.js';
import type { MetricsSample } from './prometheus.js';
import type { Histogram, Summary } from './stats.js';

/** What `npm run loadtest` writes to loadtest/results/<name>.json (and renders as HTML). */
export interface LoadTestResult {
  kind: 'loadtest';
  runId: string;
  startedAt: string;
  settings: {
    brokers: string[];
    topic: string;
    outputTopic: string | null;
    dlqTopic: string | null;
    count: number | null;
    rate: number | null;
    durationSeconds: number | null;
    template: string;
    size: number | null;
    keys: string;
    malformed: number;
    failing: number;
    failAttempts: number;
    seed: number;
  };
  produced: {
    /** Events the broker acknowledged. */
    count: number;
    /** Events sent, by kind (failed sends included). */
    byKind: Record<EventKind, number>;
    bytes: number;
    seconds: number;
    perSecond: number;
    errors: number;
  };
  /** Events seen on the output or dead-letter topic; null when no output topic was given. */
  settled: {
    count: number;
    toOutput: number;
    toDeadLetter: number;
    duplicates: number;
    missing: number;
    /** First produce to the last settled event. */
    seconds: number;
    perSecond: number;
  } | null;
  /** Produce time (header) to the output record's timestamp, and to when this run read it. */
  latencyMs: {
    /** Events produced in the first warmupSeconds are left out of all but the last figure. */
    warmupSeconds: number;
    byOutputTimestamp: Summary;
    byReceiveTime: Summary;
    byKind: Record<EventKind, Summary>;
    byOutputTimestampIncludingWarmup: Summary;
  } | null;
  /** Of latencyMs.byOutputTimestamp. */
  latencyHistogram: Histogram | null;
  timeline: { bucketMs: number; producedPerSecond: number[]; settledPerSecond: number[] };
  metrics: { url: string; samples: MetricsSample[]; errors: number } | null;
  warnings: string[];
  files?: { json: string; html: string };
}
