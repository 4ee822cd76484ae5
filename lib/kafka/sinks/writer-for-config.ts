import type { Kafka } from 'kafkajs';
import type { Config } from '../../config/load-config.js';
import { platformaticConnectionOptions } from '../platformatic-connection-options.js';
import { kafkajsWriter } from './kafkajs-writer.js';
import { platformaticWriter } from './platformatic-writer.js';
import type { RecordWriter } from '../../sinks/record-writer.js';

/**
 * The producer of output and dead-letter writes, on KAFKA_PRODUCER_CLIENT's library: a kafkajs
 * producer of `dlqKafka`, or an @platformatic/kafka producer of `dlqBrokers` with the same
 * client id and security settings. Both connect to DLQ_BROKERS (KAFKA_BROKERS when unset).
 */
export function writerForConfig(
  config: Config,
  dlqBrokers: string[],
  dlqKafka: Kafka,
  make = { kafkajsWriter, platformaticWriter },
): RecordWriter {
  if (config.kafka.producerClient === 'kafkajs') return make.kafkajsWriter(dlqKafka);
  return make.platformaticWriter({
    clientId: config.kafka.clientId,
    brokers: dlqBrokers,
    connection: platformaticConnectionOptions(config.kafka, dlqBrokers),
  });
}
