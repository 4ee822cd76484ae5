import { expect } from 'chai';
import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSRequestTimeoutError,
  type Kafka,
  type ProducerBatch,
  type ProducerConfig,
  type RecordMetadata,
} from 'kafkajs';
import { BatchingProducer, UnacknowledgedWriteError } from '../../../lib/sinks/batching-producer.js';
import {
  isRetriableKafkajsError,
  KafkajsWriter,
  kafkajsWriter,
} from '../../../lib/kafka/sinks/kafkajs-writer.js';
import { recordingPartitioner } from '../../../lib/kafka/sinks/recording-partitioner.js';
import { KafkaWriteError, type OutgoingRecord } from '../../../lib/sinks/record-writer.js';
import { kafkajsProtocolError, retriesExceeded } from './support/kafkajs-errors.js';

const noPartitions = () => undefined;

describe('KafkajsWriter', () => {
  it('creates a producer that is not idempotent and creates no topics', () => {
    let config: ProducerConfig | undefined;
    const kafka = { producer: (given: ProducerConfig) => ((config = given), {}) } as unknown as Kafka;
    kafkajsWriter(kafka);
    expect(config).to.include({ idempotent: false, allowAutoTopicCreation: false });
    expect(config?.createPartitioner).to.be.a('function');
  });

  it('sends one sendBatch per write, acks from all replicas, messages grouped by topic in order', async () => {
    const batches: ProducerBatch[] = [];
    const producer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async (batch: ProducerBatch): Promise<RecordMetadata[]> => (batches.push(batch), []),
    };
    const writer = new KafkajsWriter(producer, noPartitions);
    const records: OutgoingRecord[] = [
      { topic: 'a', message: { key: 'k1', value: '1', headers: { h: 'x' } } },
      { topic: 'b', message: { key: null, value: '2' } },
      { topic: 'a', message: { key: 'k3', value: null } },
    ];
    await writer.write(records);
    await writer.write(records.slice(1, 2));
    expect(batches).to.deep.equal([
      {
        acks: -1,
        topicMessages: [
          { topic: 'a', messages: [records[0]!.message, records[2]!.message] },
          { topic: 'b', messages: [records[1]!.message] },
        ],
      },
      { acks: -1, topicMessages: [{ topic: 'b', messages: [records[1]!.message] }] },
    ]);
    // The message objects themselves, which the recording partitioner knows them by.
    expect(batches[0]!.topicMessages![0]!.messages[0]).to.equal(records[0]!.message);
  });

  it("answers with the partition kafkajs's partitioner picked for each record and the partitions in the broker's answer", async () => {
    const partitions = recordingPartitioner();
    const pick = partitions.createPartitioner();
    const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    const producer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      async sendBatch({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> {
        const picked = topicMessages!.flatMap(({ topic, messages }) =>
          messages.map((message) => pick({ topic, partitionMetadata, message })),
        );
        return [...new Set(picked)].map((partition) => ({ topicName: 'out', partition, errorCode: 0 }));
      },
    };
    const writer = new KafkajsWriter(producer, partitions.partitionOf);
    const records = ['k1', 'k2', 'k3', 'k4', 'k5'].map((key) => ({
      topic: 'out',
      message: { key, value: key },
    }));
    const answer = await writer.write(records);
    expect(answer.partitions).to.deep.equal(
      records.map(({ message }) => partitions.partitionOf('out', message)),
    );
    expect(answer.partitions.every((p) => typeof p === 'number')).to.equal(true);
    expect(answer.acknowledged).to.have.deep.members(
      [...new Set(answer.partitions)].map((partition) => ({ topic: 'out', partition })),
    );
  });

  it('under the batching producer, fails the messages of a partition kafkajs 2.2.4 left out of its answer', async () => {
    const partitions = recordingPartitioner();
    const pick = partitions.createPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    let answer: RecordMetadata[] = [];
    const producer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      // Picks partitions as kafkajs does, then answers like kafkajs 2.2.4 after a leader moved
      // onto a broker that had answered already: one partition is simply not in the answer.
      async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
        const picked = new Set<number>();
        for (const { topic, messages } of batch.topicMessages!)
          for (const message of messages) picked.add(pick({ topic, partitionMetadata, message }));
        const [dropped, ...kept] = [...picked].sort();
        expect(dropped).to.not.equal(undefined);
        answer = kept.map((partition) => ({ topicName: 'out', partition, errorCode: 0 }));
        return answer;
      },
    };
    const batching = new BatchingProducer(new KafkajsWriter(producer, partitions.partitionOf));
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `v${i}` }));
    const results = await Promise.allSettled(messages.map((message) => batching.send('out', message)));
    const acknowledged = new Set(answer.map(({ partition }) => partition));
    results.forEach((result, i) => {
      const partition = partitions.partitionOf('out', messages[i]!)!;
      if (acknowledged.has(partition)) expect(result.status, `message ${i}`).to.equal('fulfilled');
      else {
        expect(result.status, `message ${i}`).to.equal('rejected');
        expect((result as PromiseRejectedResult).reason).to.be.instanceOf(UnacknowledgedWriteError);
      }
    });
    expect(results.filter((r) => r.status === 'rejected').length).to.be.greaterThan(0);
  });

  it('fails a write with a KafkaWriteError that keeps the message and the cause', async () => {
    const refusal = kafkajsProtocolError('MESSAGE_TOO_LARGE', 10, false);
    const producer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: () => Promise.reject(refusal),
    };
    const failure = await new KafkajsWriter(producer, noPartitions)
      .write([{ topic: 'out', message: { key: null, value: 'x' } }])
      .catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(KafkaWriteError);
    expect(failure).to.include({ message: 'MESSAGE_TOO_LARGE', retriable: false, cause: refusal });
  });
});

