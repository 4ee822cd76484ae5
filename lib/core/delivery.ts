import type { Observable } from 'rxjs';
import type { MessageHeaders } from './headers.js';

/** Callbacks the service hands each message so stages can report without knowing metrics. */
export interface DeliveryHooks {
  /** A failed attempt is about to be retried after `delayMs`. `attempt` is the failed one (1-based). */
  onRetry(attempt: number, error: unknown, delayMs: number): void;
  /** The last allowed attempt failed; the message goes to the DLQ. */
  onRetryExhausted(attempts: number, error: unknown): void;
}

/**
 * A message's hold on one of the WORKER_POOL_SIZE worker slots. A stage that waits for time
 * rather than working (a retry's backoff) gives the slot back and asks for one again when the
 * wait is over, so the other messages are not held up meanwhile; the message keeps its credit
 * and, in the ordered modes, its lane. The service sets this on every message it runs; a
 * delivery built by hand has none, and then simply keeps whatever runs it busy while it waits.
 */
export interface WorkerSlot {
  /** Gives the slot back. A no-op once the message's chain is done with its worker. */
  release(): void;
  /**
   * Emits once and completes when the message holds a slot again (at once if it still does),
   * queued behind the messages already waiting for one. Unsubscribing withdraws the request.
   */
  reacquire(): Observable<void>;
}

export const NO_HOOKS: DeliveryHooks = { onRetry: () => undefined, onRetryExhausted: () => undefined };

/**
 * One message on its way through the pipeline, from whichever broker. Offsets stay strings (they exceed 2^53).
 * `event` is empty until a decode stage fills it; later stages may replace it.
 */
export interface Delivery<E = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: MessageHeaders;
  /** Broker timestamp, milliseconds since the epoch, as a string (as kafkajs gives it). */
  readonly timestamp: string;
  /**
   * The partition's ownership the message was fetched under: it lasts while the partition stays
   * assigned to this member, and settles of an ended one are ignored.
   */
  readonly generation: number;
  /** Aborted when the partition is revoked or the service gives up on shutdown. */
  readonly signal: AbortSignal;
  readonly hooks: DeliveryHooks;
  readonly event: E;
  /**
   * Makes the message settle only once `ack` completes (and go to the DLQ with its error if it
   * fails) without holding a worker until then: the worker takes the next message while the
   * broker acknowledges. `ack` is subscribed at once. The service sets this on every message
   * it runs; a delivery built by hand has none, and a stage then waits for `ack` itself.
   */
  readonly settleAfter?: (ack: Observable<unknown>) => void;
  /** The worker slot the message runs in; see WorkerSlot. */
  readonly worker?: WorkerSlot;
}

/** A copy of the delivery carrying a new event: stages never mutate what they receive. */
export function withEvent<E>(delivery: Delivery<unknown>, event: E): Delivery<E> {
  return { ...delivery, event };
}
