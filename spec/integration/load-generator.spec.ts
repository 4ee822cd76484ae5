import { expect } from 'chai';
import { keyPartition } from '../../lib/kafka/sinks/key-partitioner.js';
import {
  HEADER_KIND,
  HEADER_PRODUCED_AT,
  HEADER_RUN,
  HEADER_SEQ,
  runLoadTest,
} from '../../loadtest/load-test.js';
import { parseLoadTestArgs, type LoadTestOptions } from '../../loadtest/options.js';
import { createTopic, randomName, testBrokers, testKafka } from './support/kafka.js';
import { header, readTopic } from './support/topic-reader.js';

describe('the load generator against the broker', function () {
  this.timeout(120_000);

  it('writes every event it counts as produced once, with its headers, keyed events on Kafka’s partition for the key', async () => {
    // Made here, not at load: the suite's broker is known only once its global setup ran.
    const kafka = testKafka('load-generator-spec');
    const topic = randomName('loadgen');
    const partitions = 3;
    await createTopic(kafka, topic, partitions);
    const options = parseLoadTestArgs(
      ['--topic', topic, '--rate', '400', '--duration', '1', '--keys', 'uniform:20', '--seed', '7'],
      { KAFKA_BROKERS: testBrokers().join(',') },
    ) as LoadTestOptions;

    const result = await runLoadTest(options);

    expect(result.produced.errors).to.equal(0);
    expect(result.produced.count).to.equal(400);
    const records = await readTopic(kafka, topic, result.produced.count);
    expect(records).to.have.length(400);
    const seqs = records.map((record) => Number(header(record, HEADER_SEQ))).sort((a, b) => a - b);
    expect(seqs).to.deep.equal(Array.from({ length: 400 }, (_, i) => i));
    for (const record of records) {
      expect(header(record, HEADER_RUN)).to.equal(result.runId);
      expect(header(record, HEADER_KIND)).to.equal('ok');
      const producedAt = Number(header(record, HEADER_PRODUCED_AT));
      expect(producedAt).to.be.within(Date.parse(result.startedAt), Date.now());
      expect(record.key, 'a keyed event').to.not.equal(null);
      expect(record.partition).to.equal(keyPartition(record.key!, partitions));
    }
  });
});
