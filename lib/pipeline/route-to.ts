import { concatMap, map, of, type OperatorFunction } from 'rxjs';
import { StageError } from '../core/errors.js';
import { processOne, type ProcessOptions } from '../operators/process.js';
import type { Delivery } from '../core/delivery.js';
import type { PipelineContext } from './define-pipeline.js';
import type { OutgoingMessage } from '../sinks/batching-producer.js';

/** Where an event goes: one topic, or several (each gets the same message). */
export type TopicChoice<E> = (event: E, delivery: Delivery<E>) => string | readonly string[];

/**
 * What routeTo writes as the value: `'original'` (the default) the bytes the message came
 * with, untouched; `'event'` the event as the chain left it (after `mapEvents`, `enrich`…),
 * JSON-encoded. Key and headers are the original ones either way.
 */
export type RouteValue = 'original' | 'event';

export interface RouteOptions extends ProcessOptions {
  write?: RouteValue;
}

/**
 * Writes each message, key and value untouched, to the topic(s) chosen for its event, with
 * headers naming where it came from; with `options.write: 'event'` the value is the event as
 * the chain left it, JSON-encoded (see RouteValue). The writes are handed over (`delivery.settleAfter`): the
 * message passes on at once and settles only when every write is acknowledged, so a worker
 * never waits for the broker and writes of many messages share a request. (A delivery without
 * `settleAfter`, built by hand, passes on once its writes are acknowledged.)
 * A failed write is retried like any process step (the context's retry settings unless
 * `options.retry` says otherwise) and sends the message to the DLQ with OUTPUT_WRITE_FAILED
 * when the retries run out; a retry writes again only to the topics that failed.
 */
export function routeTo<E>(
  choose: TopicChoice<E>,
  context: PipelineContext,
  options: RouteOptions = {},
): OperatorFunction<Delivery<E>, Delivery<E>> {
  const { write: value = 'original', ...given } = options;
  // Without PROCESS_TIMEOUT_MS: kafkajs ends a write by its own request timeout and retries,
  // and a write given up on here would still go out, then be written again.
  const processOptions: ProcessOptions =
    Object.keys(given).length > 0 ? given : { retry: { ...context.retry, attemptTimeoutMs: 0 } };
  // Made once: the service applies the chain to every message on its own, and per message
  // this would build a retry operator and a map each time.
  const written = new WeakMap<Delivery<E>, Set<string>>();
  // Not an async function: the common single-topic write returns the producer's promise with
  // one `then`, where an async function and its await made three more promises per message.
  const write = processOne<E, undefined>((event, delivery) => {
    const chosen = choose(event, delivery);
    const topics = typeof chosen === 'string' ? [chosen] : chosen;
    const message = {
      key: delivery.key,
      value: value === 'event' ? JSON.stringify(event) : delivery.value,
      headers: {
        ...delivery.headers,
        source_topic: delivery.topic,
        source_partition: String(delivery.partition),
        source_offset: delivery.offset,
      },
    };
    // Topics an earlier attempt already wrote: known only once an attempt failed.
    const done = written.get(delivery);
    const pending = done ? topics.filter((topic) => !done.has(topic)) : topics;
    if (pending.length === 1) {
      // The common case, without the bookkeeping below.
      return context.produce(pending[0]!, message).then(noResult, (reason: unknown) => {
        throw writeFailed(pending, reason);
      });
    }
    return writeEach(pending, message, delivery, done);
  }, processOptions);
  /** Writes to several topics; on a failure, remembers the ones written for the next attempt. */
  const writeEach = async (
    pending: readonly string[],
    message: OutgoingMessage,
    delivery: Delivery<E>,
    done: Set<string> | undefined,
  ): Promise<undefined> => {
    const results = await Promise.allSettled(pending.map((topic) => context.produce(topic, message)));
    const succeeded = done ?? new Set<string>();
    const failed: string[] = [];
    results.forEach((result, i) =>
      result.status === 'fulfilled' ? succeeded.add(pending[i]!) : failed.push(pending[i]!),
    );
    if (failed.length > 0) {
      written.set(delivery, succeeded);
      const reason = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
      throw writeFailed(failed, reason);
    }
    return undefined;
  };
  return concatMap((delivery) => {
    if (!delivery.settleAfter) return write(delivery).pipe(map(() => delivery));
    // A handed-over write runs outside the worker pool, as the acknowledgement it waits for
    // does: its retries have no worker slot to give back or take again.
    delivery.settleAfter(write({ ...delivery, worker: undefined }));
    return of(delivery);
  });
}

/** Writes each message to `topic` (see routeTo): the default pipeline's OUTPUT_TOPIC step. */
export function forwardTo<E>(
  topic: string,
  context: PipelineContext,
  options: RouteOptions = {},
): OperatorFunction<Delivery<E>, Delivery<E>> {
  return routeTo<E>(() => topic, context, options);
}

function noResult(): undefined {
  return undefined;
}

function writeFailed(topics: readonly string[], reason: unknown): StageError {
  return new StageError(`writing to ${topics.join(', ')} failed: ${String(reason)}`, {
    stage: 'process',
    code: 'OUTPUT_WRITE_FAILED',
    retriable: true,
    cause: reason,
  });
}
