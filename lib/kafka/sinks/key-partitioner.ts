import { randomInt } from 'node:crypto';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 hash of `data` (the Java client's Utils.murmur2), as a signed 32-bit
 * integer: the hash every Kafka client's default partitioner places keyed records by. 32-bit
 * arithmetic throughout (Math.imul), where kafkajs computes it with 64-bit longs.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const whole = length - (length % 4);
  let h = SEED ^ length;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length % 4) {
    case 3:
      h ^= data[whole + 2]! << 16;
    // falls through
    case 2:
      h ^= data[whole + 1]! << 8;
    // falls through
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record: positive murmur2 of the key bytes, modulo the partitions. */
export function keyPartition(key: Buffer | string, partitionCount: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitionCount;
}

/**
 * Kafka's default placement, as kafkajs's DefaultPartitioner does it: a keyed record by its
 * key (keyPartition); a record without a key on the next partition that has a leader, round
 * robin per topic from a random start (any partition when none has a leader).
 * `leaders` holds the leader's broker id of each partition, negative when it has none.
 */
export function defaultPartitioner(): (
  topic: string,
  key: Buffer | string | null,
  leaders: readonly number[],
) => number {
  const counters = new Map<string, number>();
  return (topic, key, leaders) => {
    if (key !== null) return keyPartition(key, leaders.length);
    const counter = (counters.get(topic) ?? randomInt(0x7fffffff)) + 1;
    counters.set(topic, counter & 0x7fffffff);
    const available: number[] = [];
    leaders.forEach((leader, partition) => leader >= 0 && available.push(partition));
    if (available.length === 0) return (counter & 0x7fffffff) % leaders.length;
    return available[(counter & 0x7fffffff) % available.length]!;
  };
}
