import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { RawConfig } from '../config/schema.js';
import { tlsOptions } from '../config/tls-files.js';

/** The security settings: KAFKA_SSL* and KAFKA_SASL*. */
export type KafkaSecurity = Pick<RawConfig['kafka'], 'ssl' | 'sasl'>;

/** What goes into `new Kafka({...})` besides the brokers: only the keys that are set. */
export type KafkaConnectionOptions = Pick<KafkaConfig, 'ssl' | 'sasl'>;

/**
 * The kafkajs `ssl` and `sasl` options of the security settings, the same for every client of
 * the service (source, output, admin, and the DLQ_BROKERS client). The PEM files are read and
 * checked by tlsOptions (a bad one throws a ConfigError naming the variable and the path).
 */
export function connectionOptions(security: KafkaSecurity): KafkaConnectionOptions {
  const { ssl, sasl } = security;
  const options: KafkaConnectionOptions = {};
  if (ssl.enabled) options.ssl = tlsOptions(ssl);
  if (sasl.mechanism !== '') {
    const credentials: SASLOptions = {
      mechanism: sasl.mechanism,
      username: sasl.username,
      password: sasl.password,
    };
    options.sasl = credentials;
  }
  return options;
}
