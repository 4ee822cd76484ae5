import { Kafka } from 'kafkajs';
import { startLocalBroker } from './broker/local-broker.js';
import { ConfigError } from './config/config-error.js';
import { describeConfig, loadConfig, type Config } from './config/load-config.js';
import { errorMessage } from './errors.js';
import {
  authenticationLogsAsWarnings,
  explainAuthenticationFailures,
} from './kafka/authentication-failure.js';
import { connectionOptions } from './kafka/connection-options.js';
import { ensureTopics, type TopicSpec } from './kafka/ensure-topics.js';
import { kafkaLogCreator, kafkaLogLevel } from './kafka/kafka-logger.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startHttpServer, type RunningHttpServer } from './observability/http-server.js';
import { loadPipeline } from './pipeline/load-pipeline.js';
import { EventService } from './service/event-service.js';
import { writerForConfig } from './sinks/writer-for-config.js';

/**
 * Start-up order: settings first (a bad one stops here, before any connection), then the
 * broker, the topics, the pipeline module, the service and its HTTP endpoints. SIGTERM/SIGINT
 * drain and exit 0; a failure of the service itself exits 1 so an orchestrator restarts it.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.log.level, serviceName: config.serviceName });
  process.on('uncaughtException', (error) => crash(logger, 'Uncaught exception', error));
  process.on('unhandledRejection', (error) => crash(logger, 'Unhandled rejection', error));
  logger.info('Starting', describeConfig(config));

  // A pipeline module that does not load is a configuration error: report it before connecting.
  const pipeline = await loadPipeline(config.pipeline.module || undefined);
  const brokers =
    config.kafka.brokers.length > 0
      ? config.kafka.brokers
      : [await startLocalBroker((line) => logger.info(line))];
  const dlqBrokers = config.dlq.brokers.length > 0 ? config.dlq.brokers : brokers;
  const kafka = kafkaClient(config, brokers, logger);
  const dlqKafka =
    dlqBrokers.join(',') === brokers.join(',') ? kafka : kafkaClient(config, dlqBrokers, logger);

  await prepareTopics(config, kafka, dlqKafka, logger);
  const service = new EventService({
    kafka,
    writer: writerForConfig(config, dlqBrokers, dlqKafka),
    pipeline,
    logger,
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
  const http: RunningHttpServer = await startHttpServer({
    port: config.http.port,
    registry: service.registry,
    health: { isLive: () => true, readiness: () => service.readiness.readiness() },
  });
  logger.info('Metrics and health endpoints listening', { port: http.port });
  await service.start();
  logger.info('Consuming', { topic: config.kafka.topic, groupId: config.kafka.groupId });

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

/**
 * A client with the security settings (KAFKA_SSL*, KAFKA_SASL*), used for the DLQ_BROKERS
 * client too. Refused credentials fail connect() with one line naming the user and mechanism.
 */
function kafkaClient(config: Config, brokers: string[], logger: Logger): Kafka {
  const kafka = new Kafka({
    clientId: config.kafka.clientId,
    brokers,
    ...connectionOptions(config.kafka),
    logLevel: kafkaLogLevel(config.log.level),
    logCreator: authenticationLogsAsWarnings(kafkaLogCreator(logger.child({ component: 'kafkajs' }))),
  });
  return explainAuthenticationFailures(kafka, config.kafka.sasl);
}

async function prepareTopics(config: Config, kafka: Kafka, dlqKafka: Kafka, logger: Logger): Promise<void> {
  // The local broker is ours to shape; a user's cluster only when CREATE_TOPICS says so.
  const create = config.kafka.brokers.length === 0 || config.kafka.createTopics;
  const numPartitions = config.kafka.topicPartitions;
  const sourceTopics: TopicSpec[] = [{ topic: config.kafka.topic, numPartitions }];
  if (config.output.topic) sourceTopics.push({ topic: config.output.topic, numPartitions });
  const dlqTopics: TopicSpec[] = [{ topic: config.dlq.topic, numPartitions }];
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

main().catch((error: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'error', message: 'Start-up failed', error: errorMessage(error) })}\n`,
  );
  process.exit(1);
});
