import { expect } from 'chai';
import { Producer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { PRODUCER_CLIENTS, type ProducerClient } from '../../lib/config/schema.js';
import { keyPartition } from '../../lib/kafka/sinks/key-partitioner.js';
import { BatchingProducer } from '../../lib/sinks/batching-producer.js';
import { kafkajsWriter } from '../../lib/kafka/sinks/kafkajs-writer.js';
import { platformaticWriter } from '../../lib/kafka/sinks/platformatic-writer.js';
import { KafkaWriteError, type OutgoingRecord, type RecordWriter } from '../../lib/sinks/record-writer.js';
import { createTopic, randomName, testBrokers, testKafka } from './support/kafka.js';
import { produceAcksDuring } from './support/produce-acks.js';
import { readTopic, type ReadMessage } from './support/topic-reader.js';

/**
 * A writer of each client against the real broker, retrying a failed request once, soon: the
 * failures below are meant to come out, not to be waited through.
 */
function writerOf(client: ProducerClient): RecordWriter {
  if (client === 'kafkajs') {
    const kafka = new Kafka({
      clientId: 'record-writers-spec',
      brokers: testBrokers(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    });
    return kafkajsWriter(kafka);
  }
  return platformaticWriter({
    clientId: 'record-writers-spec',
    brokers: testBrokers(),
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
  });
}

/** What a reader sees of a record: where it went and everything it carries. */
function seen(message: ReadMessage) {
  const headers = Object.entries(message.headers ?? {}).map(([name, value]) => [
    name,
    Array.isArray(value) ? value.map(String) : value === undefined ? undefined : String(value),
  ]);
  return {
    partition: message.partition,
    key: message.key?.toString('hex') ?? null,
    value: message.value?.toString('hex') ?? null,
    headers,
  };
}

async function failureOf(write: Promise<unknown>): Promise<KafkaWriteError> {
  const failure = await write.then(
    () => expect.fail('the write succeeded'),
    (error: unknown) => error,
  );
  expect(failure).to.be.instanceOf(KafkaWriteError);
  return failure as KafkaWriteError;
}

describe('the record writers against the broker', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  const writers = new Map<ProducerClient, RecordWriter>();
  before(async () => {
    kafka = testKafka();
    for (const client of PRODUCER_CLIENTS) {
      const writer = writerOf(client);
      await writer.connect();
      writers.set(client, writer);
    }
  });
  after(async () => {
    for (const writer of writers.values()) await writer.disconnect();
  });
  const writer = (client: ProducerClient) => writers.get(client)!;

  it("both write the same records to the same partitions: a key where kafkajs's partitioner puts it", async () => {
    const records = (topic: string): OutgoingRecord[] =>
      Array.from({ length: 300 }, (_, i) => ({
        topic,
        message: {
          key: i % 3 === 0 ? Buffer.from(`bytes-${i}`) : `key-${i}`,
          value: i % 50 === 0 ? null : JSON.stringify({ Id: `id-${i}` }),
          headers: { trace: `t-${i}`, seen: ['a', Buffer.from('b')] },
        },
      }));
    const topics = new Map<ProducerClient, string>();
    const answers = new Map<ProducerClient, ReadonlyArray<number | undefined>>();
    for (const client of PRODUCER_CLIENTS) {
      const topic = randomName(`placement-${client}`);
      await createTopic(kafka, topic, 7);
      topics.set(client, topic);
      const answer = await writer(client).write(records(topic));
      answers.set(client, answer.partitions);
      expect(answer.acknowledged.map(({ partition }) => partition).sort(), client).to.deep.equal(
        [...new Set(answer.partitions)].sort(),
      );
    }
    const expected = records('x').map(({ message }) => keyPartition(message.key!, 7));
    expect(answers.get('kafkajs')).to.deep.equal(expected);
    expect(answers.get('platformatic')).to.deep.equal(expected);

    const read = async (client: ProducerClient) => {
      const messages = await readTopic(kafka, topics.get(client)!, 300);
      // The topic is new: a client that met a partition without its leader yet sends that
      // request again, and what the broker had taken of it is there twice (at-least-once).
      // Placement is the question here, and every key is unique: one record per key.
      const byKey = new Map(messages.map(seen).map((record) => [record.key, record]));
      return [...byKey.values()].sort((a, b) => a.key!.localeCompare(b.key!));
    };
    const [byKafkajs, byPlatformatic] = [await read('kafkajs'), await read('platformatic')];
    expect(byPlatformatic).to.deep.equal(byKafkajs);
    const sample = byPlatformatic.find(({ key }) => key === Buffer.from('key-7').toString('hex'))!;
    expect(sample.partition).to.equal(keyPartition('key-7', 7));
    expect(sample.headers).to.deep.equal([
      ['trace', 't-7'],
      ['seen', ['a', 'b']],
    ]);
  });

  it('both ask for acks from all in-sync replicas in every produce request they send', async () => {
    const topic = randomName('acks');
    await createTopic(kafka, topic, 3);
    for (const client of PRODUCER_CLIENTS) {
      const batching = new BatchingProducer(writer(client), { maxBatch: 10 });
      const acks = await produceAcksDuring(async () => {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => batching.send(topic, { key: `k-${i}`, value: 'v' })),
        );
      });
      // 50 messages in requests of at most 10, each request split per partition leader (one here).
      expect(acks.length, client).to.be.at.least(5);
      expect(new Set(acks), client).to.deep.equal(new Set([-1]));
    }
    // The tap reads the field: a request of each client asking for the leader's ack alone shows 1.
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const platformatic = new Producer({ clientId: 'record-writers-spec', bootstrapBrokers: testBrokers() });
    await producer.connect();
    const leaderOnly = await produceAcksDuring(async () => {
      await producer.send({ topic, acks: 1, messages: [{ value: 'v' }] });
      await platformatic.send({ acks: 1, messages: [{ topic, value: Buffer.from('v') }] });
    });
    await producer.disconnect();
    await platformatic.close();
    expect(leaderOnly).to.deep.equal([1, 1]);
  });

  it('both report a message the broker refuses as too large, permanently', async () => {
    const topic = randomName('small-messages');
    await createTopic(kafka, topic, 1, [{ name: 'max.message.bytes', value: '1000' }]);
    for (const client of PRODUCER_CLIENTS) {
      const message = { key: 'k', value: randomBytes(5000) };
      const failure = await failureOf(writer(client).write([{ topic, message }]));
      expect(failure.retriable, client).to.equal(false);
      expect(failure.message, client).to.match(/larger than the max message size/);
    }
  });

  it('both report a topic the broker does not know, retriably (it may be created)', async () => {
    const topic = randomName('absent');
    for (const client of PRODUCER_CLIENTS) {
      const failure = await failureOf(writer(client).write([{ topic, message: { key: 'k', value: 'v' } }]));
      expect(failure.retriable, client).to.equal(true);
    }
  });

  it("under the batching producer, both keep a key's large messages within the broker's limit per request", async () => {
    // Six 300 kB messages of one key: one record batch of 1.8 MB is above the broker's
    // message.max.bytes (1 MB); DEFAULT_MAX_BATCH_BYTES splits them over requests.
    const value = () => randomBytes(300 * 1024);
    for (const client of PRODUCER_CLIENTS) {
      const topic = randomName(`large-${client}`);
      await createTopic(kafka, topic, 3);
      const capped = new BatchingProducer(writer(client));
      await Promise.all(
        Array.from({ length: 6 }, () => capped.send(topic, { key: 'one-key', value: value() })),
      );
      const read = await readTopic(kafka, topic, 6);
      expect(new Set(read.map(({ partition }) => partition)), client).to.deep.equal(
        new Set([keyPartition('one-key', 3)]),
      );

      const uncapped = new BatchingProducer(writer(client), { maxBatchBytes: Number.POSITIVE_INFINITY });
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => uncapped.send(topic, { key: 'one-key', value: value() })),
      );
      expect(
        results.map(({ status }) => status),
        `${client}: without the cap the batch is refused`,
      ).to.deep.equal(Array(6).fill('rejected'));
    }
  });
});
