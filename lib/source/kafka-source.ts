import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import { Observable, type Subscriber } from 'rxjs';
import type { Delivery, DeliveryHooks } from '../pipeline/delivery.js';
import type { CreditGate } from './credit-gate.js';

/** What the source needs to know about the group's current generation and assignment. */
export interface GenerationView {
  readonly generation: number;
  /** Aborted when the partition is revoked from this member. */
  signalFor(topic: string, partition: number): AbortSignal;
}

export interface KafkaSourceOptions {
  consumer: Consumer;
  gate: CreditGate;
  generations: GenerationView;
  hooks: DeliveryHooks;
  /** Called for each batch fetched, with the partition's high watermark (for the lag metric). */
  onBatch?(topic: string, partition: number, highWatermark: string): void;
  /** Called for each message right before it enters the pipeline (the committer tracks it here). */
  onHandOff(delivery: Delivery): void;
  /** How often a waiting intake heartbeats; well below the session timeout. */
  heartbeatEveryMs?: number;
}

/** Lets the service stop taking messages while what was taken settles. */
export interface IntakeControl {
  stopIntake(): void;
}

/**
 * The consumer's messages as an Observable of deliveries. Intake is credit-gated: a message
 * enters only with a credit from `gate`; with none left the batch handler waits (heartbeating,
 * and leaving early when the batch went stale or the consumer stops) instead of buffering.
 * A message's offset is resolved when it is handed off, never committed here: the committer
 * does that once it settles. Messages not handed off are fetched again by kafkajs.
 */
export function kafkaSource(options: KafkaSourceOptions): Observable<Delivery> & IntakeControl {
  let intakeOpen = true;
  const source = new Observable<Delivery>((subscriber) => {
    const { consumer } = options;
    const removeCrashListener = consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs restarts the consumer itself after retriable errors; anything else would leave
      // a process that is alive but no longer consuming, so the service must fail loudly.
      if (!event.payload.restart) subscriber.error(event.payload.error);
    });
    consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => handleBatch(payload, options, subscriber, () => intakeOpen),
      })
      .catch((error: unknown) => subscriber.error(error));
    return () => {
      intakeOpen = false;
      removeCrashListener();
    };
  });
  return Object.assign(source, { stopIntake: () => (intakeOpen = false) });
}

async function handleBatch(
  { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  options: KafkaSourceOptions,
  subscriber: Subscriber<Delivery>,
  isOpen: () => boolean,
): Promise<void> {
  const { gate, generations, heartbeatEveryMs = 1000 } = options;
  const { topic, partition } = batch;
  const generation = generations.generation;
  const signal = generations.signalFor(topic, partition);
  const mayContinue = () =>
    isOpen() && isRunning() && !isStale() && !subscriber.closed && generations.generation === generation;

  // The checks below can only change while the handler awaits, so they run once per batch
  // and after each wait, not per message; likewise the fetch position is resolved once per
  // run of hand-offs (resolving an offset covers every offset before it).
  if (!mayContinue()) return;
  options.onBatch?.(topic, partition, batch.highWatermark);
  let lastHandedOff: string | undefined;
  const { messages } = batch;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (!gate.tryAcquire()) {
      if (lastHandedOff !== undefined) resolveOffset(lastHandedOff);
      // Resume once a quarter of the credits (or what the batch still needs) is free.
      const wanted = Math.min(messages.length - i, Math.ceil(gate.capacity / 4));
      do {
        await gate.waitForRelease(heartbeatEveryMs, wanted);
        await heartbeat();
        if (!mayContinue()) return;
      } while (!gate.tryAcquire());
    }
    if (subscriber.closed) return;
    const delivery = toDelivery(topic, partition, message, generation, signal, options.hooks);
    options.onHandOff(delivery);
    subscriber.next(delivery);
    lastHandedOff = message.offset;
  }
  if (lastHandedOff !== undefined) resolveOffset(lastHandedOff);
  await heartbeat();
}

function toDelivery(
  topic: string,
  partition: number,
  message: KafkaMessage,
  generation: number,
  signal: AbortSignal,
  hooks: DeliveryHooks,
): Delivery {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: wireHeaders(message.headers),
    timestamp: message.timestamp,
    generation,
    signal,
    hooks,
    event: undefined,
    // Present from the start, so every delivery has one shape in V8 whether or not the service
    // sets it: a second shape made every stage's property access slower (measured: 2×).
    settleAfter: undefined,
  };
}

const NO_VALUE = Buffer.alloc(0);

/**
 * A message's headers as the broker holds them, in a form kafkajs can write again (to the
 * output or the DLQ). kafkajs 2.2.4 builds them with `obj[name] === undefined` checks, so a
 * header named after an Object.prototype member (`constructor`, `toString`, `__proto__`, ...)
 * comes out as an array that starts with the inherited member; and it reads a null header value
 * (Java clients write them) as null but cannot write one. Either made every write of the
 * message throw, forever: its dead letter never settled and its partition stalled. Only Buffers
 * come from the wire, so anything else is dropped, and a null value becomes an empty one (the
 * header itself is kept). `__proto__` is defined as an own property, so it stays a header; other
 * names are assigned, which keeps the object in V8's fast mode (headers are copied per message).
 */
function wireHeaders(headers: IHeaders | undefined): IHeaders {
  const clean: IHeaders = {};
  for (const name of Object.keys(headers ?? {})) {
    const raw: unknown = headers![name];
    const values = (Array.isArray(raw) ? (raw as unknown[]) : [raw])
      .filter((value) => value === null || Buffer.isBuffer(value) || typeof value === 'string')
      .map((value) => (value === null ? NO_VALUE : (value as Buffer | string)));
    if (values.length === 0) continue;
    const value = values.length === 1 ? values[0] : values;
    if (name === '__proto__') {
      Object.defineProperty(clean, name, { value, enumerable: true, writable: true, configurable: true });
    } else {
      clean[name] = value;
    }
  }
  return clean;
}
