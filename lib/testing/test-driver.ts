import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Subject, type Subscription } from 'rxjs';
import winston, { type Logger } from 'winston';
import { OffsetTracker, type PartitionClaim } from '../kafka/commit/offset-tracker.js';
import { errorMessage } from '../core/errors.js';
import { resolveBackoffPolicy, type BackoffPolicy } from '../core/backoff.js';
import { withNatsOrigin } from '../nats/nats-dead-letters.js';
import { deliveryOfStored, headersOfLines, publishedMessage } from '../nats/nats-message.js';
import { isPipeline, type Pipeline, type PipelineContext } from '../pipeline/define-pipeline.js';
import type { Delivery, DeliveryHooks } from '../core/delivery.js';
import type { Outcome, Settlement } from '../core/handle-message.js';
import { projectRoot } from '../project-root.js';
import { startMessageFlow } from '../service/message-flow.js';
import type { RunnerOptions } from '../service/pipeline-runner.js';
import type { OutgoingMessage } from '../sinks/batching-producer.js';
import {
  headerBytes,
  produced,
  toBytes,
  valueBytes,
  written,
  type DeadLetterMessage,
  type ProducedMessage,
  type TestMessage,
} from './messages.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * The settings a pipeline runs with under the driver. The defaults are the service's defaults,
 * except `retry.jitter` (0 here, so backoff delays are exact) and `outputTopic`.
 */
export interface TestDriverOptions {
  /**
   * BROKER: which broker's deliveries and acknowledgements the driver models. `kafka`
   * (default): offsets from "0" per partition, the key as sent, settled offsets committed per
   * partition (`committed`). `nats`: JetStream, as lib/nats maps it: `topic` is the stream and
   * the only partition is 0, offsets are stream sequences from "1", the key is the subject the
   * message was published on (the `key` sent, else the stream's name), a `null` value arrives
   * as empty bytes and header values as one line of text; each settled message is acked on its
   * own (`acked`); writes and dead letters keep what a JetStream publish keeps (no key, header
   * values as text without `Nats-*`), and dead letters carry the NATS origin headers.
   */
  broker?: 'kafka' | 'nats';
  /**
   * `ctx.schema`: the JSON Schema of EVENT_SCHEMA. Default: the bundled
   * `config/schemas/event.schema.json`, as the service uses when EVENT_SCHEMA is empty.
   */
  schema?: object;
  /** `ctx.outputTopic` (OUTPUT_TOPIC). Default none, so the default pipeline writes nothing. */
  outputTopic?: string;
  /**
   * `ctx.retry` (RETRY_*) for `process(fn, { retry: ctx.retry })`, and the backoff of
   * dead-letter write retries. Default `{ maxAttempts: 3, baseDelayMs: 100, multiplier: 2,
   * maxDelayMs: 10000, jitter: 0 }`: retries after exactly 100, 200 and 400 virtual ms. The
   * service runs with `jitter: 0.2` (±20 %); pass it to test with that spread.
   * `attemptTimeoutMs` (PROCESS_TIMEOUT_MS) is unset here, unlike in the service: `settle()`
   * jumps virtual time to the next timer while a pipeline waits on something real, and would
   * time every such wait out. Set it to test timeouts in virtual time.
   */
  retry?: Partial<BackoffPolicy> & { maxAttempts?: number; attemptTimeoutMs?: number };
  /** WORKER_POOL_SIZE: messages handled at once. Default 10. */
  workerPoolSize?: number;
  /** PROCESSING_ORDER: `unordered` (default), one at a time per `key`, or per `partition`. */
  order?: RunnerOptions['order'];
  /** KAFKA_TOPIC (NATS_STREAM with the `nats` broker), where the messages come from. Default `events`. */
  topic?: string;
  /** Partitions of the consumed topic, all owned by the driver. Default 1; always 1 with `nats`. */
  partitions?: number;
  /**
   * KAFKA_GROUP_ID (NATS_DURABLE with the `nats` broker), written into dead letters'
   * `consumer_group`. Default `myeventstream-consumer`.
   */
  consumerGroup?: string;
  /** DLQ_TOPIC, the topic named by `failProduce(dlqTopic)`. Default `myeventstream-dlq`. */
  dlqTopic?: string;
  /**
   * The epoch milliseconds virtual time 0 stands for: what `asyncScheduler.now()`, default
   * message timestamps and dead letters' `timestamp` header read. Default 0 (1970-01-01), so
   * a dead letter written at virtual 300 ms says `1970-01-01T00:00:00.300Z`.
   */
  startTime?: number;
  /** `ctx.logger`. Default a silent winston logger. */
  logger?: Logger;
}

