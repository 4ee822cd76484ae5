import { expect } from 'chai';
import { CompressionTypes } from 'kafkajs';
import { committedOffsets, createTopic, endOffsets, randomName, testKafka } from './support/kafka.js';

describe('the test broker', function () {
  this.timeout(120_000);

  it('takes 1,000 messages on 3 partitions and records a group commit at the end offsets', async () => {
    const kafka = testKafka();
    const topic = randomName('proof');
    const groupId = randomName('proof-group');
    await createTopic(kafka, topic, 3);

    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ Id: String(i) }),
    }));
    await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.None });
    await producer.disconnect();

    const seen = new Set<string>();
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const allSeen = new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.add(message.key!.toString());
          await consumer.commitOffsets([
            { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
          ]);
          if (seen.size === messages.length) resolve();
        },
      });
    });
    await allSeen;
    await consumer.disconnect();

    expect(seen.size).to.equal(1000);
    const ends = await endOffsets(kafka, topic);
    const committed = await committedOffsets(kafka, groupId, topic);
    expect([...ends.keys()].sort()).to.deep.equal([0, 1, 2]);
    expect([...ends.values()].reduce((sum, high) => sum + BigInt(high), 0n)).to.equal(1000n);
    for (const [partition, high] of ends)
      expect(committed.get(partition), `partition ${partition}`).to.equal(high);
  });
});
