import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { EMPTY, of, type Subscription } from 'rxjs';
import type { Logger } from 'winston';
import type { ProcessingOrder } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { progressOf, type UnsettledMessage } from '../observability/progress.js';
import { Readiness, SERVICE_CONDITIONS, type ServiceCondition } from '../observability/readiness.js';
import type { BackoffPolicy } from '../core/backoff.js';
import type { Pipeline, PipelineContext } from '../pipeline/define-pipeline.js';
import type { Delivery } from '../core/delivery.js';
import type { MessageHandler, Settlement, WorkerResult } from '../core/handle-message.js';
import { startMessageFlow } from '../service/message-flow.js';
import { nextTurn } from '../service/next-turn.js';
import type { RunnerCounts } from '../service/pipeline-runner.js';
import { classify } from '../sinks/dead-letter.js';
import type { DeadLetterSinkOptions } from '../sinks/dead-letter-sink.js';
import { CreditGate } from '../core/credit-gate.js';
import { withNatsOrigin } from './nats-dead-letters.js';
import { NatsPublisher } from './nats-publisher.js';
import { natsSource, type NatsSourceControl } from './nats-source.js';

export interface NatsServiceSettings {
  serviceName: string;
  stream: string;
  durable: string;
  /** The consumer's ack wait (NATS_ACK_WAIT_MS); messages held longer are kept alive. */
  ackWaitMs: number;
  dlqSubject: string;
  outputSubject: string | undefined;
  workerPoolSize: number;
  queueBufferSize: number;
  order?: ProcessingOrder;
  retry: BackoffPolicy & { maxAttempts: number; attemptTimeoutMs?: number };
  shutdownTimeoutMs: number;
  schema: object;
  stuckAfterMs?: number;
  stuckMessageMs?: number;
  /** Pulls failing this long (the stream or consumer is gone) fail the service. */
  recoveryTimeoutMs?: number;
}

export interface NatsServiceDeps {
  settings: NatsServiceSettings;
  /** The service's connection; its owner closes it after stop(). */
  connection: NatsConnection;
  pipeline: Pipeline;
  logger: Logger;
  registry?: Registry;
}

/**
 * The service on NATS JetStream: durable pull consumer → credit-gated source →
 * mergeMap(handle, WORKER_POOL_SIZE) → settlements → acks. The message flow is the Kafka
 * service's (startMessageFlow: handleMessage, runPipeline, the dead-letter sink); what differs is
 * the edges: a message settles by its ack instead of an offset commit, and writes are JetStream
 * publishes. The durable consumer must exist with max_ack_pending at the credits (ensureDurable).
 */
export class NatsEventService {
  readonly registry: Registry;
  readonly readiness = new Readiness<ServiceCondition>(SERVICE_CONDITIONS);
  readonly metrics: Metrics;
  /** Rejects when the service fails as a whole (not one message): the process must exit. */
  readonly failed: Promise<never>;