/** How one message left the pipeline, in the order messages settled. */
export interface SettledMessage {
  partition: number;
  offset: string;
  /**
   * `processed` (the chain completed, with or without emitting) or `dead-lettered` (its dead
   * letter was written). `abandoned` does not happen under the driver: nothing revokes partitions.
   */
  outcome: Outcome;
  /** Virtual time of the settle. */
  at: number;
  /** Why it was dead-lettered: the error the dead letter describes. */
  error?: unknown;
}

/** One retry of a failed `process` step (what `retry_attempts_total` counts). */
export interface RetryRecord {
  partition: number;
  offset: string;
  /** The attempt that failed, 1-based; the retry is attempt + 1. */
  attempt: number;
  /** The backoff before the retry, in virtual ms. */
  delayMs: number;
  /** Virtual time the attempt failed at; the retry runs at `at + delayMs`. */
  at: number;
  /** The failure. */
  error: unknown;
}

/** Limits of `settle()`. */
export interface SettleOptions {
  /** Virtual milliseconds `settle()` may advance before it gives up. Default one hour. */
  maxVirtualMs?: number;
  /**
   * Real milliseconds `settle()` waits while messages are unsettled and no RxJS timer is
   * pending (the pipeline waits on a Promise, real I/O or a real setTimeout). Default 2000.
   */
  idleTimeoutMs?: number;
}

/**
 * Runs a pipeline (the result of `definePipeline`) without Kafka, under virtual time, with the
 * service's own message flow (startMessageFlow: `pipeline.build(context)`, `handleMessage`,
 * `runPipeline` with WORKER_POOL_SIZE and PROCESSING_ORDER, the dead-letter sink and its message
 * builder) and the offset tracker's per-partition watermark.
 *
 * Virtual time drives RxJS's `asyncScheduler`, so the backoff of `process` retries, of
 * `forwardTo` and of dead-letter writes, and any `timer`/`delay`/`timeout` the pipeline uses,
 * wait for `advance()` or `settle()` instead of the wall clock. Promises still settle for real:
 * both let microtasks and pending immediates run between timer steps. `setTimeout`,
 * `Date.now()` and real I/O are not virtualized; stub what a pipeline calls.
 *
 * Only one driver can own the asyncScheduler: creating one disposes the previous one. Call
 * `dispose()` when a test ends (`afterEach(() => driver.dispose())`), so later tests get real
 * RxJS timers back.
 */
