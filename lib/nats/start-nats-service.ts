import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import type { Pipeline } from '../pipeline/define-pipeline.js';
import { connectNats } from './connection.js';
import { NatsEventService } from './nats-service.js';
import { natsSettings } from './nats-settings.js';
import { ensureDurable, prepareStreams } from './streams.js';

export interface StartedNatsService {
  service: NatsEventService;
  /** Stops the service (drain, acks) and closes the connection. */
  stop(): Promise<void>;
}

/**
 * BROKER=nats: connect to NATS_URL, make sure the streams and the durable consumer are there
 * (see prepareStreams, ensureDurable), and start the service. `onCreated` gets the service
 * before it starts, so /readyz and /metrics answer for it from then on.
 */
export async function startNatsService(
  config: Config,
  deps: {
    pipeline: Pipeline;
    logger: Logger;
    registry: Registry;
    onCreated(service: NatsEventService): void;
  },
): Promise<StartedNatsService> {
  const settings = natsSettings(config);
  const { logger } = deps;
  const connection: NatsConnection = await connectNats(settings.servers, config.serviceName);
  const jsm = await jetstreamManager(connection);
  const created = await prepareStreams(jsm, settings);
  if (created.length > 0) logger.info('Created streams', { streams: created });
  const credits = config.pipeline.queueBufferSize + config.pipeline.workerPoolSize;
  await ensureDurable(jsm, {
    stream: settings.stream,
    durable: settings.durable,
    subject: settings.subject,
    ackWaitMs: settings.ackWaitMs,
    maxAckPending: credits,
  });
  const service = new NatsEventService({
    connection,
    pipeline: deps.pipeline,
    logger,
    registry: deps.registry,
    settings: {
      serviceName: config.serviceName,
      stream: settings.stream,
      durable: settings.durable,
      ackWaitMs: settings.ackWaitMs,
      dlqSubject: settings.dlqSubject,
      outputSubject: settings.outputSubject,
      workerPoolSize: config.pipeline.workerPoolSize,
      queueBufferSize: config.pipeline.queueBufferSize,
      order: config.pipeline.order,
      retry: { ...config.retry, jitter: 0.2 },
      shutdownTimeoutMs: config.shutdown.timeoutMs,
      stuckMessageMs: config.readiness.stuckMessageMs,
      recoveryTimeoutMs: config.kafka.recoveryTimeoutMs,
      schema: config.pipeline.schema as object,
    },
  });
  deps.onCreated(service);
  await service.start();
  logger.info('Consuming', {
    stream: settings.stream,
    durable: settings.durable,
    subject: settings.subject || '(all)',
  });
  return {
    service,
    stop: async () => {
      await service.stop();
      await connection.drain();
    },
  };
}
