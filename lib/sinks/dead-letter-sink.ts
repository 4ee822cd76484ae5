import { defer, EMPTY, type Observable, retry, takeUntil, tap, timer } from 'rxjs';
import { backoffDelay, type BackoffPolicy } from '../core/backoff.js';
import { abortOf } from '../core/abort-callbacks.js';
import type { Delivery } from '../core/delivery.js';
import type { BatchingProducer } from './batching-producer.js';
import { deadLetter, type DeadLetterContext } from './dead-letter.js';

export interface DeadLetterSinkOptions extends DeadLetterContext {
  topic: string;
  producer: Pick<BatchingProducer, 'send'>;
  backoff: BackoffPolicy;
  onWriteFailed(error: unknown, attempt: number, delivery: Delivery): void;
  onWritten(delivery: Delivery): void;
}

/**
 * Writes dead letters. A failed write is retried with capped backoff for as long as it takes:
 * the message stays unsettled (so its offset is never committed and its credit never returns,
 * which stops intake once the credits run out) until the broker acknowledges the dead letter.
 * Only an abort of the delivery (revoked partition, shutdown giving up) ends the attempts,
 * without a value: the message then stays uncommitted and is delivered again later.
 */
export function deadLetterSink(
  options: DeadLetterSinkOptions,
): (delivery: Delivery, error: unknown) => Observable<void> {
  const { topic, producer, backoff, onWriteFailed, onWritten } = options;
  return (delivery, error) => {
    if (delivery.signal.aborted) return EMPTY;
    const letter = deadLetter(delivery, error, options);
    return defer(() => producer.send(topic, letter)).pipe(
      retry({
        delay: (writeError: unknown, attempt: number) => {
          onWriteFailed(writeError, attempt, delivery);
          return timer(backoffDelay(attempt, backoff));
        },
      }),
      takeUntil(abortOf(delivery.signal)),
      tap(() => onWritten(delivery)),
    );
  };
}
