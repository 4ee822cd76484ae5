import type { Admin } from 'kafkajs';

/**
 * Partition-level operations on a running cluster that tests use to move leaders: reading
 * where they are, waiting for a returned broker to catch up, adding partitions and changing
 * which replica is preferred. All through kafkajs's admin client.
 */

export interface PartitionState {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export async function partitionStates(admin: Admin, topic: string): Promise<PartitionState[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return (topics[0]?.partitions ?? [])
    .map(({ partitionId, leader, replicas, isr }) => ({ partition: partitionId, leader, replicas, isr }))
    .sort((a, b) => a.partition - b.partition);
}

/** Partition → node id of its leader. */
export async function leadersOf(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map((await partitionStates(admin, topic)).map((p) => [p.partition, p.leader]));
}

/**
 * Resolves once `nodeId` is in the in-sync replicas of every partition of `topics` it holds a
 * replica of: only then may the next broker go down without a partition dropping below
 * min.insync.replicas. Include `__consumer_offsets`, or commits stall.
 */
export async function waitUntilInSync(
  admin: Admin,
  nodeId: number,
  topics: readonly string[],
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let behind: string[] = [];
  while (Date.now() < deadline) {
    behind = [];
    try {
      for (const topic of topics)
        for (const p of await partitionStates(admin, topic))
          if (p.replicas.includes(nodeId) && !p.isr.includes(nodeId)) behind.push(`${topic}/${p.partition}`);
      if (behind.length === 0) return;
    } catch (error) {
      behind = [String(error)];
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`node ${nodeId} is not in sync after ${timeoutMs} ms: ${behind.slice(0, 10).join(', ')}`);
}

/** Grows `topic` to `count` partitions and waits until each has a leader. */
export async function increasePartitions(admin: Admin, topic: string, count: number): Promise<void> {
  await admin.createPartitions({ topicPartitions: [{ topic, count }] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const partitions = await partitionStates(admin, topic).catch(() => []);
    if (partitions.length === count && partitions.every((p) => p.leader >= 0)) return;
    if (Date.now() > deadline) throw new Error(`${topic} has no leaders on ${count} partitions after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Rotates the replica list of every partition of `topic` by one: the same replicas, so no data
 * moves, but each partition's preferred replica (the first) is now the next one. A
 * preferred-leader election then moves every leader; `replicas.length` rotations bring them
 * back where they began. Resolves once the metadata shows the new order.
 */
export async function rotatePreferredReplicas(admin: Admin, topic: string): Promise<void> {
  const rotated = (await partitionStates(admin, topic)).map(({ partition, replicas }) => ({
    partition,
    replicas: [...replicas.slice(1), ...replicas.slice(0, 1)],
  }));
  await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: rotated }] });
  const expected = JSON.stringify(rotated.map((p) => p.replicas));
  const deadline = Date.now() + 30_000;
  while (JSON.stringify((await partitionStates(admin, topic)).map((p) => p.replicas)) !== expected) {
    if (Date.now() > deadline) throw new Error(`the replicas of ${topic} were not reordered after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
