import type { Config } from '../config/load-config.js';
import { ConfigError } from '../config/config-error.js';
import { isNatsSubject, splitNatsServers } from '../config/schema.js';
import { subjectMatches } from './subjects.js';

/** What the NATS source and sinks need of the configuration (BROKER=nats). */
export interface NatsSettings {
  servers: string[];
  stream: string;
  /** The consumer's filter; empty: every subject of the stream. */
  subject: string;
  durable: string;
  ackWaitMs: number;
  /** OUTPUT_TOPIC as a subject; undefined writes none. */
  outputSubject: string | undefined;
  /** DLQ_TOPIC as a subject. */
  dlqSubject: string;
  /** CREATE_TOPICS: create the streams that are missing. */
  createStreams: boolean;
}

/**
 * The NATS settings of a validated configuration. OUTPUT_TOPIC and DLQ_TOPIC are subjects
 * here, and Kafka topic names that are not subjects ("a..b", ".a") are refused, as is a
 * subject the consumer would read back: a dead letter consumed again would loop forever.
 */
export function natsSettings(config: Config): NatsSettings {
  const { nats } = config;
  const settings: NatsSettings = {
    servers: splitNatsServers(nats.url) ?? [],
    stream: nats.stream,
    subject: nats.subject,
    durable: nats.durable,
    ackWaitMs: nats.ackWaitMs,
    outputSubject: config.output.topic || undefined,
    dlqSubject: config.dlq.topic,
    createStreams: config.kafka.createTopics,
  };
  const written: Array<[string, string | undefined]> = [
    ['OUTPUT_TOPIC', settings.outputSubject],
    ['DLQ_TOPIC', settings.dlqSubject],
  ];
  for (const [env, subject] of written) {
    if (subject === undefined) continue;
    if (!isNatsSubject(subject))
      throw new ConfigError(
        `${env} must be a NATS subject with BROKER=nats (tokens separated by single dots) (got ${JSON.stringify(subject)})`,
      );
    if (settings.subject !== '' && subjectMatches(settings.subject, subject))
      throw new ConfigError(
        `${env} must not match NATS_SUBJECT=${settings.subject}: the service would consume its own writes (got ${JSON.stringify(subject)})`,
      );
  }
  return settings;
}
