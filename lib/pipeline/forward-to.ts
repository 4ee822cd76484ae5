import type { OperatorFunction } from 'rxjs';
import { StageError } from '../errors.js';
import { process } from '../operators/process.js';
import type { Delivery } from './delivery.js';
import type { PipelineContext } from './define-pipeline.js';

/**
 * Writes each message, key and value untouched, to `topic` with headers naming where it came
 * from; the message passes on once the write is acknowledged. Failed writes are retried like
 * any process step and end in the DLQ when the retries run out.
 */
export function forwardTo<E>(
  topic: string,
  context: PipelineContext,
): OperatorFunction<Delivery<E>, Delivery<E>> {
  return process<E, undefined>(
    async (_event, delivery) => {
      try {
        await context.produce(topic, {
          key: delivery.key,
          value: delivery.value,
          headers: {
            ...delivery.headers,
            source_topic: delivery.topic,
            source_partition: String(delivery.partition),
            source_offset: delivery.offset,
          },
        });
      } catch (error) {
        throw new StageError(`writing to ${topic} failed: ${String(error)}`, {
          stage: 'process',
          code: 'OUTPUT_WRITE_FAILED',
          retriable: true,
          cause: error,
        });
      }
      return undefined;
    },
    { retry: context.retry },
  );
}
