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
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) });
        for (const queued of batch) queued.resolve();
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    this.sending = false;
  }
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
