import type { Admin, Kafka, Message } from 'kafkajs';
import { sleep } from '../../integration/support/topic-reader.js';

export interface LiveTrafficOptions {
  kafka: Kafka;
  topic: string;
  /** Events per second, sent in ten batches a second. */
  perSecond: number;
  /** Which events break the schema (they belong in the DLQ); default: none. */
  isInvalid?: (n: number) => boolean;
}

export interface TrafficResult {
  /** Keys of events whose batch the cluster acknowledged (acks=all). */
  acknowledged: string[];
  /** Keys of events not acknowledged when traffic stopped: written or not, nobody was told. */
  unacknowledged: string[];
  /** Events sent again because an answer left out their partition or the send failed. */
  resent: number;
}

export interface LiveTraffic {
  /** Events sent so far, acknowledged or not. */
  sent(): number;
  /** Stops after the batch in flight and reports what was acknowledged. */
  stop(): Promise<TrafficResult>;
}

/**
 * Produces `event-<n>` at a steady rate with acks from all in-sync replicas while a scenario
 * moves leaders around, so there are always fresh events on every partition. A batch that is
 * slow (a leader moving) is followed by one that catches up with the rate, never by a burst
 * in parallel.
 *
 * An event counts as acknowledged only when the answer names its partition. kafkajs 2.2.4's
 * `send` can resolve without having written some partitions: when a retry follows a leader
 * move, a partition that moved to a broker which had already answered the first attempt is
 * left out (`responsePerBroker` in producer/sendMessages.js). Events are therefore given
 * their partition here (round robin over the partitions the metadata shows, read every
 * second, so added partitions get events at once), and those of a partition missing from the
 * answer are sent again with the next batch.
 */
export async function startLiveTraffic(options: LiveTrafficOptions): Promise<LiveTraffic> {
  const { kafka, topic, perSecond, isInvalid = () => false } = options;
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    metadataMaxAge: 1000,
    retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 5000 },
  });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  let partitions = await partitionCount(admin, topic, 1);
  let partitionsReadAt = Date.now();
  const acknowledged: string[] = [];
  let unconfirmed: Message[] = [];
  let resent = 0;
  let next = 0;
  let running = true;
  const started = Date.now();
  let flushes = 0;
  const loop = (async () => {
    // Once stopped, events still unconfirmed get a few more tries, but no new events come.
    while (running || (unconfirmed.length > 0 && flushes++ < 20)) {
      if (Date.now() - partitionsReadAt > 1000) {
        partitions = await partitionCount(admin, topic, partitions);
        partitionsReadAt = Date.now();
      }
      const due = running ? Math.floor(((Date.now() - started) / 1000) * perSecond) : next;
      const messages: Message[] = unconfirmed;
      resent += unconfirmed.length;
      for (; next < due; next++)
        messages.push({
          key: `event-${next}`,
          value: JSON.stringify(isInvalid(next) ? { name: 'no id' } : { Id: `id-${next}` }),
          partition: next % partitions,
        });
      unconfirmed = [];
      if (messages.length > 0) {
        try {
          const answered = new Set(
            (await producer.send({ topic, acks: -1, messages })).map((r) => r.partition),
          );
          for (const message of messages)
            if (answered.has(message.partition!)) acknowledged.push(message.key as string);
            else unconfirmed.push(message);
        } catch {
          unconfirmed = messages;
        }
      }
      await sleep(100);
    }
  })();
  return {
    sent: () => next,
    async stop() {
      running = false;
      await loop;
      await producer.disconnect();
      await admin.disconnect();
      return { acknowledged, unacknowledged: unconfirmed.map((m) => m.key as string), resent };
    },
  };
}

/** Partitions of `topic` in the metadata; `fallback` when it cannot be read right now. */
async function partitionCount(admin: Admin, topic: string, fallback: number): Promise<number> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length || fallback;
  } catch {
    return fallback;
  }
}
