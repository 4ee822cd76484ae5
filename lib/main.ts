import { Kafka, type KafkaConfig } from 'kafkajs';
import { Registry } from 'prom-client';
import { describeConfig, loadConfig, type Config } from './config/load-config.js';
import { SETTINGS } from './config/schema.js';
import { errorMessage } from './core/errors.js';
import {
  authenticationLogsAsWarnings,
  explainAuthenticationFailures,
} from './kafka/authentication-failure.js';
import { BROKER_CHECK_RETRY, checkBrokersAnswer } from './kafka/broker-check.js';
import { connectionOptions } from './kafka/connection-options.js';
import { ensureTopics, type TopicSpec } from './kafka/ensure-topics.js';
import { adminTopicLookup } from './kafka/sinks/output-topics.js';
import { kafkaLogCreator, kafkaLogCreatorAtDebug, kafkaLogLevel } from './kafka/kafka-logger.js';
import { ignoreKafkajsNegativeTimeouts } from './kafka/negative-timeout-warning.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startHttpServer, type RunningHttpServer } from './observability/http-server.js';
import type { Readiness } from './observability/readiness.js';
import { loadPipeline } from './pipeline/load-pipeline.js';
import { startNatsService } from './nats/start-nats-service.js';
import { KafkaEventService } from './kafka/kafka-service.js';
import { writerForConfig } from './kafka/sinks/writer-for-config.js';
import { StartupError } from './startup-error.js';
import { startupFailure, startupFailureLine } from './startup-failure.js';

// A warning kafkajs raises on Node.js 24 at every connection, harmless (see the module).
ignoreKafkajsNegativeTimeouts();

/** The settings are not known yet when they are what failed; SERVICE_NAME may still be. */
let serviceName = process.env.SERVICE_NAME?.trim() || String(SETTINGS.get('serviceName')?.default);

/** How the service is started: by this module (the image's entry) or by `npm start`. */
export interface ServiceOptions {
  /**
   * Starts (or reuses) a local broker when KAFKA_BROKERS is unset, and returns its address.
   * Only `npm start`'s entry (lib/dev-start.ts) gives one: the production entry never loads
   * the code that runs a JVM broker, and without KAFKA_BROKERS it stops, naming the setting.
   */
  startLocalBroker?: (log: (line: string) => void) => Promise<string>;
}

/**
 * Start-up order: settings first (a bad one stops here, before any connection), then the
 * pipeline module and the HTTP endpoints (a taken METRICS_PORT stops here, before Kafka), the
 * brokers (one quick check that they answer), the topics and the service. A failure stops
 * start-up with one JSON line on stderr naming the setting to fix (see startup-failure.ts).
 * SIGTERM/SIGINT drain and exit 0; a failure of the service itself exits 1 so an orchestrator
 * restarts it.
 */
async function main(options: ServiceOptions): Promise<void> {
  const config = loadConfig();
  serviceName = config.serviceName;
  const logger = createLogger({ level: config.log.level, serviceName: config.serviceName });
  process.on('uncaughtException', (error) => crash(logger, 'Uncaught exception', error));
  process.on('unhandledRejection', (error) => crash(logger, 'Unhandled rejection', error));
  logger.info('Starting', describeConfig(config));

  // A pipeline module that does not load stops start-up naming PIPELINE, before any connection.
  const pipeline = await loadPipeline(config.pipeline.module || undefined).catch((error: unknown) => {
    throw new StartupError('PIPELINE', errorMessage(error), { cause: error });
  });
  // The service fills the registry and answers /readyz once it exists; until then, not ready.
  const registry = new Registry();
  const started: { service?: { readiness: Readiness } } = {};
  const http = await listen(config.http.port, registry, () => started.service);
  logger.info('Metrics and health endpoints listening', { port: http.port });

  if (config.broker === 'nats') {
    const nats = await startNatsService(config, {
      pipeline,
      logger,
      registry,
      onCreated: (service) => (started.service = service),
    });
    runUntilSignalled({ stop: nats.stop, failed: nats.service.failed }, http, logger);
    return;
  }

  const brokers =
    config.kafka.brokers.length > 0 ? config.kafka.brokers : [await localBroker(options, logger)];
  const dlqBrokers = config.dlq.brokers.length > 0 ? config.dlq.brokers : brokers;
  const sameCluster = dlqBrokers.join(',') === brokers.join(',');
  if (config.kafka.brokers.length > 0) {
    await checkBrokersAnswer(probeClient(config, brokers, logger), brokers, 'KAFKA_BROKERS');
  }
  if (!sameCluster) {
    await checkBrokersAnswer(probeClient(config, dlqBrokers, logger), dlqBrokers, 'DLQ_BROKERS');
  }
  const kafka = kafkaClient(config, brokers, logger);
  const dlqKafka = sameCluster ? kafka : kafkaClient(config, dlqBrokers, logger);

  await prepareTopics(config, kafka, dlqKafka, logger);
  const service = new KafkaEventService({
    kafka,
    writer: writerForConfig(config, dlqBrokers, dlqKafka),
    // The writer's cluster: DLQ_BROKERS when set.
    topicLookup: adminTopicLookup(
      dlqKafka,
      createsTopics(config) ? { numPartitions: config.kafka.topicPartitions } : undefined,
    ),
    pipeline,
    logger,
    registry,
    settings: {
      serviceName: config.serviceName,
      topic: config.kafka.topic,
      groupId: config.kafka.groupId,
      dlqTopic: config.dlq.topic,
      outputTopic: config.output.topic || undefined,
      workerPoolSize: config.pipeline.workerPoolSize,
      queueBufferSize: config.pipeline.queueBufferSize,
      order: config.pipeline.order,
      retry: { ...config.retry, jitter: 0.2 },
      commitIntervalMs: config.commit.intervalMs,
      shutdownTimeoutMs: config.shutdown.timeoutMs,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      consumerRecoveryTimeoutMs: config.kafka.recoveryTimeoutMs,
      stuckMessageMs: config.readiness.stuckMessageMs,
      fetchMaxBytes: config.kafka.fetchMaxBytes,
      fetchMaxPartitionBytes: config.kafka.fetchMaxPartitionBytes,
      schema: config.pipeline.schema as object,
    },
  });
  started.service = service;
  await service.start();
  logger.info('Consuming', { topic: config.kafka.topic, groupId: config.kafka.groupId });

  runUntilSignalled(service, http, logger);
}

