import {
  catchError,
  connectable,
  EMPTY,
  type MonoTypeOperatorFunction,
  type Observable,
  type OperatorFunction,
  Subject,
  Subscription,
} from 'rxjs';
import type { ProcessingOrder } from '../config/schema.js';
import type { Delivery } from '../core/delivery.js';
import { handleMessage, type MessageHandler, type Settlement } from '../core/handle-message.js';
import type { Pipeline, PipelineContext } from '../pipeline/define-pipeline.js';
import { deadLetterSink, type DeadLetterSinkOptions } from '../sinks/dead-letter-sink.js';
import { runPipeline, type RunnerCounts } from './pipeline-runner.js';

export interface MessageFlowOptions {
  /** The messages as the source hands them off, each holding one of its credits. */
  deliveries: Observable<Delivery>;
  /**
   * The buffer between the source and the workers (the services' nextTurn()); none in the
   * test driver, whose virtual time has no event-loop turns.
   */
  buffer?: MonoTypeOperatorFunction<Delivery>;
  /** The pipeline, built here with `context`. */
  pipeline: Pipeline;
  context: PipelineContext;
  /** Where a message that failed goes: the dead-letter sink's topic, producer and backoff. */
  deadLetters: DeadLetterSinkOptions;
  /** WORKER_POOL_SIZE: messages worked on at once. */
  workerPoolSize: number;
  /** PROCESSING_ORDER; unordered by default. */
  order?: ProcessingOrder;
  /**
   * Wraps the per-message handler, to decide as a worker takes a message whether it runs at
   * all (the service turns messages away once shutdown began). Without it, every message runs.
   */
  guard?: (handle: MessageHandler) => MessageHandler;
  /** Each message as it settles (processed, dead-lettered or abandoned), in settle order. */
  onSettled: (settlement: Settlement) => void;
  /** A failure outside any one message's handling (the source failed): the flow has ended. */
  onFailed: (error: unknown) => void;
  /**
   * The commit subscriber's operators (e.g. commitAfterSettles): subscribed to the settlements
   * after `onSettled`, so each settlement reaches them once its offset is marked. None where
   * settling itself acknowledges the message (NATS acks each one).
   */
  commits?: OperatorFunction<Settlement, unknown>;
}

export interface RunningFlow {
  /** Where messages are between hand-off and settle: waiting, in flight, in backoff. */
  readonly counts: RunnerCounts;
  /** Unsubscribing stops the flow: nothing more is taken, nothing more settles. */
  readonly subscription: Subscription;
  /** The commit subscriber: unsubscribing it stops the commits settles ask for (shutdown). */
  readonly commits: Subscription;
}

/**
 * The message flow, written once for every source of messages (the Kafka and NATS services,
 * the test driver). As RxJS, the shape it was specified with:
 *
 *   deliveries.pipe(buffer, mergeMap(handle, WORKER_POOL_SIZE))   runPipeline
 *     handle = the pipeline's chain (decode → validate → process, which retries with
 *              retry({ count, delay })) + catchError → the dead-letter sink   handleMessage
 *   settlements → onSettled (credits, metrics, offsets marked)
 *   settlements.pipe(commits).subscribe()   the dedicated commit subscriber
 *
 * What is broker-specific stays with the caller: what `deliveries` come from, what the
 * producers of `context` and `deadLetters` write to, and what a settle commits.
 */
export function startMessageFlow(options: MessageFlowOptions): RunningFlow {
  const { pipeline, context, deadLetters, guard, onSettled, onFailed } = options;
  const chain = pipeline.build(context);
  const handle = handleMessage(chain, deadLetterSink(deadLetters));
  const { settlements, counts } = runPipeline(
    options.deliveries,
    guard ? guard(handle) : handle,
    options.workerPoolSize,
    { order: options.order, buffer: options.buffer },
  );
  // One run of the flow for two subscribers, both in place before it starts.
  const shared = connectable(settlements, {
    connector: () => new Subject<Settlement>(),
    resetOnDisconnect: false,
  });
  const subscription = shared.subscribe({ next: onSettled, error: onFailed });
  // The dedicated commit subscriber. A failure of the flow is onFailed's, above.
  const commits = options.commits
    ? shared
        .pipe(
          catchError(() => EMPTY),
          options.commits,
        )
        .subscribe({ error: onFailed })
    : Subscription.EMPTY;
  subscription.add(commits);
  subscription.add(shared.connect());
  return { counts, subscription, commits };
}
