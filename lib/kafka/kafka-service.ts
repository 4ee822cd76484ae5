import { type Admin, type Consumer, type Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { Logger } from 'winston';
import { Committer } from './commit/committer.js';
import type { ProcessingOrder } from '../config/schema.js';
import { OffsetTracker, type PartitionStart } from './commit/offset-tracker.js';
import { errorMessage } from '../core/errors.js';
import type { BackoffPolicy } from '../core/backoff.js';
import type { Pipeline, PipelineContext } from '../pipeline/define-pipeline.js';
import type { Settlement } from '../core/handle-message.js';
import { BatchingProducer } from '../sinks/batching-producer.js';
import { OutputTopics, type TopicLookup } from './sinks/output-topics.js';
import type { RecordWriter } from '../sinks/record-writer.js';
import { GroupMembership } from './source/group-membership.js';
import { kafkaSource, type SourceControl } from './source/kafka-source.js';
import { commitAfterSettles } from '../core/commit-after-settles.js';
import { retryMetrics } from '../service/service-hooks.js';
import { type DeadLetterTarget, ServiceBase } from '../service/service-base.js';

export interface KafkaEventServiceSettings {
  serviceName: string;
  topic: string;
  groupId: string;
  dlqTopic: string;
  outputTopic: string | undefined;
  workerPoolSize: number;
  queueBufferSize: number;
  /** PROCESSING_ORDER: unordered (default), one at a time per key, or per partition. */
  order?: ProcessingOrder;
  /** RETRY_* settings; `attemptTimeoutMs` (PROCESS_TIMEOUT_MS) bounds each process attempt. */
  retry: BackoffPolicy & { maxAttempts: number; attemptTimeoutMs?: number };
  commitIntervalMs: number;
  shutdownTimeoutMs: number;
  sessionTimeoutMs: number;
  schema: object;
  /** No settle for this long while messages are held counts as stuck for /readyz. */
  stuckAfterMs?: number;
  /** STUCK_MESSAGE_MS: one message unsettled this long is reported on /readyz, others settling or not. */
  stuckMessageMs?: number;
  /** A consumer that crashed and has not rejoined its group for this long fails the service. */
  consumerRecoveryTimeoutMs?: number;
  /** KAFKA_FETCH_MAX_BYTES and KAFKA_FETCH_MAX_PARTITION_BYTES: how much one fetch brings in. */
  fetchMaxBytes?: number;
  fetchMaxPartitionBytes?: number;
}

export interface KafkaEventServiceDeps {
  settings: KafkaEventServiceSettings;
  kafka: Kafka;
  /**
   * The producer of output and dead-letter writes (KAFKA_PRODUCER_CLIENT picks its client
   * library); it connects to DLQ_BROKERS, which may name another cluster.
   */
  writer: RecordWriter;
  pipeline: Pipeline;
  logger: Logger;
  registry?: Registry;
  /**
   * Looks up (and with CREATE_TOPICS creates) each topic the pipeline writes to before its
   * first write, on the writer's cluster; without it, topics are not checked.
   */
  topicLookup?: TopicLookup;
}

/**
 * The running service: Kafka → credit-gated source → mergeMap(handle, WORKER_POOL_SIZE) →
 * settlements → committer. Everything Kafka-facing is created here; the flow between source
 * and settlements is startMessageFlow's (message-flow.ts), the one the test driver runs too, and
 * the per-message logic lives in the pipeline's operators.
 */
export class KafkaEventService extends ServiceBase {
  private readonly consumer: Consumer;
  private readonly writer: RecordWriter;
  /** Reads committed offsets and log starts when partitions are assigned. */
  private readonly admin: Admin;
  private readonly tracker = new OffsetTracker();
  private readonly committer: Committer;
  private subscription: Subscription | undefined;
  /** The commit subscriber of the flow (commitAfterSettles). */
  private commits: Subscription | undefined;
  private stuckTimer: NodeJS.Timeout | undefined;
  /** Last high watermark seen per partition, for the lag metric. */
  private readonly highWatermarks = new Map<string, string>();
  private crashedSince: { at: number; error: unknown } | undefined;

  constructor(private readonly deps: KafkaEventServiceDeps) {
    super(deps.settings, deps.logger, deps.registry);
    const { settings, kafka, writer, logger } = deps;
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(settings.sessionTimeoutMs / 10)),
      allowAutoTopicCreation: false,
      // A fetch waits this long for data when the topic is idle; disconnect waits for that
      // fetch, so it bounds how long a shutdown takes after the drain.
      maxWaitTimeInMs: 500,
      maxBytes: settings.fetchMaxBytes ?? 1048576,
      maxBytesPerPartition: settings.fetchMaxPartitionBytes ?? 262144,
    });
    this.admin = kafka.admin();
    this.writer = writer;
    this.committer = new Committer({
      commit: (offsets) => {
        if (!this.source) return Promise.reject(new Error('the consumer is not running'));
        return this.source.commitOffsets(offsets);
      },
      tracker: this.tracker,
      logger,
      onCommitted: (offsets) => {
        this.metrics.commits.inc();
        for (const { topic, partition, offset } of offsets) {
          this.metrics.setCommittedOffset(topic, partition, offset);
          const high = this.highWatermarks.get(`${topic}\u0000${partition}`);
          if (high !== undefined)
            this.metrics.setConsumerLag(topic, partition, BigInt(high) - BigInt(offset));
        }
      },
      onCommitFailed: () => this.metrics.commitFailures.inc(),
    });
    new GroupMembership(
      this.consumer,
      this.tracker,
      (topic, partitions) => this.readStarts(topic, partitions),
      {
        onJoin: (joins, assignment, { revoked, added, kept }) => {
          this.crashedSince = undefined;
          for (const { topic, partition } of revoked) this.metrics.forgetPartition(topic, partition);
          this.readiness.set('consumer', true);
          logger.info('Joined the consumer group', { joins, assignment, added, kept, revoked });
        },
        onConfirmed: (joins, restarted) => {
          if (restarted.length > 0)
            logger.warn('Kept partitions were committed by another member meanwhile; their work restarts', {
              joins,
              partitions: restarted,
            });
        },
        onStartsFailed: (error, retryInMs) =>
          logger.warn("Reading the group's committed offsets failed, retrying", {
            error: errorMessage(error),
            retryInMs,
          }),
        onRebalancing: () => {
          this.readiness.set('consumer', false, 'rebalancing');
          void this.committer.commitNow();
        },
      },
    );
    this.watchClients();
  }

  /** One line per topic the pipeline writes to that does not exist, and /readyz naming it. */
  private outputTopics(lookup: TopicLookup): OutputTopics {
    const { logger } = this.deps;
    return new OutputTopics(lookup, (topic, outcome) => {
      if (outcome.created) {
        logger.info('Created a topic the pipeline writes to (CREATE_TOPICS=true)', { topic });
        return;
      }
      logger.error(
        `Topic ${topic} that the pipeline writes to does not exist: create it, or set CREATE_TOPICS=true`,
        { topic, error: outcome.error === undefined ? undefined : errorMessage(outcome.error) },
      );
      this.readiness.set('producer', false, `writes to ${topic} failing: the topic does not exist`);
    });
  }

  async start(): Promise<void> {
    const { settings, logger, pipeline } = this.deps;
    await this.writer.connect();
    this.readiness.set('producer', true);
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: settings.topic, fromBeginning: true });
    this.readiness.set('dlq', true);
    this.readiness.set('progress', true);
    this.readiness.set('consumer', false, 'waiting for the group join');

    // Dead letters get requests of their own: a request fails as a whole, so a DLQ that is
    // down must not fail the output writes of valid events that would share its requests.
    const batching = new BatchingProducer(this.writer);
    const outputTopics = this.deps.topicLookup && this.outputTopics(this.deps.topicLookup);
    const deadLetters = new BatchingProducer(this.writer);
    const producerWorks = () => this.readiness.set('producer', true);
    const context: PipelineContext = {
      schema: settings.schema,
      outputTopic: settings.outputTopic,
      retry: settings.retry,
      // Neither client reports a lost connection (they reconnect on the next request), so
      // readiness follows the writes themselves: a failed write is a producer that cannot deliver.
      produce: (topic, message) => {
        const send = () =>
          batching.send(topic, message).then(producerWorks, (error: unknown) => {
            const reason = outputTopics?.isMissing(topic) ? 'the topic does not exist' : errorMessage(error);
            this.readiness.set('producer', false, `writes to ${topic} failing: ${reason}`);
            throw error;
          });
        const checked = outputTopics?.checked(topic);
        return checked ? checked.then(send) : send();
      },
      logger,
    };
    const deadLetterTarget: DeadLetterTarget = {
      topic: settings.dlqTopic,
      producer: deadLetters,
      consumerGroup: settings.groupId,
      retry: settings.retry,
    };
    const source = kafkaSource({
      consumer: this.consumer,
      gate: this.gate,
      ownership: this.tracker,
      hooks: retryMetrics(this.metrics),
      logStartOffset: (topic, partition) => this.logStartOffset(topic, partition),
      onFinishedSkipped: () => this.metrics.finishedSkipped.inc(),
      onStaleBatch: (topic, partition, fetchedOffset, position) => {
        this.metrics.staleBatches.inc();
        logger.debug('Dropped a batch that does not continue the partition', {
          topic,
          partition,
          fetchedOffset,
          position,
        });
      },
      onBatch: (topic, partition, highWatermark) =>
        this.highWatermarks.set(`${topic}\u0000${partition}`, highWatermark),
      onHandOff: (delivery) => this.accounting.handedOff(delivery),
    });
    this.source = source;
    // A message of a partition revoked while it waited for a worker is not started: another
    // member owns it now and reads it from the committed offset (see unlessStopping).
    const flow = this.startFlow(source, {
      pipeline,
      context,
      deadLetters: deadLetterTarget,
      commits: commitAfterSettles({
        commitNow: () => this.committer.commitNow(),
        minIntervalMs: settings.commitIntervalMs,
      }),
    });
    this.subscription = flow.subscription;
    this.commits = flow.commits;
    this.stuckTimer = setInterval(() => this.checkProgress(), 1000);
    this.stuckTimer.unref();
  }

  private source: SourceControl | undefined;

  /**
   * Graceful shutdown: stop intake, let what was taken settle for up to SHUTDOWN_TIMEOUT_MS,
   * commit, then leave the group and close the producer. What did not settle in time stays
   * uncommitted and is delivered again after a restart.
   */
  protected async shutdown(): Promise<void> {
    const { settings, logger } = this.deps;
    const { accounting } = this;
    logger.info('Shutting down: intake stopped, draining', {
      running: accounting.running,
      held: accounting.held,
    });
    this.source?.stopIntake();
    try {
      this.consumer.pause([{ topic: settings.topic }]);
    } catch (error) {
      // kafkajs is between a crash and its restart: there is no consumer to pause, and intake
      // is stopped anyway. The drain and the commit go on.
      logger.warn('Could not pause the consumer; intake is stopped', { error: errorMessage(error) });
    }
    // Only work already running is waited for: messages still waiting for a worker are
    // abandoned as they come up (see unlessStopping) and dropped with the subscription.
    const drained = await this.drain(
      settings.shutdownTimeoutMs,
      () => this.tracker.abortAll('shutdown timeout'),
      'unsettled messages stay uncommitted',
    );
    this.commits?.unsubscribe();
    const committed = await this.commitBeforeLeaving();
    clearInterval(this.stuckTimer);
    this.subscription?.unsubscribe();
    await this.consumer.disconnect();
    await this.writer.disconnect();
    this.readiness.set('producer', false, 'producer disconnected');
    await this.admin.disconnect();
    if (!committed) {
      throw new Error(
        'the final offset commit was not acknowledged; settled messages since the last commit will be delivered again',
      );
    }
    logger.info('Shut down', { drained });
  }

  /** The last commit, tried a few times: a rejoin or a coordinator move may be under way. */
  private async commitBeforeLeaving(): Promise<boolean> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      if (await this.committer.commitNow()) return true;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
    return false;
  }

  /** The group's committed offsets and the log starts of `partitions`, for new ownerships. */
  private async readStarts(topic: string, partitions: number[]): Promise<Map<number, PartitionStart>> {
    const [{ partitions: committed } = { partitions: [] }] = await this.admin.fetchOffsets({
      groupId: this.deps.settings.groupId,
      topics: [topic],
    });
    const needEarliest = partitions.some(
      (p) => Number(committed.find((c) => c.partition === p)?.offset ?? -1) < 0,
    );
    const earliest = needEarliest ? await this.admin.fetchTopicOffsets(topic) : [];
    const starts = new Map<number, PartitionStart>();
    for (const partition of partitions) {
      const entry = committed.find((c) => c.partition === partition);
      const offset = entry?.offset;
      const low = earliest.find((e) => e.partition === partition)?.low;
      if (offset !== undefined && !offset.startsWith('-'))
        starts.set(partition, { committed: offset, earliest: offset, metadata: entry?.metadata ?? null });
      else if (low !== undefined) starts.set(partition, { committed: undefined, earliest: low });
      else throw new Error(`no committed offset nor log start for ${topic}[${partition}]`);
    }
    return starts;
  }

  private logStarts: { topic: string; at: number; lows: Promise<Map<number, string>> } | undefined;

  /** A partition's log start offset, read at most once a second per topic (stale batches only). */
  private logStartOffset(topic: string, partition: number): Promise<string | undefined> {
    const now = Date.now();
    if (!this.logStarts || this.logStarts.topic !== topic || now - this.logStarts.at > 1000) {
      const lows = this.admin
        .fetchTopicOffsets(topic)
        .then((offsets) => new Map(offsets.map(({ partition: p, low }) => [p, low])));
      this.logStarts = { topic, at: now, lows };
    }
    return this.logStarts.lows.then(
      (lows) => lows.get(partition),
      () => undefined,
    );
  }

  /** The accounting books the settle; an abandoned message is not done, so its offset stays unmarked. */
  protected settle(settlement: Settlement): void {
    if (!this.accounting.settled(settlement)) return;
    const { delivery } = settlement;
    this.tracker.settle(delivery.topic, delivery.partition, delivery.offset, delivery.generation);
  }

  /**
   * kafkajs restarts a crashed consumer by itself, forever. A consumer that keeps crashing
   * without getting back into its group (its topic was deleted, its ACLs revoked) would leave
   * a process that is alive but consumes nothing: after `consumerRecoveryTimeoutMs` the
   * service fails instead, so the orchestrator restarts it and the operator sees why.
   */
  private checkConsumerRecovery(): void {
    const limit = this.deps.settings.consumerRecoveryTimeoutMs ?? 60_000;
    if (this.crashedSince && Date.now() - this.crashedSince.at > limit && !this.stopping) {
      const cause = errorMessage(this.crashedSince.error);
      this.fail(new Error(`the Kafka consumer has not recovered for ${limit} ms: ${cause}`));
    }
  }

  private checkProgress(): void {
    this.checkConsumerRecovery();
    this.progress.check();
  }

  /** Readiness follows the consumer, and a consumer that gave up makes the service fail. */
  private watchClients(): void {
    const { consumer } = this;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.readiness.set('consumer', false, `consumer crashed: ${errorMessage(payload.error)}`);
      this.crashedSince ??= { at: Date.now(), error: payload.error };
      if (!payload.restart) this.fail(payload.error);
    });
  }
}
