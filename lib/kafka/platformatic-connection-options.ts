import { isIP } from 'node:net';
import type { ConnectionOptions, SASLMechanismValue } from '@platformatic/kafka';
import type { SaslMechanism } from '../config/schema.js';
import { connectionOptions, type KafkaSecurity } from './connection-options.js';

/** What goes into an @platformatic/kafka client's options for the security settings. */
export type PlatformaticConnectionOptions = Pick<ConnectionOptions, 'tls' | 'tlsServerName' | 'sasl'>;

const MECHANISMS: Record<SaslMechanism, SASLMechanismValue> = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
};

/**
 * The security settings (KAFKA_SSL*, KAFKA_SASL*) as @platformatic/kafka options, equal to
 * what the kafkajs clients get from connectionOptions: the same TLS options (read and checked
 * there), the same SASL mechanism and credentials.
 */
export function platformaticConnectionOptions(
  security: KafkaSecurity,
  brokers: readonly string[],
): PlatformaticConnectionOptions {
  const { ssl } = connectionOptions(security);
  const options: PlatformaticConnectionOptions = {};
  if (ssl) {
    options.tls = ssl === true ? {} : ssl;
    // kafkajs names the broker's host in the TLS handshake (SNI), which brokers behind a
    // proxy that routes by name need; it leaves it out for an IP address, which SNI does not
    // allow (Node warns). This client names every host or none.
    if (brokers.some((broker) => isIP(hostOf(broker)) === 0)) options.tlsServerName = true;
  }
  const { mechanism, username, password } = security.sasl;
  if (mechanism !== '') options.sasl = { mechanism: MECHANISMS[mechanism], username, password };
  return options;
}

function hostOf(broker: string): string {
  return broker.slice(0, broker.lastIndexOf(':'));
}
