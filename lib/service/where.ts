import type { Delivery } from '../core/delivery.js';

/** Where a message stands in its source, for log lines and /readyz reasons. */
export function where(delivery: Delivery): { topic: string; partition: number; offset: string } {
  return { topic: delivery.topic, partition: delivery.partition, offset: delivery.offset };
}
