import type { Kafka, Message } from 'kafkajs';

/**
 * Produces in chunks with acks from all replicas; resolves when every message is written, once:
 * idempotent, because a request that times out on a loaded machine may have been written and
 * is sent again, and specs count messages per partition.
 */
export async function produceAll(
  kafka: Kafka,
  topic: string,
  messages: Message[],
  chunk = 1000,
): Promise<void> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Polls until the group's committed offsets equal the topic's end offsets on every partition. */
export async function waitForCommitsAtEnd(
  read: () => Promise<{ committed: Map<number, string>; ends: Map<number, string> }>,
  timeoutMs = 30_000,
): Promise<{ committed: Map<number, string>; ends: Map<number, string> }> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (Date.now() < deadline) {
    if ([...last.ends].every(([partition, end]) => last.committed.get(partition) === end)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await read();
  }
  return last;
}
