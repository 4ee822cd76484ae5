import { errorMessage, StageError, type ErrorCode, type Stage } from '../core/errors.js';
import type { Delivery } from '../core/delivery.js';
import type { MessageHeaders } from '../core/headers.js';
import type { OutgoingMessage } from './batching-producer.js';

export interface DeadLetterContext {
  consumerGroup: string;
  maxRetries: number;
  now?: () => Date;
}

/** Stage and code of any failure; errors that are not StageErrors count as process failures. */
export function classify(error: unknown): { stage: Stage; code: ErrorCode; attempts: number } {
  if (error instanceof StageError) return { stage: error.stage, code: error.code, attempts: error.attempts };
  return { stage: 'process', code: 'PROCESS_FAILED', attempts: 1 };
}

/**
 * The dead letter for a failed message: the original key and value bytes untouched, the
 * original headers kept, and the failure described in headers. The Go original's header names
 * are kept so existing tooling works; the rest are additions.
 */
export function deadLetter(delivery: Delivery, error: unknown, context: DeadLetterContext): OutgoingMessage {
  const { stage, code, attempts } = classify(error);
  const now = context.now ?? (() => new Date());
  const headers: MessageHeaders = {
    ...delivery.headers,
    original_topic: delivery.topic,
    original_partition: String(delivery.partition),
    original_offset: delivery.offset,
    retry_attempts: String(Math.max(0, attempts - 1)),
    max_retries: String(context.maxRetries),
    error_message: errorMessage(error),
    timestamp: now().toISOString(),
    error_stage: stage,
    error_code: code,
    original_timestamp: delivery.timestamp,
    consumer_group: context.consumerGroup,
  };
  if (error instanceof StageError && error.violations)
    headers.schema_errors = JSON.stringify(error.violations);
  return { key: delivery.key, value: delivery.value, headers };
}
