import { expect } from 'chai';
import type { Kafka, Message } from 'kafkajs';
import { join } from 'node:path';
import { PRODUCER_CLIENTS, type ProducerClient } from '../../lib/config/schema.js';
import { projectRoot } from '../../lib/project-root.js';
import { committedOffsets, createServiceTopics, endOffsets, randomName, testKafka } from './support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { ServiceProcess } from './support/service-process.js';
import { header, readTopic } from './support/topic-reader.js';

describe('the service process', function () {
  this.timeout(240_000);
  let kafka: Kafka;
  before(() => (kafka = testKafka()));
  let services: ServiceProcess[] = [];

  afterEach(async () => {
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((s) => s.exited));
    services = [];
  });

  const topics = (partitions = 6) => createServiceTopics(kafka, partitions);

  function start(env: Record<string, string>): ServiceProcess {
    const service = new ServiceProcess({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      COMMIT_INTERVAL_MS: '200',
      ...env,
    });
    services.push(service);
    return service;
  }

  /** The default pipeline end to end, its writes through `client`'s producer. */
  async function forwardsAndDeadLetters(client: ProducerClient): Promise<void> {
    const names = await topics();
    const groupId = randomName('group');
    const valid: Message[] = Array.from({ length: 10_000 }, (_, i) => ({
      key: `valid-${i}`,
      value: JSON.stringify({ Id: `id-${i}`, n: i }),
    }));
    const malformedValues = [
      Buffer.from('{"Id": "x"'),
      Buffer.from([0x7b, 0x22, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      Buffer.from('not json at all'),
      Buffer.alloc(0),
    ];
    const malformed: Message[] = Array.from({ length: 100 }, (_, i) => ({
      key: `malformed-${i}`,
      value: malformedValues[i % malformedValues.length]!,
    }));
    const invalid: Message[] = Array.from({ length: 100 }, (_, i) => ({
      key: `invalid-${i}`,
      value: JSON.stringify(i % 2 === 0 ? { Id: '' } : { name: 'no id' }),
    }));
    // Bad messages interleaved with good ones, so dead letters happen mid-stream on every partition.
    const all = [...valid];
    [...malformed, ...invalid].forEach((message, i) => all.splice(i * 50, 0, message));
    await produceAll(kafka, names.source, all);

    const service = start({
      KAFKA_TOPIC: names.source,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      KAFKA_PRODUCER_CLIENT: client,
    });

    const output = await readTopic(kafka, names.output, valid.length, { timeoutMs: 120_000 });
    const outputKeys = new Set(output.map((m) => m.key!.toString()));
    expect(outputKeys.size).to.equal(valid.length);
    expect([...outputKeys].every((key) => key.startsWith('valid-'))).to.equal(true);
    const sample = output.find((m) => m.key!.toString() === 'valid-7')!;
    expect(JSON.parse(sample.value!.toString())).to.deep.equal({ Id: 'id-7', n: 7 });
    expect(header(sample, 'source_topic')).to.equal(names.source);
    // Source and output have 6 partitions: each key stays on the partition the source's producer
    // (kafkajs's default partitioner) put it on.
    const moved = output.filter((m) => String(m.partition) !== header(m, 'source_partition'));
    expect(moved.map((m) => m.key!.toString())).to.deep.equal([]);

    const dead = await readTopic(kafka, names.dlq, 200, { timeoutMs: 60_000, settleMs: 1000 });
    expect(dead).to.have.length(200);
    const byKey = new Map(dead.map((m) => [m.key!.toString(), m]));
    for (const message of malformed) {
      const letter = byKey.get(String(message.key))!;
      expect(letter, String(message.key)).to.not.equal(undefined);
      expect(Buffer.compare(letter.value ?? Buffer.alloc(0), message.value as Buffer)).to.equal(0);
      expect(header(letter, 'error_stage')).to.equal('decode');
      expect(header(letter, 'original_topic')).to.equal(names.source);
      expect(header(letter, 'consumer_group')).to.equal(groupId);
      expect(header(letter, 'retry_attempts')).to.equal('0');
      expect(header(letter, 'error_message')).to.be.a('string').and.not.equal('');
      expect(header(letter, 'original_offset')).to.match(/^\d+$/);
      expect(header(letter, 'original_partition')).to.match(/^\d+$/);
    }
    for (const message of invalid) {
      const letter = byKey.get(String(message.key))!;
      expect(header(letter, 'error_stage')).to.equal('validate');
      expect(header(letter, 'error_code')).to.equal('SCHEMA_VIOLATION');
      const violations = JSON.parse(header(letter, 'schema_errors')!) as Array<{
        keyword: string;
        path: string;
      }>;
      expect(violations[0]!.keyword).to.be.oneOf(['required', 'minLength']);
    }
    expect(new Set(dead.map((m) => header(m, 'error_code')))).to.include.members([
      'EMPTY_VALUE',
      'INVALID_UTF8',
      'INVALID_JSON',
    ]);

    const { committed, ends } = await waitForCommitsAtEnd(async () => ({
      committed: await committedOffsets(kafka, groupId, names.source),
      ends: await endOffsets(kafka, names.source),
    }));
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));

    // The metrics tell the same story: every message counted once, no lag left.
    const metrics = await (await fetch(`http://127.0.0.1:${await service.httpPort()}/metrics`)).text();
    const value = (pattern: RegExp) => [...metrics.matchAll(pattern)].map((m) => Number(m[1]));
    expect(value(/^events_processed_total\{[^}]*\} (\d+)$/gm)).to.deep.equal([valid.length]);
    expect(value(/^dlq_messages_total\{[^}]*\} (\d+)$/gm)).to.deep.equal([200]);
    expect(value(/^events_ingested_total\{[^}]*\} (\d+)$/gm)).to.deep.equal([all.length]);
    const lags = value(/^myeventstream_consumer_lag\{[^}]*\} (\d+)$/gm);
    expect(lags).to.have.length(6);
    expect(lags.every((lag) => lag === 0)).to.equal(true);

    service.kill('SIGTERM');
    expect((await service.exited).code).to.equal(0);
  }

  for (const client of PRODUCER_CLIENTS) {
    it(`forwards every valid event, dead-letters every bad one with its reason, and commits to the end (${client} producer)`, () =>
      forwardsAndDeadLetters(client));
  }

  it('drains on SIGTERM, exits 0, and a second run processes the rest with nothing lost', async () => {
    const names = await topics(3);
    const groupId = randomName('group');
    const count = 3000;
    await produceAll(
      kafka,
      names.source,
      Array.from({ length: count }, (_, i) => ({ key: `k-${i}`, value: JSON.stringify({ Id: `id-${i}` }) })),
    );
    const env = {
      KAFKA_TOPIC: names.source,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      PIPELINE: join(projectRoot(), 'spec', 'integration', 'fixtures', 'slow-pipeline.js'),
      FIXTURE_DELAY_MS: '20',
    };
    const first = start(env);
    await first.waitForLog((line) => line.message === 'Joined the consumer group');
    // Let it get going: with 10 workers at 20 ms each, a second is about a sixth of the topic.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.kill('SIGTERM');
    const exit = await first.exited;
    expect(exit.code, first.stderr.join('')).to.equal(0);
    const shutDown = first.lines.find((line) => line.message === 'Shut down');
    expect(shutDown?.drained).to.equal(true);

    const afterFirst = await committedOffsets(kafka, groupId, names.source);
    const committedCount = [...afterFirst.values()].reduce((sum, offset) => sum + BigInt(offset), 0n);
    expect(Number(committedCount)).to.be.greaterThan(0).and.lessThan(count);

    start(env);
    const output = await readTopic(kafka, names.output, count, { timeoutMs: 120_000 });
    const keys = new Set(output.map((m) => m.key!.toString()));
    expect(keys.size).to.equal(count);
    const { committed, ends } = await waitForCommitsAtEnd(async () => ({
      committed: await committedOffsets(kafka, groupId, names.source),
      ends: await endOffsets(kafka, names.source),
    }));
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
  });
});
