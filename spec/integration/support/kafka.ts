import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { withAdmin } from '../../../lib/kafka/with-admin.js';

/** The broker the global fixture started (or KAFKA_BROKERS given to the run). */
export function testBrokers(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: run the integration specs through npm test');
  return brokers.split(',');
}

export function testKafka(clientId = 'myeventstream-spec'): Kafka {
  return new Kafka({ clientId, brokers: testBrokers(), logLevel: logLevel.NOTHING });
}

/** Names that never collide between specs or runs. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export { withAdmin };

/**
 * Creates a topic and waits until every partition has a leader. kafkajs's own waitForLeaders
 * can fail with UNKNOWN_TOPIC_OR_PARTITION on a loaded machine (the broker's metadata does not
 * know the new topic yet), which it does not retry; polling the metadata does not.
 */
export async function createTopic(
  kafka: Kafka,
  topic: string,
  numPartitions: number,
  configEntries: Array<{ name: string; value: string }> = [],
  replicationFactor = 1,
): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [{ topic, numPartitions, replicationFactor, configEntries }],
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length === numPartitions && partitions.every((p) => p.leader >= 0)) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leaders after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

/** Committed offset of each partition for a group, as strings ('-1' when none). */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, string>> {
  return withAdmin(kafka, async (admin) => {
    const [entry] = await fetchGroupOffsets(admin, groupId, topic);
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  });
}

/**
 * admin.fetchOffsets, tried again for up to 15 s on retriable errors: on a fresh broker the
 * group coordinator answers NOT_COORDINATOR until the offsets topic is loaded, and kafkajs's
 * admin does not retry that.
 */
export async function fetchGroupOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): ReturnType<Admin['fetchOffsets']> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await admin.fetchOffsets({ groupId, topics: [topic] });
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** High watermark (next offset to be written) of each partition, as strings. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, string>> {
  return withAdmin(kafka, async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, p.high]));
  });
}

/**
 * Topic settings under which the broker stamps each record with the time it appended it, not
 * the producer's clock: the fault suite's commit watcher reads from the output and dead-letter
 * topics when each message was finished.
 */
export const LOG_APPEND_TIME = [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];

/**
 * A fresh source, output and dead-letter topic for one run of the service; the output and the
 * dead letters carry broker append times (LOG_APPEND_TIME).
 */
export async function createServiceTopics(
  kafka: Kafka,
  partitions: number,
): Promise<{ source: string; output: string; dlq: string }> {
  const names = { source: randomName('events'), output: randomName('output'), dlq: randomName('dlq') };
  await createTopic(kafka, names.source, partitions);
  await createTopic(kafka, names.output, partitions, LOG_APPEND_TIME);
  await createTopic(kafka, names.dlq, 1, LOG_APPEND_TIME);
  return names;
}
