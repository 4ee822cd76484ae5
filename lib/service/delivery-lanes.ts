import type { ProcessingOrder } from '../config/schema.js';
import type { Delivery } from '../core/delivery.js';

/**
 * The lane of a delivery under PROCESSING_ORDER: deliveries of one lane are handled one at a
 * time, in the order they were fetched (offset order, as Kafka keeps order only per partition).
 *
 * - `partition`: the topic-partition.
 * - `key`: the topic-partition and the key's bytes. A null key is a key of its own: the
 *   keyless messages of a partition share one lane, apart from every keyed lane (and from the
 *   empty key). Treating them as unordered instead would quietly reorder producers that rely
 *   on the partition order and send no key.
 *
 * The ownership is not part of the lane: when a partition comes back to this member, its
 * messages wait behind those of the earlier ownership still in the lane.
 */
export function deliveryLane(order: Exclude<ProcessingOrder, 'unordered'>): (delivery: Delivery) => string {
  // Topic names cannot contain NUL and partitions are numbers, so the joined strings are
  // unambiguous; latin1 maps every byte to one character, so distinct keys stay distinct.
  if (order === 'partition') return ({ topic, partition }) => `${topic}\u0000${partition}`;
  return ({ topic, partition, key }) =>
    key === null
      ? `${topic}\u0000${partition}\u0000`
      : `${topic}\u0000${partition}\u0000k${key.toString('latin1')}`;
}