/** SIGTERM/SIGINT stop the service and exit 0; a failure of the service exits 1. */
function runUntilSignalled(
  service: { stop(): Promise<void>; failed: Promise<never> },
  http: RunningHttpServer,
  logger: Logger,
): void {
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    logger.info('Signal received, shutting down', { signal });
    service
      .stop()
      .then(() => http.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => crash(logger, 'Shutdown failed', error));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  service.failed.catch((error: unknown) => crash(logger, 'The service failed and must be restarted', error));
}

/** The broker `npm start` runs when KAFKA_BROKERS is unset; the production entry has none. */
async function localBroker({ startLocalBroker }: ServiceOptions, logger: Logger): Promise<string> {
  if (!startLocalBroker) {
    throw new StartupError(
      'KAFKA_BROKERS',
      'KAFKA_BROKERS is not set: name the Kafka brokers (host:port, comma-separated); only `npm start` starts a local broker, for development',
    );
  }
  return startLocalBroker((line) => logger.info(line));
}

/** /metrics, /healthz and /readyz on METRICS_PORT; a port already taken is named. */
async function listen(
  port: number,
  registry: Registry,
  current: () => { readiness: Readiness } | undefined,
): Promise<RunningHttpServer> {
  try {
    return await startHttpServer({
      port,
      registry,
      health: {
        isLive: () => true,
        readiness: () => current()?.readiness.readiness() ?? { ready: false, reasons: ['starting'] },
      },
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
    const reason = code === 'EADDRINUSE' ? 'is already in use' : 'may not be used by this user';
    throw new StartupError(
      'METRICS_PORT',
      `METRICS_PORT=${port}: the port ${reason} (${errorMessage(error)}); choose another port or stop what holds it`,
      { cause: error },
    );
  }
}

/**
 * A client with the security settings (KAFKA_SSL*, KAFKA_SASL*), used for the DLQ_BROKERS
 * client too. Refused credentials fail connect() with one line naming the user and mechanism.
 */
function kafkaClient(
  config: Config,
  brokers: string[],
  logger: Logger,
  overrides: Pick<KafkaConfig, 'retry' | 'logCreator'> = {},
): Kafka {
  const kafka = new Kafka({
    clientId: config.kafka.clientId,
    brokers,
    ...connectionOptions(config.kafka),
    logLevel: kafkaLogLevel(config.log.level),
    logCreator: authenticationLogsAsWarnings(kafkaLogCreator(logger.child({ component: 'kafkajs' }))),
    ...overrides,
  });
  return explainAuthenticationFailures(kafka, config.kafka.sasl);
}

/** A client for the start-up check of the brokers: few retries, its kafkajs lines at debug. */
function probeClient(config: Config, brokers: string[], logger: Logger): Kafka {
  return kafkaClient(config, brokers, logger, {
    retry: BROKER_CHECK_RETRY,
    logCreator: kafkaLogCreatorAtDebug(logger.child({ component: 'kafkajs' })),
  });
}

/** The local broker is ours to shape; a user's cluster only when CREATE_TOPICS says so. */
function createsTopics(config: Config): boolean {
  return config.kafka.brokers.length === 0 || config.kafka.createTopics;
}

async function prepareTopics(config: Config, kafka: Kafka, dlqKafka: Kafka, logger: Logger): Promise<void> {
  const create = createsTopics(config);
  const numPartitions = config.kafka.topicPartitions;
  const sourceTopics: TopicSpec[] = [{ topic: config.kafka.topic, numPartitions, setting: 'KAFKA_TOPIC' }];
  if (config.output.topic)
    sourceTopics.push({ topic: config.output.topic, numPartitions, setting: 'OUTPUT_TOPIC' });
  const dlqTopics: TopicSpec[] = [{ topic: config.dlq.topic, numPartitions, setting: 'DLQ_TOPIC' }];
  const plan: Array<[Kafka, TopicSpec[]]> =
    kafka === dlqKafka
      ? [[kafka, [...sourceTopics, ...dlqTopics]]]
      : [
          [kafka, sourceTopics],
          [dlqKafka, dlqTopics],
        ];
  for (const [client, topics] of plan) {
    const admin = client.admin();
    await admin.connect();
    try {
      const created = await ensureTopics(admin, topics, create);
      if (created.length > 0) logger.info('Created topics', { topics: created });
    } finally {
      await admin.disconnect();
    }
  }
}

function crash(logger: Logger, message: string, error: unknown): void {
  logger.error(message, {
    error: errorMessage(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  // Give the log line a moment to reach stdout before the process goes.
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
}

/** Runs the service until a signal or a failure; a failed start-up says why and exits. */
export function runService(options: ServiceOptions = {}): void {
  main(options).catch((error: unknown) => {
    const failure = startupFailure(error);
    process.stderr.write(startupFailureLine(serviceName, failure));
    process.exit(failure.exitCode);
  });
}

// `node dist/lib/main.js`, as the image runs it; `npm start` runs the service through dev-start.ts.
if (import.meta.main) runService();
