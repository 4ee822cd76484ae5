import {
  unacknowledgedPartitions,
  type OutgoingMessage,
  type OutgoingRecord,
  type RecordWriter,
  type WriteAnswer,
} from './record-writer.js';

export type { OutgoingMessage } from './record-writer.js';

interface Queued extends OutgoingRecord {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Bytes of messages one request carries at most (a single larger message goes alone). The
 * messages of a request bound for one partition form one record batch, which the broker refuses
 * whole above its message.max.bytes (1 MB by default): without a cap, large messages that
 * queued up together failed together although each fits, and were retried or dead-lettered.
 */
export const DEFAULT_MAX_BATCH_BYTES = 900 * 1024;

export interface BatchingOptions {
  /** Messages one request carries at most; default 1000. */
  maxBatch?: number;
  /** Bytes one request carries at most (see DEFAULT_MAX_BATCH_BYTES). */
  maxBatchBytes?: number;
  /**
   * Requests awaiting the broker's answer at once; default 5, as Kafka's own clients. Requests
   * may then complete in any order, and a failed one is retried by the caller after later ones
   * went through: where order matters, the caller must not send a message before the previous
   * one of its key is acknowledged (the service's ordered modes hold a key's lane until then).
   */
  maxInFlight?: number;
}

/** A write the client reported done although the broker's answer lacks its partition. */
export class UnacknowledgedWriteError extends Error {
  readonly retriable = true;
  constructor(topic: string, partition: number) {
    super(`the broker did not acknowledge the write to ${topic} partition ${partition} (its leader moved)`);
    this.name = 'UnacknowledgedWriteError';
  }
}

/**
 * Sends each message with acks from all in-sync replicas, through a RecordWriter of either
 * client. Messages sent in one turn of the event loop (all those of a fetched batch, as the
 * pipeline runs them synchronously) share a request, sent once that turn is over; while
 * `maxInFlight` requests await the broker, new ones queue and go together in the next request.
 * A message's promise settles when the broker acknowledged (or refused) its request; a message
 * whose partition is missing from the broker's answer fails (UnacknowledgedWriteError).
 */
export class BatchingProducer {
  private queue: Queued[] = [];
  private inFlight = 0;
  private flushScheduled = false;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly writer: Pick<RecordWriter, 'write'>,
    { maxBatch = 1000, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES, maxInFlight = 5 }: BatchingOptions = {},
  ) {
    this.maxBatch = maxBatch;
    this.maxBatchBytes = maxBatchBytes;
    this.maxInFlight = maxInFlight;
  }

  send(topic: string, message: OutgoingMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight >= this.maxInFlight) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: kafkajs hands the batches of one fetch to the pipeline
    // one after another within a turn, and they should share a request rather than take one
    // each (a request costs a socket write and kafkajs's per-request encoding).
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.batchLength());
      this.inFlight += 1;
      this.writer.write(batch).then(
        (answer) => this.answered(batch, undefined, answer),
        (error: unknown) => this.answered(batch, { error }),
      );
    }
  }

  private answered(batch: Queued[], failure: { error: unknown } | undefined, answer?: WriteAnswer): void {
    this.inFlight -= 1;
    const missing = answer && unacknowledgedPartitions(batch, answer);
    for (const [i, queued] of batch.entries()) {
      if (failure) {
        queued.reject(failure.error);
        continue;
      }
      const partition = missing![i];
      if (partition !== undefined) queued.reject(new UnacknowledgedWriteError(queued.topic, partition));
      else queued.resolve();
    }
    if (this.queue.length > 0) this.scheduleFlush();
  }

  /** How many queued messages the next request takes: up to maxBatch and maxBatchBytes. */
  private batchLength(): number {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < this.maxBatch) {
      bytes += approximateSize(this.queue[count]!.message);
      if (count > 0 && bytes > this.maxBatchBytes) break;
      count += 1;
    }
    return count;
  }
}

/** Bytes of a message on the wire, roughly: key, value, headers and a record's overhead. */
function approximateSize({ key, value, headers }: OutgoingMessage): number {
  let size = 32 + byteLength(key) + byteLength(value);
  for (const name of Object.keys(headers ?? {})) {
    const values: unknown = headers![name];
    for (const one of Array.isArray(values) ? (values as unknown[]) : [values]) {
      size += 8 + Buffer.byteLength(name) + byteLength(one);
    }
  }
  return size;
}

function byteLength(value: unknown): number {
  return typeof value === 'string' || Buffer.isBuffer(value) ? Buffer.byteLength(value) : 0;
}
