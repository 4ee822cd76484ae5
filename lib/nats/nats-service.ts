import { type Consumer, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { Logger } from 'winston';
import type { ProcessingOrder } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import type { BackoffPolicy } from '../core/backoff.js';
import type { Pipeline, PipelineContext } from '../pipeline/define-pipeline.js';
import type { Settlement } from '../core/handle-message.js';
import { retryMetrics } from '../service/service-hooks.js';
import { type DeadLetterTarget, ServiceBase } from '../service/service-base.js';
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
export class NatsEventService extends ServiceBase {
  private source: (NatsSourceControl & { subscription: Subscription }) | undefined;
  private pullFailingSince: { at: number; error: unknown } | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private consumer: Consumer | undefined;
  private lagAsked = false;

  constructor(private readonly deps: NatsServiceDeps) {
    super(deps.settings, deps.logger, deps.registry);
  }

  /** Messages taken in and not settled yet: at most QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE. */
  get held(): number {
    return this.gate.held;
  }

  async start(): Promise<void> {
    const { settings, logger, pipeline, connection } = this.deps;
    const js = jetstream(connection);
    const consumer = await js.consumers.get(settings.stream, settings.durable);
    this.consumer = consumer;
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
    const deadLetterTarget: DeadLetterTarget = {
      topic: settings.dlqSubject,
      producer: deadLetters,
      consumerGroup: settings.durable,
      retry: settings.retry,
    };
    const source = natsSource({
      consumer,
      gate: this.gate,
      ackWaitMs: settings.ackWaitMs,
      hooks: retryMetrics(this.metrics),
      onHandOff: (delivery) => this.accounting.handedOff(delivery),
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
    const flow = this.startFlow(source, { pipeline, context, deadLetters: deadLetterTarget });
    this.source = Object.assign(source, { subscription: flow.subscription });
    this.progressTimer = setInterval(() => this.checkProgress(), 1000);
    this.progressTimer.unref();
  }

  /**
   * Graceful shutdown: stop intake, let what was taken settle for up to SHUTDOWN_TIMEOUT_MS
   * (each settled message is acked), hand what did not back to the stream, and flush, so
   * every ack reached the server before the connection is closed.
   */
  protected async shutdown(): Promise<void> {
    const { settings, logger, connection } = this.deps;
    const { accounting } = this;
    logger.info('Shutting down: intake stopped, draining', {
      running: accounting.running,
      held: accounting.held,
    });
    const source = this.source;
    source?.stopIntake();
    const drained = await this.drain(
      settings.shutdownTimeoutMs,
      () => source?.abortAll('shutdown timeout'),
      'unsettled messages go back to the stream',
    );
    clearInterval(this.progressTimer);
    source?.subscription.unsubscribe();
    source?.releaseUnsettled();
    if (!connection.isClosed()) await connection.flush();
    logger.info('Shut down', { drained });
  }

  /** Each settle reaches the source, which acks a done message and hands an abandoned one back. */
  protected settle(settlement: Settlement): void {
    this.source?.settle(settlement.delivery, settlement.outcome);
    this.accounting.settled(settlement);
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

  private checkProgress(): void {
    const { settings } = this.deps;
    const failing = this.pullFailingSince;
    const limit = settings.recoveryTimeoutMs ?? 60_000;
    if (failing && Date.now() - failing.at > limit && !this.stopping)
      this.fail(
        new Error(
          `pulling from NATS consumer ${settings.durable} has failed for ${limit} ms: ${errorMessage(failing.error)}`,
        ),
      );
    this.progress.check();
    this.refreshLag();
  }

  /**
   * The lag from the consumer's pending count, asked once a second: each pull's answer carries
   * it too, but no pull is made while every credit is taken, and the lag grows meanwhile.
   */
  private refreshLag(): void {
    const { consumer, lagAsked } = this;
    if (!consumer || lagAsked || this.stopping) return;
    this.lagAsked = true;
    consumer
      .info()
      .then(
        (info) => this.metrics.setConsumerLag(this.deps.settings.stream, 0, info.num_pending),
        () => undefined, // a failing server shows on /readyz and in the pull's own retries
      )
      .finally(() => (this.lagAsked = false));
  }
}