export interface TestDriver {
  /** The context the pipeline was built with (`ctx` in `definePipeline((ctx) => …)`). */
  readonly context: PipelineContext;
  /** The broker modelled (the `broker` option). */
  readonly broker: 'kafka' | 'nats';
  /** The consumed topic (the `topic` option; the stream with `nats`). */
  readonly topic: string;
  /** The dead-letter topic (the `dlqTopic` option). */
  readonly dlqTopic: string;
  /** Virtual milliseconds since the driver was created. */
  readonly now: number;
  /**
   * Delivers a message to the pipeline, as the service hands off one fetched from the topic,
   * and returns its offset (offsets count from "0" per partition; strings, as in the service).
   * The pipeline starts on it at once, synchronously, when a worker is free; what it awaits or
   * schedules runs on `advance()` or `settle()`.
   */
  send(message: TestMessage): string;
  /**
   * Moves virtual time forward by `ms` (0 just lets pending work run), running every RxJS timer
   * that falls due on the way at its own instant, and letting Promises settle before and after
   * each. Rejects if the service as a whole would have failed (an error escaping the
   * per-message handling, which makes the service exit 1).
   */
  advance(ms: number): Promise<void>;
  /**
   * Runs until every message sent has settled, advancing virtual time from timer to timer as
   * needed. Rejects, naming the unsettled messages, when that takes more than
   * `maxVirtualMs` of virtual time (a dead-letter write that fails forever retries forever)
   * or when nothing is scheduled and nothing settles for `idleTimeoutMs` of real time.
   */
  settle(options?: SettleOptions): Promise<void>;
  /** Messages written through `ctx.produce` (by `forwardTo` or the pipeline), in write order. */
  readonly produced: readonly ProducedMessage[];
  /** The messages written to `topic`, in write order. */
  producedTo(topic: string): ProducedMessage[];
  /** Dead letters, exactly as the service writes them to the dead-letter topic, in write order. */
  readonly deadLetters: readonly DeadLetterMessage[];
  /**
   * Per partition, the offset the service's committer would commit now: the lowest offset not
   * yet settled, or one past the last when all are settled (Kafka's next offset to read).
   * Partitions without messages are absent. The service commits this on its next
   * COMMIT_INTERVAL_MS tick; the driver shows it at once. Kafka only: with the `nats` broker
   * reading it throws (read `acked`).
   */
  readonly committed: Readonly<Record<number, string>>;
  /**
   * The stream sequences acked, in ack order: each message is acked once it settled (processed,
   * or its dead letter written), whatever the others do. The `nats` broker only: with `kafka`
   * reading it throws (read `committed`).
   */
  readonly acked: readonly string[];
  /** Every message that settled, in settle order. */
  readonly settled: readonly SettledMessage[];
  /** Every retry of a `process` step (including `forwardTo`'s), in order. */
  readonly retries: readonly RetryRecord[];
  /** Messages sent and not settled yet. */
  readonly pending: number;
  /** Failed dead-letter writes so far (each is retried with backoff until it succeeds). */
  readonly deadLetterWriteFailures: number;
  /**
   * Makes the next `times` writes to `topic` fail (default: every write from now on), as a
   * broker refusing them would: the write's Promise rejects. Without a topic, every write
   * through `ctx.produce` fails; dead-letter writes fail only when the dead-letter topic is
   * named. Rules add up and are used in the order they were added.
   */
  failProduce(topic?: string, times?: number): void;
  /** Drops every `failProduce` rule: writes succeed again. */
  restoreProduce(): void;
  /**
   * Stops the pipeline (pending work is dropped, nothing more settles) and gives RxJS's
   * asyncScheduler real time back. Safe to call more than once; other methods throw after it.
   */
  dispose(): void;
}

/**
 * Rounds of `setImmediate` per flush. One round already runs every microtask (Promise
 * continuations, however long their chain); the extra ones let code that defers work to an
 * immediate or to `process.nextTick` once or twice finish too.
 */
const FLUSH_ROUNDS = 3;

const DEFAULT_MAX_VIRTUAL_MS = 60 * 60 * 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 2000;

/** The driver that owns RxJS's asyncScheduler now; a new driver disposes it. */
let activeDriver: PipelineTestDriver | undefined;

/**
 * Creates a test driver for `pipeline`; see TestDriver. Building the pipeline happens here, so
 * a pipeline whose build throws (a schema that does not compile) throws from this call.
 *
 * ```ts
 * const driver = createTestDriver(myPipeline, { outputTopic: 'out' });
 * driver.send({ key: 'k', value: { Id: '1' } });
 * await driver.settle();
 * expect(driver.produced).to.have.length(1);
 * driver.dispose();
 * ```
 */
export function createTestDriver(pipeline: Pipeline, options: TestDriverOptions = {}): TestDriver {
  if (!isPipeline(pipeline)) {
    throw new TypeError('createTestDriver expects a pipeline made with definePipeline()');
  }
  activeDriver?.dispose();
  const driver = new PipelineTestDriver(pipeline, options);
  activeDriver = driver;
  return driver;
}

class PipelineTestDriver implements TestDriver {
  readonly context: PipelineContext;
  readonly broker: 'kafka' | 'nats';
  readonly topic: string;
  readonly dlqTopic: string;
  deadLetterWriteFailures = 0;

  private readonly clock: VirtualClock;
  private readonly tracker = new OffsetTracker();
  private readonly intake = new Subject<Delivery>();
  private readonly subscription: Subscription;
  private readonly nextOffsets: number[];
  /** The driver owns every partition from offset 0 for its whole life (no rebalance happens). */
  private readonly claims: PartitionClaim[];
  private readonly unsettled = new Set<Delivery>();
  private readonly producedLog: ProducedMessage[] = [];
  private readonly deadLetterLog: DeadLetterMessage[] = [];
  private readonly settledLog: SettledMessage[] = [];
  private readonly retryLog: RetryRecord[] = [];
  private readonly ackedLog: string[] = [];
  private failures: Array<{ topic: string | undefined; remaining: number }> = [];
  private failure: { error: unknown } | undefined;
  private disposed = false;

