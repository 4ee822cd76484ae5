import { Writable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { createLogger } from '../../../lib/observability/logger.js';
import type { Pipeline } from '../../../lib/pipeline/define-pipeline.js';
import { KafkaEventService, type KafkaEventServiceSettings } from '../../../lib/kafka/kafka-service.js';
import { kafkajsWriter } from '../../../lib/kafka/sinks/kafkajs-writer.js';
import type { TopicLookup } from '../../../lib/kafka/sinks/output-topics.js';
import type { RecordWriter } from '../../../lib/sinks/record-writer.js';

/**
 * The service inside the spec's process, for specs that watch its internals while it runs.
 * Its logs are dropped, unless `logStream` is given: then it receives the info-level JSON lines.
 * It writes through a kafkajs producer of `kafka` unless `writer` is given, and checks the topics
 * its pipeline writes to when `topicLookup` is given.
 */
export function inProcessService(
  kafka: Kafka,
  pipeline: Pipeline,
  settings: Partial<KafkaEventServiceSettings> & { topic: string; groupId: string; dlqTopic: string },
  logStream?: Writable,
  writer: RecordWriter = kafkajsWriter(kafka),
  topicLookup?: TopicLookup,
): KafkaEventService {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  return new KafkaEventService({
    kafka,
    writer,
    pipeline,
    topicLookup,
    logger: createLogger({
      level: logStream ? 'info' : 'warn',
      serviceName: 'spec',
      stream: logStream ?? quiet,
    }),
    settings: {
      serviceName: 'spec',
      outputTopic: undefined,
      workerPoolSize: 10,
      queueBufferSize: 1000,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, multiplier: 2, jitter: 0.2 },
      commitIntervalMs: 100,
      shutdownTimeoutMs: 10_000,
      sessionTimeoutMs: 10_000,
      schema: { type: 'object' },
      ...settings,
    },
  });
}

/** Reads a counter or gauge of the service's registry (summing its series). */
export async function metricValue(service: KafkaEventService, name: string): Promise<number> {
  const metric = service.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}