  private readonly gate: CreditGate;
  private readonly handedOffAt = new Map<Delivery, number>();
  private source: (NatsSourceControl & { subscription: Subscription }) | undefined;
  private counts: RunnerCounts | undefined;
  private fail!: (error: unknown) => void;
  private running = 0;
  private lastSettleAt = Date.now();
  private progressing = true;
  private pullFailingSince: { at: number; error: unknown } | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: NatsServiceDeps) {
    const { settings } = deps;
    this.registry = deps.registry ?? new Registry();
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined);
    this.gate = new CreditGate(settings.queueBufferSize + settings.workerPoolSize);
    this.metrics = createMetrics(this.registry, settings.serviceName, {
      oldestUnsettledAgeSeconds: () => this.oldestUnsettledAgeSeconds(),
      queueDepth: () => this.counts?.waiting ?? 0,
      messagesInFlight: () => this.running,
      messagesInBackoff: () => this.counts?.inBackoff ?? 0,
    });
  }

  /** Messages taken in and not settled yet: at most QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE. */
  get held(): number {
    return this.gate.held;
  }

  async start(): Promise<void> {
    const { settings, logger, pipeline, connection } = this.deps;
    const js = jetstream(connection);
    const consumer = await js.consumers.get(settings.stream, settings.durable);
    this.watchConnection();
    this.readiness.set('consumer', true);
    this.readiness.set('producer', true);
    this.readiness.set('dlq', true);
    this.readiness.set('progress', true);

    const publisher = new NatsPublisher(js);
    const context: PipelineContext = {
      schema: settings.schema,
      outputTopic: settings.outputSubject,
      retry: settings.retry,
      produce: (subject, message) =>
        publisher.send(subject, message).then(
          () => this.readiness.set('producer', true),
          (error: unknown) => {
            this.readiness.set('producer', false, `writes to ${subject} failing: ${errorMessage(error)}`);
            throw error;
          },
        ),
      logger,
    };
    const deadLetters = withNatsOrigin((subject, letter) => publisher.send(subject, letter));
    const deadLetterOptions: DeadLetterSinkOptions = {
      topic: settings.dlqSubject,
      producer: deadLetters,
      backoff: settings.retry,
      consumerGroup: settings.durable,
      maxRetries: settings.retry.maxAttempts,
      onWriteFailed: (error, attempt, delivery) => {
        this.metrics.dlqWriteFailures.inc();
        this.readiness.set('dlq', false, `dead-letter writes failing: ${errorMessage(error)}`);
        logger.warn('Dead-letter write failed, retrying', {
          ...where(delivery),
          attempt,
          error: errorMessage(error),
        });
      },
      onWritten: () => this.readiness.set('dlq', true),
    };
    const source = natsSource({
      consumer,
      gate: this.gate,
      ackWaitMs: settings.ackWaitMs,
      hooks: {
        onRetry: () => this.metrics.retryAttempts.inc(),
        onRetryExhausted: () => this.metrics.retryExhausted.inc(),
      },
      onHandOff: (delivery) => {
        this.handedOffAt.set(delivery, Date.now());
        this.metrics.eventsIngested.inc();
      },
      onPending: (pending) => this.metrics.setConsumerLag(settings.stream, 0, pending),
      onPulled: () => {
        if (this.pullFailingSince) logger.info('Pulling from the consumer again');
        this.pullFailingSince = undefined;
      },
      onPullFailed: (error) => {
        if (!this.pullFailingSince)
          logger.warn('Pulling from the consumer failed, retrying', { error: errorMessage(error) });
        this.pullFailingSince ??= { at: Date.now(), error };
      },
    });
    // As in the Kafka service: once shutdown began, messages still waiting for a worker are
    // not started (they go back to the stream), and `running` counts what a drain waits for.
    const unlessStopping =
      (handle: MessageHandler): MessageHandler =>
      (delivery, worker) => {
        if (this.stopping) return EMPTY;
        this.running += 1;
        if (delivery.signal.aborted) return of<WorkerResult>({ delivery, outcome: 'abandoned' });
        return handle(delivery, worker);
      };
    const flow = startMessageFlow({
      deliveries: source.pipe(nextTurn()),
      pipeline,
      context,
      deadLetters: deadLetterOptions,
      workerPoolSize: settings.workerPoolSize,
      order: settings.order,
      guard: unlessStopping,
      onSettled: (settlement) => this.settle(settlement),
      onFailed: (error: unknown) => this.fail(error),
    });
    this.counts = flow.counts;
    this.source = Object.assign(source, { subscription: flow.subscription });
    this.progressTimer = setInterval(() => this.checkProgress(), 1000);
    this.progressTimer.unref();
  }

  /**
   * Graceful shutdown: stop intake, let what was taken settle for up to SHUTDOWN_TIMEOUT_MS
   * (each settled message is acked), hand what did not back to the stream, and flush, so
   * every ack reached the server before the connection is closed. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const { settings, logger, connection } = this.deps;
    logger.info('Shutting down: intake stopped, draining', { running: this.running, held: this.gate.held });
    const source = this.source;
    source?.stopIntake();
    const drained = await waitUntil(() => this.running === 0, settings.shutdownTimeoutMs);
    if (!drained) {
      logger.warn('Shutdown timeout reached; unsettled messages go back to the stream', {
        running: this.running,
      });
      source?.abortAll('shutdown timeout');
      await waitUntil(() => this.running === 0, 1000);
    }
    clearInterval(this.progressTimer);
    source?.subscription.unsubscribe();
    source?.releaseUnsettled();
    if (!connection.isClosed()) await connection.flush();
    logger.info('Shut down', { drained });
  }

  private settle(settlement: Settlement): void {
    const { delivery, outcome, error } = settlement;
    this.running -= 1;
    this.source?.settle(delivery, outcome);
    const handedOffAt = this.handedOffAt.get(delivery);
    this.handedOffAt.delete(delivery);
    this.gate.release();
    this.lastSettleAt = Date.now();
    if (outcome === 'abandoned') return;
    const seconds = handedOffAt === undefined ? 0 : (Date.now() - handedOffAt) / 1000;
    if (outcome === 'processed') {
      this.metrics.eventsProcessed.inc();
      this.metrics.observeProcessing('processed', seconds);
    } else {
      const { stage, code } = classify(error);
      this.metrics.deadLettered(stage, code);
      this.metrics.observeProcessing('dead_lettered', seconds);
      this.deps.logger.debug('Message dead-lettered', {
        ...where(delivery),
        stage,
        code,
        error: errorMessage(error),
      });
    }
    this.metrics.observeEndToEnd(delivery.timestamp);
  }

  /** /readyz follows the connection: not ready while the client reconnects. */
  private watchConnection(): void {
    const { connection } = this.deps;
    void (async () => {
      for await (const status of connection.status()) {
        if (status.type === 'disconnect' || status.type === 'staleConnection')
          this.readiness.set('consumer', false, 'NATS connection lost, reconnecting');
        else if (status.type === 'reconnect') this.readiness.set('consumer', true);
      }
    })();
    void connection.closed().then((error) => {
      this.readiness.set('consumer', false, 'NATS connection closed');
      if (!this.stopping) this.fail(error ?? new Error('the NATS connection was closed'));
    });
  }

  private oldestUnsettled(): UnsettledMessage | undefined {
    const first = this.handedOffAt.entries().next();
    if (first.done) return undefined;
    const [delivery, handedOffAt] = first.value;
    return { ...where(delivery), handedOffAt };
  }

  private oldestUnsettledAgeSeconds(): number {
    const oldest = this.oldestUnsettled();
    return oldest === undefined ? 0 : (Date.now() - oldest.handedOffAt) / 1000;
  }

  private checkProgress(): void {
    const { settings, logger } = this.deps;
    const failing = this.pullFailingSince;
    const limit = settings.recoveryTimeoutMs ?? 60_000;
    if (failing && Date.now() - failing.at > limit && !this.stopping)
      this.fail(
        new Error(
          `pulling from NATS consumer ${settings.durable} has failed for ${limit} ms: ${errorMessage(failing.error)}`,
        ),
      );
    const oldest = this.oldestUnsettled();
    const { ok, reason } = progressOf({
      now: Date.now(),
      held: this.gate.held,
      lastSettleAt: this.lastSettleAt,
      oldest,
      stuckAfterMs: settings.stuckAfterMs ?? 120_000,
      stuckMessageMs: settings.stuckMessageMs ?? 300_000,
    });
    if (!ok && this.progressing) logger.warn('No progress', { reason, oldest });
    this.progressing = ok;
    this.readiness.set('progress', ok, reason);
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function where(delivery: Delivery) {
  return { topic: delivery.topic, partition: delivery.partition, offset: delivery.offset };
}