  constructor(pipeline: Pipeline, options: TestDriverOptions) {
    const {
      topic = 'events',
      dlqTopic = 'myeventstream-dlq',
      consumerGroup = 'myeventstream-consumer',
      partitions = 1,
      workerPoolSize = 10,
      order = 'unordered',
      startTime = 0,
      broker = 'kafka',
    } = options;
    if (broker !== 'kafka' && broker !== 'nats') {
      throw new RangeError(`createTestDriver: broker must be 'kafka' or 'nats', got ${String(broker)}`);
    }
    positiveInteger('partitions', partitions);
    if (broker === 'nats' && partitions !== 1) {
      throw new RangeError(
        `createTestDriver: a NATS stream is one partition (partition 0): partitions must be 1 with broker 'nats', got ${partitions}`,
      );
    }
    positiveInteger('workerPoolSize', workerPoolSize);
    if (!Number.isFinite(startTime)) throw new RangeError(`createTestDriver: invalid startTime ${startTime}`);
    const { maxAttempts = 3, attemptTimeoutMs, ...backoff } = options.retry ?? {};
    if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
      throw new RangeError(`createTestDriver: retry.maxAttempts must be an integer >= 0, got ${maxAttempts}`);
    }
    const policy = resolveBackoffPolicy({ jitter: 0, ...backoff });

    this.broker = broker;
    this.topic = topic;
    this.dlqTopic = dlqTopic;
    // Kafka offsets count from 0, JetStream stream sequences from 1.
    this.nextOffsets = Array.from({ length: partitions }, () => (broker === 'nats' ? 1 : 0));
    this.tracker.assign([{ topic, partitions: this.nextOffsets.map((_, i) => i) }]);
    this.claims = this.nextOffsets.map((_, partition) => {
      this.tracker.start(topic, partition, { committed: undefined, earliest: '0' });
      return this.tracker.claim(topic, partition)!;
    });
    this.clock = new VirtualClock(startTime);
    this.context = {
      schema: options.schema ?? bundledEventSchema(),
      outputTopic: options.outputTopic,
      retry: { ...policy, maxAttempts, attemptTimeoutMs },
      produce: (to, message) => this.write('output', to, message),
      logger: options.logger ?? winston.createLogger({ silent: true }),
    };

