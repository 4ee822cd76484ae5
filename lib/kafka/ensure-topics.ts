import type { Admin } from 'kafkajs';
import { StartupError } from '../startup-error.js';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** The variable that names the topic, for the start-up failure when it is missing. */
  setting: string;
}

/**
 * Makes sure the service's topics exist. With `create`, missing ones are created (as the local
 * broker path and CREATE_TOPICS=true do); otherwise a missing topic stops start-up with a
 * message naming it, instead of a consumer that silently never receives anything.
 */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], create: boolean): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter(({ topic }) => !existing.has(topic));
  if (missing.length === 0) return [];
  if (!create) {
    const names = missing.map(({ topic, setting }) => `${topic} (${setting})`).join(', ');
    throw new StartupError(
      missing.map(({ setting }) => setting).join(','),
      `Topic(s) missing on the broker: ${names}. Create them, or set CREATE_TOPICS=true to let the service create them.`,
    );
  }
  await admin.createTopics({
    waitForLeaders: true,
    // No replication factor: the broker's default.replication.factor applies.
    topics: missing.map(({ topic, numPartitions }) => ({ topic, numPartitions })),
  });
  return missing.map(({ topic }) => topic);
}
