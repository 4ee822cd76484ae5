import type { Kafka, KafkaMessage } from 'kafkajs';
import { randomName } from './kafka.js';

export type ReadMessage = KafkaMessage & { partition: number };

/**
 * Reads a topic from the beginning with a fresh group until `count` messages arrived, then
 * `settleMs` more to catch any extra (duplicates, stray writes). An independent reader: it
 * shares nothing with the service under test.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  { timeoutMs = 60_000, settleMs = 500 } = {},
): Promise<ReadMessage[]> {
  const messages: ReadMessage[] = [];
  // A rebalance of the reader's own new group makes kafkajs hand over some records again: one
  // record is one partition and offset, so those are kept once (records the producer wrote
  // twice have offsets of their own and stay two).
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId: randomName('reader'), sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const where = `${partition}:${message.offset}`;
      if (seen.has(where)) return;
      seen.add(where);
      messages.push({ ...message, partition });
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (messages.length < count && Date.now() < deadline) await sleep(100);
  await sleep(settleMs);
  await consumer.disconnect();
  if (messages.length < count) {
    throw new Error(
      `read ${messages.length} of ${count} expected messages from ${topic} within ${timeoutMs} ms`,
    );
  }
  return messages;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
