import type { Admin, Kafka } from 'kafkajs';
import { leadersOf } from '../../../lib/broker/partition-moves.js';
import { sleep } from '../../integration/support/topic-reader.js';

/**
 * Reads a topic's partition leaders while brokers come and go: a poll that fails (its broker
 * just died) is retried with a fresh admin client, which bootstraps from the nodes still up.
 */
export class LeaderWatch {
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  async leaders(timeoutMs = 60_000): Promise<Map<number, number>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (!this.admin) {
          this.admin = this.kafka.admin();
          await this.admin.connect();
        }
        const leaders = await leadersOf(this.admin, this.topic);
        // A broker that just started may answer before it knows the topic or its leaders.
        if (leaders.size > 0 && [...leaders.values()].every((leader) => leader >= 0)) return leaders;
        throw new Error(`${this.topic} without a leader in the metadata: ${JSON.stringify([...leaders])}`);
      } catch (error) {
        await this.close();
        if (Date.now() > deadline) throw error;
        await sleep(250);
      }
    }
  }

  /**
   * Resolves with the leaders once at least one partition that existed in `before` has
   * another leader than it had then.
   */
  async moved(before: ReadonlyMap<number, number>, timeoutMs = 90_000): Promise<Map<number, number>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.leaders(timeoutMs);
      if ([...before].some(([partition, leader]) => (now.get(partition) ?? leader) !== leader)) return now;
      if (Date.now() > deadline)
        throw new Error(
          `no leader of ${this.topic} moved within ${timeoutMs} ms: ${JSON.stringify([...now])}`,
        );
      await sleep(200);
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }
}

/** How many partitions of `before` have another leader in `after`. */
export function movedCount(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  return [...before].filter(([partition, leader]) => (after.get(partition) ?? leader) !== leader).length;
}
