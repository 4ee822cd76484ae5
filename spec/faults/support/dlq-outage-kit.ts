import type { Kafka } from 'kafkajs';
import { endOffsets, randomName } from '../../integration/support/kafka.js';
import type { ReadMessage } from '../../integration/support/topic-reader.js';

/**
 * What a service process wrote, read whole from its Kafka topics by an independent consumer.
 * Shared by the DLQ-outage and hostile-input fault specs and the commit watcher; what the
 * process shows from outside (HTTP endpoints, exit) is in service-probe.ts.
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads a whole topic from the beginning, with a fresh group, until every partition was read
 * up to the end offsets it had when the read began: an exact, independent count. `visit` sees
 * each message (for topics too large to hold); without it the messages are returned.
 */
export async function readAll(
  kafka: Kafka,
  topic: string,
  visit?: (message: ReadMessage) => void,
  timeoutMs = 180_000,
): Promise<ReadMessage[]> {
  const ends = await endOffsets(kafka, topic);
  const remaining = new Map([...ends].filter(([, end]) => end !== '0').map(([p, end]) => [p, BigInt(end)]));
  const messages: ReadMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: randomName('read-all'), sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const end = remaining.get(partition);
        if (end === undefined) return;
        if (visit) visit({ ...message, partition });
        else messages.push({ ...message, partition });
        if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (remaining.size > 0 && Date.now() < deadline) await sleep(100);
    if (remaining.size > 0) {
      throw new Error(`${topic}: partitions ${[...remaining.keys()].join(', ')} not read to the end`);
    }
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** Messages by key (as text), in the order read. */
export function groupByKey(messages: ReadMessage[]): Map<string, ReadMessage[]> {
  const byKey = new Map<string, ReadMessage[]>();
  for (const message of messages) {
    const key = String(message.key);
    const copies = byKey.get(key);
    if (copies) copies.push(message);
    else byKey.set(key, [message]);
  }
  return byKey;
}