    // Timers the pipeline creates while being built are virtual too.
    this.clock.install();
    try {
      this.subscription = startMessageFlow({
        deliveries: this.intake,
        pipeline,
        context: this.context,
        deadLetters: {
          topic: dlqTopic,
          producer:
            broker === 'nats'
              ? withNatsOrigin((to, message) => this.write('dead-letter', to, message))
              : { send: (to, message) => this.write('dead-letter', to, message) },
          backoff: policy,
          consumerGroup,
          maxRetries: maxAttempts,
          now: () => new Date(startTime + this.clock.elapsed),
          onWriteFailed: () => (this.deadLetterWriteFailures += 1),
          onWritten: () => undefined,
        },
        workerPoolSize,
        order,
        onSettled: (settlement) => this.onSettled(settlement),
        // What the service treats as its own failure: it logs one line and exits 1.
        onFailed: (error: unknown) => (this.failure ??= { error }),
      }).subscription;
    } catch (error) {
      this.clock.uninstall();
      throw error;
    }
  }

  get now(): number {
    return this.clock.elapsed;
  }

  get produced(): readonly ProducedMessage[] {
    return this.producedLog;
  }

  producedTo(topic: string): ProducedMessage[] {
    return this.producedLog.filter((message) => message.topic === topic);
  }

  get deadLetters(): readonly DeadLetterMessage[] {
    return this.deadLetterLog;
  }

  get committed(): Readonly<Record<number, string>> {
    if (this.broker === 'nats') {
      throw new Error('committed: NATS has no offset commits; read acked (the stream sequences acked)');
    }
    return Object.fromEntries(
      this.tracker.commitPoints().map(({ partition, offset }) => [partition, offset]),
    );
  }

  get acked(): readonly string[] {
    if (this.broker === 'kafka') {
      throw new Error('acked: Kafka acknowledges by committing offsets; read committed');
    }
    return this.ackedLog;
  }

  get settled(): readonly SettledMessage[] {
    return this.settledLog;
  }

  get retries(): readonly RetryRecord[] {
    return this.retryLog;
  }

  get pending(): number {
    return this.unsettled.size;
  }

  send(message: TestMessage): string {
    this.assertUsable('send');
    if (typeof message !== 'object' || message === null) {
      throw new TypeError('send() expects a message: { value, key?, headers?, partition?, timestamp? }');
    }
    const partition = message.partition ?? 0;
    const next = this.nextOffsets[partition];
    if (!Number.isInteger(partition) || next === undefined) {
      throw new RangeError(
        `send(): partition must be an integer from 0 to ${this.nextOffsets.length - 1} (see the partitions option), got ${partition}`,
      );
    }
    const timestamp =
      message.timestamp === undefined ? this.clock.startTime + this.clock.elapsed : +message.timestamp;
    if (!Number.isFinite(timestamp))
      throw new RangeError(`send(): invalid timestamp ${String(message.timestamp)}`);
    const offset = String(next);
    this.nextOffsets[partition] = next + 1;
    const delivery =
      this.broker === 'nats'
        ? this.natsDelivery(message, next, timestamp)
        : this.kafkaDelivery(message, partition, offset, timestamp);
    if (this.broker === 'kafka') {
      // As the source does: registered with the tracker first, then handed to the pipeline.
      this.tracker.handOff(this.claims[partition]!, offset);
    }
    this.unsettled.add(delivery);
    this.intake.next(delivery);
    return offset;
  }

  private kafkaDelivery(
    message: TestMessage,
    partition: number,
    offset: string,
    timestamp: number,
  ): Delivery {
    return {
      topic: this.topic,
      partition,
      offset,
      key: toBytes(message.key),
      value: valueBytes(message.value),
      headers: headerBytes(message.headers),
      timestamp: String(timestamp),
      generation: this.claims[partition]!.epoch,
      signal: this.claims[partition]!.signal,
      hooks: this.hooksFor(partition, offset),
      event: undefined,
      settleAfter: undefined,
      worker: undefined,
    };
  }

  /** The message as the NATS source delivers it once a publish on its subject was stored. */
  private natsDelivery(message: TestMessage, sequence: number, timestamp: number): Delivery {
    const subject =
      message.key === undefined || message.key === null ? this.topic : toBytes(message.key)!.toString('utf8');
    if (!NATS_SUBJECT.test(subject)) {
      throw new RangeError(
        `send(): with broker 'nats' the key is the subject the message was published on: dot-separated tokens without spaces, "*" or ">", got ${JSON.stringify(subject)}`,
      );
    }
    const lines: Array<[string, string]> = [];
    for (const [name, value] of Object.entries(headerBytes(message.headers))) {
      for (const bytes of Array.isArray(value) ? value : [value]) {
        if (bytes !== undefined) lines.push([name, bytes.toString().replace(/[\r\n]+/g, ' ')]);
      }
    }
    return deliveryOfStored(
      {
        stream: this.topic,
        sequence,
        subject,
        data: valueBytes(message.value) ?? new Uint8Array(0),
        headers: headersOfLines(lines),
        timestampMs: String(timestamp),
      },
      this.claims[0]!.signal,
      this.hooksFor(0, String(sequence)),
    );
  }

  async advance(ms: number): Promise<void> {
    this.assertUsable('advance');
    if (!(Number.isFinite(ms) && ms >= 0)) {
      throw new RangeError(`advance() expects a finite number of milliseconds >= 0, got ${ms}`);
    }
    const target = this.clock.elapsed + ms;
    await this.flush();
    while (this.runNext(target)) await this.flush();
    this.clock.moveTo(target);
    this.throwIfFailed();
  }

  async settle(options: SettleOptions = {}): Promise<void> {
    this.assertUsable('settle');
    const { maxVirtualMs = DEFAULT_MAX_VIRTUAL_MS, idleTimeoutMs = DEFAULT_IDLE_TIMEOUT_MS } = options;
    const limit = this.clock.elapsed + maxVirtualMs;
    await this.flush();
    let idleSince: number | undefined;
    while (this.unsettled.size > 0) {
      this.throwIfFailed();
      const due = this.clock.nextDue();
      if (due !== undefined) {
        if (due > limit) {
          throw this.stuck(`it would take more than ${maxVirtualMs} virtual ms (the maxVirtualMs option)`);
        }
        this.runNext(due);
        idleSince = undefined;
        await this.flush();
        continue;
      }
      // No timer to run: the pipeline waits on something in real time. Give it that time.
      const settledBefore = this.settledLog.length;
      idleSince ??= Date.now();
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
      await this.flush();
      if (this.settledLog.length > settledBefore) idleSince = undefined;
      else if (Date.now() - idleSince > idleTimeoutMs) {
        throw this.stuck(
          `no RxJS timer is pending and nothing settled for ${idleTimeoutMs} real ms: the pipeline waits ` +
            'on something outside virtual time (a Promise the test controls, real I/O, a real setTimeout). ' +
            'Resolve or stub it, or use advance(ms) to look at the state meanwhile',
        );
      }
    }
    this.throwIfFailed();
  }

  failProduce(topic?: string, times = Infinity): void {
    this.assertUsable('failProduce');
    if (!(times === Infinity || (Number.isInteger(times) && times >= 0))) {
      throw new RangeError(`failProduce(): times must be an integer >= 0 or Infinity, got ${times}`);
    }
    this.failures.push({ topic, remaining: times });
  }

  restoreProduce(): void {
    this.failures = [];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.subscription.unsubscribe();
    this.intake.complete();
    this.clock.uninstall();
    if (activeDriver === this) activeDriver = undefined;
  }

  /** A write as the broker would answer it: asynchronously, failing where failProduce says. */
  private async write(
    kind: 'output' | 'dead-letter',
    topic: string,
    message: OutgoingMessage,
  ): Promise<void> {
    await Promise.resolve();
    if (this.disposed) throw new Error(`writing to ${topic} failed: the test driver was disposed`);
    const rule = this.failures.find(
      (r) => r.remaining > 0 && (r.topic === topic || (r.topic === undefined && kind === 'output')),
    );
    if (rule) {
      rule.remaining -= 1;
      throw new Error(`writing to ${topic} failed (failProduce of the test driver)`);
    }
    const stored = this.broker === 'nats' ? publishedMessage(message) : message;
    if (kind === 'output') this.producedLog.push(produced(topic, stored));
    else this.deadLetterLog.push(written(stored));
  }

  private onSettled({ delivery, outcome, error }: Settlement): void {
    this.unsettled.delete(delivery);
    // As the service does: an abandoned message frees its slot but is never committed past.
    if (outcome !== 'abandoned') {
      if (this.broker === 'nats') this.ackedLog.push(delivery.offset);
      else this.tracker.settle(delivery.topic, delivery.partition, delivery.offset, delivery.generation);
    }
    const record: SettledMessage = {
      partition: delivery.partition,
      offset: delivery.offset,
      outcome,
      at: this.now,
    };
    if (error !== undefined) record.error = error;
    this.settledLog.push(record);
  }

  private hooksFor(partition: number, offset: string): DeliveryHooks {
    return {
      onRetry: (attempt, error, delayMs) =>
        this.retryLog.push({ partition, offset, attempt, delayMs, at: this.now, error }),
      onRetryExhausted: () => undefined,
    };
  }

  /** Runs the timers due next if they are due by `until`; an error they throw fails the driver. */
  private runNext(until: number): boolean {
    try {
      return this.clock.runNext(until);
    } catch (error) {
      this.failure ??= { error };
      this.throwIfFailed();
      return false;
    }
  }

  private async flush(): Promise<void> {
    for (let round = 0; round < FLUSH_ROUNDS; round++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private throwIfFailed(): void {
    if (!this.failure) return;
    const { error } = this.failure;
    throw new Error(
      `the pipeline failed as a whole (the service would log it and exit 1): ${errorMessage(error)}`,
      { cause: error },
    );
  }

  private stuck(reason: string): Error {
    const messages = [...this.unsettled];
    const listed = messages
      .slice(0, 5)
      .map((d) => `partition ${d.partition} offset ${d.offset}`)
      .join(', ');
    const more = messages.length > 5 ? ` and ${messages.length - 5} more` : '';
    const count = `${messages.length} message${messages.length === 1 ? '' : 's'}`;
    return new Error(
      `settle() gave up at virtual ${this.now} ms with ${count} unsettled (${listed}${more}): ${reason}`,
    );
  }

  private assertUsable(method: string): void {
    if (this.disposed) {
      throw new Error(
        `${method}(): this test driver was disposed (dispose() was called, or a newer driver was created)`,
      );
    }
  }
}

/** A NATS subject a message can be published on: tokens of printable characters, no wildcards. */
const NATS_SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`createTestDriver: ${name} must be an integer >= 1, got ${value}`);
  }
}

let eventSchema: object | undefined;

/** The schema the service validates against when EVENT_SCHEMA is empty. */
function bundledEventSchema(): object {
  eventSchema ??= JSON.parse(
    readFileSync(join(projectRoot(), 'config', 'schemas', 'event.schema.json'), 'utf8'),
  ) as object;
  return eventSchema;
}
