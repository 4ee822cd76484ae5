import { Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import type { Logger } from 'winston';
import { CreditGate } from '../core/credit-gate.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { ProcessingOrder } from '../config/schema.js';
import type { Delivery } from '../core/delivery.js';
import type { BackoffPolicy } from '../core/backoff.js';
import type { Settlement } from '../core/handle-message.js';
import type { DeadLetterSinkOptions } from '../sinks/dead-letter-sink.js';
import { Readiness, SERVICE_CONDITIONS, type ServiceCondition } from '../observability/readiness.js';
import { startMessageFlow, type MessageFlowOptions, type RunningFlow } from './message-flow.js';
import { deadLetterReports } from './service-hooks.js';
import { nextTurn } from './next-turn.js';
import type { RunnerCounts } from './pipeline-runner.js';
import { ProgressWatch } from './progress-watch.js';
import { SettleAccounting } from './settle-accounting.js';
import { unlessStopping } from './stop-guard.js';
import { waitUntil } from './wait-until.js';

/** Where a service's dead letters go; the sink's reports are the service's metrics, /readyz and log. */
export interface DeadLetterTarget {
  /** DLQ_TOPIC: a topic, or on NATS a subject. */
  topic: string;
  producer: DeadLetterSinkOptions['producer'];
  /** The consumer group (the NATS durable) named in each dead letter. */
  consumerGroup: string;
  /** The RETRY_* settings: the sink's backoff, and the retries a dead letter says there were. */
  retry: BackoffPolicy & { maxAttempts: number };
}

/** The settings every service has, whatever its broker. */
export interface ServiceBaseSettings {
  serviceName: string;
  workerPoolSize: number;
  queueBufferSize: number;
  stuckAfterMs?: number;
  stuckMessageMs?: number;
  order?: ProcessingOrder;
}

/**
 * What a service holds whatever its broker: its metrics and /readyz conditions, the promise
 * that fails it as a whole, the credits that bound what it holds (QUEUE_BUFFER_SIZE +
 * WORKER_POOL_SIZE), the per-message accounting and the progress watch. The gauges read the
 * accounting and the runner's counts when scraped.
 */
export abstract class ServiceBase {
  readonly registry: Registry;
  readonly readiness = new Readiness<ServiceCondition>(SERVICE_CONDITIONS);
  readonly metrics: Metrics;
  /** Rejects when the service fails as a whole (not one message): the process must exit. */
  readonly failed: Promise<never>;

  protected readonly gate: CreditGate;
  protected readonly accounting: SettleAccounting;
  protected readonly progress: ProgressWatch;
  /** The runner's counts, once the flow has started. */
  protected counts: RunnerCounts | undefined;
  protected fail!: (error: unknown) => void;
  /** Set once stop() was called: the shutdown under way. */
  protected stopping: Promise<void> | undefined;

  protected constructor(
    private readonly baseSettings: ServiceBaseSettings,
    private readonly baseLogger: Logger,
    registry: Registry | undefined,
  ) {
    const settings = baseSettings;
    const logger = baseLogger;
    this.registry = registry ?? new Registry();
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined);
    this.gate = new CreditGate(settings.queueBufferSize + settings.workerPoolSize);
    this.metrics = createMetrics(this.registry, settings.serviceName, {
      oldestUnsettledAgeSeconds: () => this.accounting.oldestUnsettledAgeSeconds(),
      queueDepth: () => this.counts?.waiting ?? 0,
      messagesInFlight: () => this.accounting.running,
      messagesInBackoff: () => this.counts?.inBackoff ?? 0,
    });
    this.accounting = new SettleAccounting(this.gate, this.metrics, logger);
    this.progress = new ProgressWatch({
      accounting: this.accounting,
      readiness: this.readiness,
      logger,
      stuckAfterMs: settings.stuckAfterMs,
      stuckMessageMs: settings.stuckMessageMs,
    });
  }

  /** Graceful shutdown (see shutdown()). Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** What a settle means to the broker, after or around the accounting's booking of it. */
  protected abstract settle(settlement: Settlement): void;

  protected abstract shutdown(): Promise<void>;

  /**
   * Starts the message flow over the source's deliveries, with the accounting's stop guard
   * around each handle, each settlement to settle() and a failed flow failing the service.
   */
  protected startFlow(
    source: Observable<Delivery>,
    {
      deadLetters,
      ...flow
    }: Pick<MessageFlowOptions, 'pipeline' | 'context' | 'commits'> & { deadLetters: DeadLetterTarget },
  ): RunningFlow {
    const running = startMessageFlow({
      ...flow,
      deadLetters: {
        topic: deadLetters.topic,
        producer: deadLetters.producer,
        backoff: deadLetters.retry,
        consumerGroup: deadLetters.consumerGroup,
        maxRetries: deadLetters.retry.maxAttempts,
        ...deadLetterReports(this.metrics, this.readiness, this.baseLogger),
      },
      deliveries: source,
      buffer: nextTurn(),
      workerPoolSize: this.baseSettings.workerPoolSize,
      order: this.baseSettings.order,
      guard: unlessStopping(() => this.stopping !== undefined, this.accounting),
      onSettled: (settlement) => this.settle(settlement),
      onFailed: (error: unknown) => this.fail(error),
    });
    this.counts = running.counts;
    return running;
  }

  /**
   * Waits up to `timeoutMs` for the work running to settle. What has not by then is aborted
   * (`abortAll`), and settles as abandoned at once: a moment more lets its credits come back.
   * Resolves whether all settled in time.
   */
  protected async drain(timeoutMs: number, abortAll: () => void, whatBecomesOfIt: string): Promise<boolean> {
    const { accounting } = this;
    if (await waitUntil(() => accounting.running === 0, timeoutMs)) return true;
    this.baseLogger.warn(`Shutdown timeout reached; ${whatBecomesOfIt}`, { running: accounting.running });
    abortAll();
    await waitUntil(() => accounting.running === 0, 1000);
    return false;
  }
}
