import { BrokerUnavailableError } from './kafka/broker-unavailable-error.js';
import { ConfigError } from './config/config-error.js';
import { errorMessage } from './core/errors.js';
import { KafkaAuthenticationError } from './kafka/authentication-failure.js';
import { formatLogLine } from './observability/logger.js';
import { StartupError } from './startup-error.js';

/** A wrong value, refused before anything connects. */
export const EXIT_BAD_SETTING = 2;
/** Anything else that stops start-up; the same code as a failure of the running service. */
export const EXIT_START_UP_FAILED = 1;

export interface StartupFailure {
  exitCode: number;
  /** `Invalid configuration` (a wrong value) or `Start-up failed` (the environment, or a bug). */
  message: string;
  /** The environment variable(s) to fix, when one is known. */
  setting?: string;
  /** What is wrong, naming the setting and the value, address or file. */
  error: string;
}

/** What start-up says, and the exit code, for an error that stopped it. */
export function startupFailure(error: unknown): StartupFailure {
  const failure = (exitCode: number, message: string, setting: string | undefined): StartupFailure => ({
    exitCode,
    message,
    ...(setting === undefined ? {} : { setting }),
    error: errorMessage(error),
  });
  if (error instanceof ConfigError) return failure(EXIT_BAD_SETTING, 'Invalid configuration', error.setting);
  if (error instanceof StartupError) return failure(EXIT_START_UP_FAILED, 'Start-up failed', error.setting);
  if (error instanceof KafkaAuthenticationError) {
    const settings = 'KAFKA_SASL_USERNAME,KAFKA_SASL_PASSWORD,KAFKA_SASL_MECHANISM';
    return failure(EXIT_START_UP_FAILED, 'Start-up failed', settings);
  }
  // Neither KAFKA_BROKERS nor a local broker: the message says what to install or set.
  if (error instanceof BrokerUnavailableError)
    return failure(EXIT_START_UP_FAILED, 'Start-up failed', 'KAFKA_BROKERS');
  return failure(EXIT_START_UP_FAILED, 'Start-up failed', undefined);
}

/**
 * The one line a failed start-up writes to stderr: the service's JSON log line at level error
 * (timestamp, level, message, service, then `setting` and `error`), whatever stopped it.
 */
export function startupFailureLine(serviceName: string, failure: StartupFailure): string {
  const { exitCode: _exitCode, message, ...fields } = failure;
  return formatLogLine(serviceName, 'error', message, fields);
}
