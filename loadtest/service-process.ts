import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../lib/broker/free-port.js';
import { projectRoot } from '../lib/project-root.js';
import { procSnapshot, tryProcSnapshot, type ProcSnapshot } from './proc.js';
import { scrape } from './prometheus.js';

/** The compiled service (`npm run build`), as the benchmark runs it. */
export function serviceEntry(): string {
  return join(projectRoot(), 'dist', 'lib', 'main.js');
}

/** The loadtest pipeline module, for PIPELINE. */
export function loadtestPipeline(): string {
  return join(projectRoot(), 'loadtest', 'pipelines', 'loadtest-pipeline.js');
}

/** Child processes started here, so an interrupted benchmark leaves none behind. */
const children = new Set<ChildProcess>();

export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface ServiceProcess {
  pid: number;
  metricsUrl: string;
  /** Last lines the service printed (stdout and stderr), for error messages. */
  logTail(): string;
  /** Sums of the service's metrics by name. */
  metrics(): Promise<Map<string, number>>;
  /** CPU time and memory of the process now. */
  snapshot(): ProcSnapshot;
  /** Whether /readyz answers 200. */
  ready(): Promise<boolean>;
  /** Rejects if the process exits before stop() is called. */
  readonly died: Promise<never>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The Node.js flags `npm start` runs the service with (the Dockerfile's CMD has the same), so
 * the benchmark measures the service as it is deployed.
 */
export function serviceNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = manifest.scripts.start!.split(/\s+/);
  // The flags stand between `node` and the entry module (npm start's is dist/lib/dev-start.js).
  const entry = words.findIndex((word) => word.startsWith('dist/lib/'));
  return words.slice(words.indexOf('node') + 1, entry);
}

/**
 * Starts `node dist/lib/main.js` (with serviceNodeFlags) with the given settings (LOG_LEVEL warn, a free METRICS_PORT
 * unless set) and resolves once its /metrics answers.
 */
export async function startService(
  env: Record<string, string>,
  startTimeoutMs = 90_000,
): Promise<ServiceProcess> {
  const entry = serviceEntry();
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  const port = env.METRICS_PORT ?? String(await freePort());
  const child = track(
    spawn(process.execPath, [...serviceNodeFlags(), entry], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, METRICS_PORT: port },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let stopping = false;
  const died = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      if (!stopping)
        reject(new Error(`the service exited (${signal ?? code}): ${tail.slice(-5).join(' | ')}`));
    });
  });
  died.catch(() => undefined);
  const base = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    pid: child.pid!,
    metricsUrl: `${base}/metrics`,
    logTail: () => tail.join('\n'),
    metrics: () => scrape(`${base}/metrics`),
    snapshot: () => procSnapshot(child.pid!),
    ready: () =>
      fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.ok)
        .catch(() => false),
    died,
    stop: async (graceMs = 20_000) => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const answered = await Promise.race([
      service.metrics().then(
        () => true,
        () => false,
      ),
      died,
    ]);
    if (answered) return service;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`the service did not answer on ${base}/metrics within ${startTimeoutMs} ms`);
    }
    await sleep(200);
  }
}

export interface WindowMeasurement {
  /** Messages settled (processed or dead-lettered) within the window. */
  messages: number;
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
}

/**
 * Times a service from the first scrape that shows a message taken from Kafka to the first one
 * that shows `target` messages settled (processed or dead-lettered), or `maxSeconds` later.
 * The count is what settled between those two scrapes, so the rate is exact for that window;
 * what the window misses is the part of the first interval before the first scrape saw a
 * message. Scrapes come every `pollMs` until the first message, then at half the time the
 * window's end is expected in (at least `pollMs`, at most a second): a scrape costs the service
 * CPU time, and one every 50 ms throughout took a few per cent of what the row measures.
 */
export async function measureUntilSettled(
  service: ServiceProcess,
  target: number,
  { pollMs = 50, timeoutMs = 600_000, maxSeconds = Infinity } = {},
): Promise<WindowMeasurement> {
  const deadline = Date.now() + timeoutMs;
  let start: { at: number; settled: number; cpu: number } | undefined;
  for (;;) {
    const values = await Promise.race([service.metrics(), service.died]).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith('the service exited')) throw error;
      return undefined;
    });
    const at = Date.now();
    if (values) {
      const settled = settledOf(values);
      if (!start && (values.get('events_ingested_total') ?? 0) > 0) {
        start = { at, settled, cpu: tryProcSnapshot(service.pid)?.cpuSeconds ?? 0 };
      }
      if (start && (settled >= target || at - start.at >= maxSeconds * 1000)) {
        const end = service.snapshot();
        return {
          messages: settled - start.settled,
          seconds: (at - start.at) / 1000,
          cpuSeconds: end.cpuSeconds - start.cpu,
          peakRssBytes: end.peakRssBytes,
        };
      }
    }
    if (at > deadline)
      throw new Error(`the service did not settle ${target} messages within ${timeoutMs} ms`);
    await sleep(start && values ? nextPollMs(start, at, values, target, maxSeconds, pollMs) : pollMs);
  }
}

/** Messages settled (processed or dead-lettered), by a scrape. */
function settledOf(values: Map<string, number>): number {
  return (values.get('events_processed_total') ?? 0) + (values.get('dlq_messages_total') ?? 0);
}

/** Half the time until the window is expected to end, by the rate so far; `pollMs` to 1 s. */
export function nextPollMs(
  start: { at: number; settled: number },
  at: number,
  values: Map<string, number>,
  target: number,
  maxSeconds: number,
  pollMs: number,
): number {
  const settled = settledOf(values);
  const elapsedMs = at - start.at;
  const perMs = elapsedMs > 0 ? (settled - start.settled) / elapsedMs : 0;
  const untilTargetMs = perMs > 0 ? (target - settled) / perMs : pollMs;
  const untilEndMs = Math.min(untilTargetMs, maxSeconds * 1000 - elapsedMs);
  return Math.min(1000, Math.max(pollMs, untilEndMs / 2));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
