import type { Kafka, RetryOptions } from 'kafkajs';
import { errorMessage } from '../core/errors.js';
import { StartupError } from '../startup-error.js';
import { KafkaAuthenticationError } from './authentication-failure.js';

/**
 * Three tries, about a second apart at most: a wrong or unreachable address is reported in a
 * second or a few (a connection timeout each), rather than after kafkajs's default retries
 * (12 s and a dozen error lines).
 */
export const BROKER_CHECK_RETRY: RetryOptions = { retries: 2, initialRetryTime: 250, maxRetryTime: 1000 };

/**
 * Connects to the brokers once before anything else does, with a client made for it (retries
 * BROKER_CHECK_RETRY, kafkajs's lines at debug), so an address that does not answer as Kafka
 * stops start-up with one line naming the setting and the address. A refused login passes
 * through as the KafkaAuthenticationError it is.
 */
export async function checkBrokersAnswer(probe: Kafka, brokers: string[], setting: string): Promise<void> {
  const admin = probe.admin();
  try {
    await admin.connect();
  } catch (error) {
    if (error instanceof KafkaAuthenticationError) throw error;
    throw new StartupError(
      setting,
      `No Kafka broker answered at ${setting}=${brokers.join(',')} (${rootCause(error)}); ` +
        `check ${setting}, and that the brokers run and are reachable from here`,
      { cause: error },
    );
  }
  await admin.disconnect();
}

/** kafkajs wraps the socket's error (ECONNREFUSED, ENOTFOUND...) in its own; say the socket's. */
function rootCause(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 10; depth += 1) {
    const wrapped = (current as { cause?: unknown; originalError?: unknown } | undefined)?.originalError;
    if (!(wrapped instanceof Error)) break;
    current = wrapped;
  }
  return errorMessage(current).replace(/\s*[\r\n]+\s*/g, ' ');
}