describe('isRetriableKafkajsError', () => {
  it('judges by the innermost error, under the wrappers kafkajs marks not retriable', () => {
    const notLeader = kafkajsProtocolError('NOT_LEADER_FOR_PARTITION', 6, true);
    const exhausted = retriesExceeded(notLeader);
    expect((exhausted as KafkaJSError).retriable, 'kafkajs marks the wrapper').to.equal(false);
    expect(isRetriableKafkajsError(exhausted)).to.equal(true);
    expect(isRetriableKafkajsError(notLeader)).to.equal(true);
  });

  it('keeps timeouts and lost connections retriable', () => {
    const Timeout = KafkaJSRequestTimeoutError as unknown as new (message: string) => Error;
    expect(
      isRetriableKafkajsError(retriesExceeded(new Timeout('Request Produce(key: 0) timed out'))),
    ).to.equal(true);
    const lost = new KafkaJSConnectionError('Connection error: read ECONNRESET');
    expect(isRetriableKafkajsError(retriesExceeded(lost))).to.equal(true);
    expect(isRetriableKafkajsError(kafkajsProtocolError('REQUEST_TIMED_OUT', 7, true))).to.equal(true);
  });

  it("counts a broker's permanent refusal, and kafkajs's own refusals, as not retriable", () => {
    expect(isRetriableKafkajsError(kafkajsProtocolError('MESSAGE_TOO_LARGE', 10, false))).to.equal(false);
    expect(isRetriableKafkajsError(kafkajsProtocolError('TOPIC_AUTHORIZATION_FAILED', 29, false))).to.equal(
      false,
    );
    expect(isRetriableKafkajsError(new KafkaJSNonRetriableError('Invalid topic'))).to.equal(false);
  });

  it("counts an unknown topic as retriable, as kafkajs's retries do", () => {
    const unknown = kafkajsProtocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true);
    expect(isRetriableKafkajsError(retriesExceeded(unknown))).to.equal(true);
  });

  it('counts programming errors as permanent and other plain errors as retriable', () => {
    expect(isRetriableKafkajsError(new TypeError('x is not a function'))).to.equal(false);
    expect(isRetriableKafkajsError(new Error('something transient'))).to.equal(true);
  });
});
