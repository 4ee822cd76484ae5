import type { Kafka } from 'kafkajs';
import { ensureTopics } from '../ensure-topics.js';
import { withAdmin } from '../with-admin.js';

/** How the topics a pipeline writes to are looked up, and created when CREATE_TOPICS allows. */
export interface TopicLookup {
  /** Whether `topic` exists on the cluster the writes go to. */
  exists(topic: string): Promise<boolean>;
  /** Creates `topic`; absent when missing topics are only to be reported. */
  create?: (topic: string) => Promise<void>;
}

/** What became of a topic found missing at its first write. */
export type MissingTopicOutcome = { created: true } | { created: false; error?: unknown };

/**
 * Checks each topic a pipeline writes to once, before its first write: a topic that does not
 * exist otherwise shows only as kafkajs retrying metadata requests for many seconds, then as
 * failed writes that never name it. A missing topic is reported once (`onMissing`) and created
 * when the lookup can. A lookup that fails leaves the topic to be checked at the next write.
 */
export class OutputTopics {
  private readonly present = new Set<string>();
  private readonly missing = new Set<string>();
  private readonly checks = new Map<string, Promise<void>>();

  constructor(
    private readonly lookup: TopicLookup,
    private readonly onMissing: (topic: string, outcome: MissingTopicOutcome) => void,
  ) {}

  /** Undefined once `topic` was checked (the hot path); else a Promise that never rejects. */
  checked(topic: string): Promise<void> | undefined {
    if (this.present.has(topic) || this.missing.has(topic)) return undefined;
    let check = this.checks.get(topic);
    if (!check) {
      check = this.check(topic).finally(() => this.checks.delete(topic));
      this.checks.set(topic, check);
    }
    return check;
  }

  /** Whether `topic` was found missing and could not be created. */
  isMissing(topic: string): boolean {
    return this.missing.has(topic);
  }

  private async check(topic: string): Promise<void> {
    let exists: boolean;
    try {
      exists = await this.lookup.exists(topic);
    } catch {
      return; // checked again at the next write; the write itself reports what fails
    }
    if (exists) {
      this.present.add(topic);
      return;
    }
    if (!this.lookup.create) {
      this.missing.add(topic);
      this.onMissing(topic, { created: false });
      return;
    }
    try {
      await this.lookup.create(topic);
      this.present.add(topic);
      this.onMissing(topic, { created: true });
    } catch (error) {
      this.missing.add(topic);
      this.onMissing(topic, { created: false, error });
    }
  }
}

/**
 * A lookup through an admin client of `kafka` (connected for each look, which happens once per
 * topic); with `create`, missing topics are made with `numPartitions` and the broker's default
 * replication factor, as CREATE_TOPICS makes the service's own topics.
 */
export function adminTopicLookup(kafka: Kafka, create?: { numPartitions: number }): TopicLookup {
  return {
    exists: (topic) => withAdmin(kafka, async (admin) => (await admin.listTopics()).includes(topic)),
    create: create
      ? (topic) =>
          withAdmin(kafka, async (admin) => {
            await ensureTopics(
              admin,
              [{ topic, numPartitions: create.numPartitions, setting: 'routeTo' }],
              true,
            );
          })
      : undefined,
  };
}
