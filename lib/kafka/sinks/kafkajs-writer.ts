import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { errorMessage, isRetriable } from '../../core/errors.js';
import { recordingPartitioner } from './recording-partitioner.js';
import {
  KafkaWriteError,
  type OutgoingRecord,
  type RecordWriter,
  type WriteAnswer,
} from '../../sinks/record-writer.js';

/** A RecordWriter on a kafkajs producer of `kafka` (DLQ_BROKERS may name another cluster). */
export function kafkajsWriter(kafka: Kafka): KafkajsWriter {
  const partitions = recordingPartitioner();
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    createPartitioner: partitions.createPartitioner,
  });
  return new KafkajsWriter(producer, partitions.partitionOf);
}

/**
 * Writes with kafkajs's sendBatch. kafkajs 2.2.4 can resolve a send without writing some of
 * its partitions (see recordingPartitioner): the partition its partitioner picked for each
 * message goes into the answer, so the caller can check it against what the broker acknowledged.
 */
export class KafkajsWriter implements RecordWriter {
  constructor(
    private readonly producer: Pick<Producer, 'connect' | 'disconnect' | 'sendBatch'>,
    private readonly partitionOf: (topic: string, message: object) => number | undefined,
  ) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async write(records: readonly OutgoingRecord[]): Promise<WriteAnswer> {
    let answer;
    try {
      answer = await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(records) });
    } catch (error) {
      throw new KafkaWriteError(errorMessage(error), isRetriableKafkajsError(error), { cause: error });
    }
    return {
      partitions: records.map(({ topic, message }) => this.partitionOf(topic, message)),
      acknowledged: answer.map(({ topicName, partition }) => ({ topic: topicName, partition })),
    };
  }
}

/**
 * Whether kafkajs's failure may go away. kafkajs wraps the last error of its exhausted retries
 * in a KafkaJSNumberOfRetriesExceeded (and others in a KafkaJSNonRetriableError), both marked
 * not retriable; what counts is the innermost error: a NOT_LEADER, a timeout or a lost
 * connection stays retriable, a MESSAGE_TOO_LARGE does not.
 */
export function isRetriableKafkajsError(error: unknown): boolean {
  let innermost: unknown = error;
  for (let depth = 0; depth < 10; depth += 1) {
    const cause = (innermost as { cause?: unknown } | null)?.cause;
    if (!(cause instanceof Error)) break;
    innermost = cause;
  }
  const retriable = (innermost as { retriable?: unknown } | null)?.retriable;
  return typeof retriable === 'boolean' ? retriable : isRetriable(innermost);
}

function groupByTopic(records: readonly OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const { topic, message } of records) {
    let messages = byTopic.get(topic);
    if (!messages) byTopic.set(topic, (messages = []));
    messages.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
