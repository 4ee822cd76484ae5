import type { TestDriver } from '../../lib/testing/index.js';

/**
 * The brokers every example runs its cases against: a pipeline written once runs unchanged on
 * Kafka and on NATS JetStream, and the test driver models each one's deliveries and
 * acknowledgements (`createTestDriver(pipeline, { broker })`).
 */
export const BROKERS = ['kafka', 'nats'] as const;
export type Broker = (typeof BROKERS)[number];

/**
 * The offsets of partition 0 the broker will not deliver again, in offset order. On Kafka
 * those below the committed offset (a watermark: one message still working holds back the
 * commit of all after it); on NATS the stream sequences acked (each message on its own).
 */
export function acknowledged(driver: TestDriver): string[] {
  if (driver.broker === 'nats') return [...driver.acked].sort((a, b) => Number(a) - Number(b));
  const committed = Number(driver.committed[0] ?? 0);
  return Array.from({ length: committed }, (_, offset) => String(offset));
}

/** The key a written message carries: Kafka writes it, a NATS message has none. */
export function writtenKey(broker: Broker, key: string | null): string | null {
  return broker === 'kafka' ? key : null;
}
