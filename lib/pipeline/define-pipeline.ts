import type { OperatorFunction } from 'rxjs';
import type { Logger } from 'winston';
import type { BackoffPolicy } from '../core/backoff.js';
import type { OutgoingMessage } from '../sinks/batching-producer.js';
import type { Delivery } from '../core/delivery.js';

/** What a pipeline may use: its configuration and the service's producer. */
export interface PipelineContext {
  /** The JSON Schema of EVENT_SCHEMA (or the bundled default). */
  schema: object;
  /** OUTPUT_TOPIC, when set. */
  outputTopic: string | undefined;
  /** RETRY_* settings and PROCESS_TIMEOUT_MS, ready for `process(fn, { retry })`. */
  retry: Partial<BackoffPolicy> & { maxAttempts: number; attemptTimeoutMs?: number };
  /** Writes a message; resolves once the broker acknowledged it (acks from all replicas). */
  produce(topic: string, message: OutgoingMessage): Promise<void>;
  logger: Logger;
}

/** The per-message operator chain. What it emits is ignored; completing settles the message. */
export type PipelineChain = OperatorFunction<Delivery, unknown>;

export interface Pipeline {
  readonly kind: 'myeventstream.pipeline';
  build(context: PipelineContext): PipelineChain;
}

/**
 * Declares a pipeline: a function from the context to an operator chain, e.g.
 * `definePipeline((ctx) => pipe(decodeJson(), validate(ctx.schema), process(handle, { retry: ctx.retry })))`.
 */
export function definePipeline(build: (context: PipelineContext) => PipelineChain): Pipeline {
  if (typeof build !== 'function')
    throw new TypeError('definePipeline expects a function (context) => operator chain');
  return { kind: 'myeventstream.pipeline', build };
}

export function isPipeline(value: unknown): value is Pipeline {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Pipeline).kind === 'myeventstream.pipeline' &&
    typeof (value as Pipeline).build === 'function'
  );
}
