import type { Logger } from 'winston';
import type { DeliveryHooks } from '../core/delivery.js';
import { errorMessage } from '../core/errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Readiness, ServiceCondition } from '../observability/readiness.js';
import type { DeadLetterSinkOptions } from '../sinks/dead-letter-sink.js';
import { where } from './where.js';

/** Retries and exhausted retries, counted in the metrics. */
export function retryMetrics(metrics: Metrics): DeliveryHooks {
  return {
    onRetry: () => metrics.retryAttempts.inc(),
    onRetryExhausted: () => metrics.retryExhausted.inc(),
  };
}

/**
 * How a service reports its dead-letter writes: a failed write is counted, logged and makes
 * /readyz say the DLQ cannot be written; the next write that succeeds makes it ready again.
 */
export function deadLetterReports(
  metrics: Metrics,
  readiness: Readiness<ServiceCondition>,
  logger: Logger,
): Pick<DeadLetterSinkOptions, 'onWriteFailed' | 'onWritten'> {
  return {
    onWriteFailed: (error, attempt, delivery) => {
      metrics.dlqWriteFailures.inc();
      readiness.set('dlq', false, `dead-letter writes failing: ${errorMessage(error)}`);
      logger.warn('Dead-letter write failed, retrying', {
        ...where(delivery),
        attempt,
        error: errorMessage(error),
      });
    },
    onWritten: () => readiness.set('dlq', true),
  };
}
