import type { IHeaders, Producer, TopicMessages } from 'kafkajs';

export interface OutgoingMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
}

interface Queued {
  topic: string;
  message: OutgoingMessage;
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

/**
 * Sends each message with acks from all in-sync replicas, coalescing the messages queued while
 * a request is in flight into the next one. One request at a time keeps the order of writes,
 * and under load each request carries many messages instead of paying a round trip each.
 * A message's promise settles when the broker acknowledged (or refused) its request.
 */
export class BatchingProducer {
  private queue: Queued[] = [];
  private sending = false;

  constructor(
    private readonly producer: Pick<Producer, 'sendBatch'>,
    private readonly maxBatch = 1000,
    private readonly maxBatchBytes = DEFAULT_MAX_BATCH_BYTES,
  ) {}

  send(topic: string, message: OutgoingMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.sending) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchLength());
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
        for (const queued of batch) queued.resolve();
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    this.sending = false;
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

function groupByTopic(batch: Queued[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const { topic, message } of batch) {
    let entry = byTopic.get(topic);
    if (!entry) byTopic.set(topic, (entry = { topic, messages: [] }));
    entry.messages.push(message);
  }
  return [...byTopic.values()];
}
