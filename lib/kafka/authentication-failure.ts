import { logLevel, type Kafka, type logCreator, type LogEntry } from 'kafkajs';
import { errorMessage } from '../core/errors.js';
import type { KafkaSecurity } from './connection-options.js';

type Sasl = KafkaSecurity['sasl'];

/** The brokers refused the SASL credentials (or the mechanism): retrying cannot help. */
export class KafkaAuthenticationError extends Error {
  override readonly name: string = 'KafkaAuthenticationError';
}

// Broker error codes of a refused handshake or authentication, as kafkajs names them.
const REFUSALS = ['UNSUPPORTED_SASL_MECHANISM', 'SASL_AUTHENTICATION_FAILED'];

/**
 * Whether kafkajs gave up because SASL authentication failed (wrong credentials, unknown user,
 * a mechanism the listener does not enable), however deep it wrapped that.
 */
export function isAuthenticationFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth += 1) {
    if (current.name === 'KafkaJSSASLAuthenticationError') return true;
    const wrapper = current as { cause?: unknown; originalError?: unknown; type?: unknown };
    if (current.name === 'KafkaJSProtocolError' && REFUSALS.includes(String(wrapper.type))) return true;
    current = wrapper.cause ?? wrapper.originalError;
  }
  return false;
}

/**
 * One line saying what failed and what to check: the user and the mechanism, never the
 * password (scrubbed from the broker's reason too, should a broker ever echo it).
 */
export function authenticationFailure(error: unknown, sasl: Sasl): KafkaAuthenticationError {
  let reason = errorMessage(error).replace(/\s*[\r\n]+\s*/g, ' ');
  if (sasl.password !== '') reason = reason.split(sasl.password).join('[redacted]');
  return new KafkaAuthenticationError(
    `Authentication to the Kafka brokers failed for user "${sasl.username}" with mechanism ` +
      `${sasl.mechanism} (${reason}); check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`,
    { cause: error },
  );
}

/**
 * Makes `connect()` of every admin, producer and consumer of this client reject with a
 * KafkaAuthenticationError when the brokers refuse the credentials, instead of kafkajs's
 * "SASL SCRAM SHA256 authentication failed: ..." that names neither the user nor the setting.
 * Other errors pass through untouched. Returns the same client.
 */
export function explainAuthenticationFailures(kafka: Kafka, sasl: Sasl): Kafka {
  if (sasl.mechanism === '') return kafka;
  const explain = (error: unknown): never => {
    throw isAuthenticationFailure(error) ? authenticationFailure(error, sasl) : error;
  };
  const wrap = <T extends { connect(): Promise<void> }>(client: T): T => {
    const connect = client.connect.bind(client);
    client.connect = () => connect().catch(explain);
    return client;
  };
  const { admin, producer, consumer } = kafka;
  kafka.admin = (config) => wrap(admin.call(kafka, config));
  kafka.producer = (config) => wrap(producer.call(kafka, config));
  kafka.consumer = (config) => wrap(consumer.call(kafka, config));
  return kafka;
}

/**
 * kafkajs logs a refused authentication as up to three errors of its own (the response, the
 * authenticator, the broker pool) before the connect fails. The service reports that failure
 * itself, with the user and the mechanism; these become warnings, so the one error line is ours.
 */
export function authenticationLogsAsWarnings(creator: logCreator): logCreator {
  return (level) => {
    const log = creator(level);
    return (entry: LogEntry) =>
      log(isAuthenticationLog(entry) ? { ...entry, level: logLevel.WARN, label: 'WARN' } : entry);
  };
}

function isAuthenticationLog({ level, log }: LogEntry): boolean {
  if (level !== logLevel.ERROR) return false;
  // "SASL SCRAM SHA256 authentication failed: ...", "Response SaslAuthenticate(...)", "The broker
  // does not support the requested SASL mechanism": every kafkajs error naming SASL is one.
  return /\bSASL\b|^Response Sasl/i.test(String(log.message));
}
