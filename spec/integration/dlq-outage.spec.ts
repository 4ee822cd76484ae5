import { expect } from 'chai';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { pipe } from 'rxjs';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { validate } from '../../lib/operators/validate.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import { PRODUCER_CLIENTS, type ProducerClient } from '../../lib/config/schema.js';
import type { KafkaEventService } from '../../lib/kafka/kafka-service.js';
import { kafkajsWriter } from '../../lib/kafka/sinks/kafkajs-writer.js';
import { platformaticWriter } from '../../lib/kafka/sinks/platformatic-writer.js';
import type { RecordWriter } from '../../lib/sinks/record-writer.js';
import { inProcessService, metricValue } from './support/in-process-service.js';
import {
  committedOffsets,
  createTopic,
  endOffsets,
  fetchGroupOffsets,
  randomName,
  testBrokers,
  testKafka,
} from './support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { header, readTopic, sleep } from './support/topic-reader.js';

/**
 * DESIGN invariant 6: nothing is lost when the DLQ is down. A dead letter that cannot be
 * written keeps its message unsettled: its offset is never committed, the service reports
 * not-ready, and once the topic exists the letters arrive and the commits catch up.
 */
describe('a dead-letter topic that is down', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  /**
   * The service's own client. kafkajs's producer retries a missing topic internally before a
   * write fails: 7 to 10 s with the default retry settings. Shorter ones (a failure every
   * second or two) let the outage span many dead-letter write attempts in a few seconds, so a
   * sink that gave up after a few attempts (and settled the message anyway) would be caught.
   */
  let serviceKafka: Kafka;
  /** The writers of each client, with retries as short as serviceKafka's. */
  const writers: Record<ProducerClient, () => RecordWriter> = {
    kafkajs: () => kafkajsWriter(serviceKafka),
    platformatic: () =>
      platformaticWriter({
        clientId: 'myeventstream-dlq-outage',
        brokers: testBrokers(),
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      }),
  };
  let service: KafkaEventService | undefined;
  before(() => {
    kafka = testKafka();
    serviceKafka = new Kafka({
      clientId: 'myeventstream-dlq-outage',
      brokers: testBrokers(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  const PARTITIONS = 3;
  const TOTAL = 330;
  const schema = { type: 'object', required: ['Id'], properties: { Id: { type: 'string', minLength: 1 } } };
  // The kinds of bad message, cycled, with the error code each must carry into the DLQ.
  const BAD_KINDS: Array<{ value: Buffer; code: string }> = [
    { value: Buffer.from('{"Id": "x"'), code: 'INVALID_JSON' },
    { value: Buffer.alloc(0), code: 'EMPTY_VALUE' },
    { value: Buffer.from(JSON.stringify({ name: 'no id' })), code: 'SCHEMA_VIOLATION' },
    { value: Buffer.from(JSON.stringify({ Id: '' })), code: 'SCHEMA_VIOLATION' },
  ];

  interface Bad {
    key: string;
    partition: number;
    offset: string;
    code: string;
  }

  /**
   * 300 valid events and 30 bad ones at known positions: message i goes to partition i % 3, so
   * on a fresh topic its offset is i / 3 (rounded down). Bad ones sit at i = 30, 40, ..., 320.
   */
  function backlog(): { messages: Message[]; bad: Bad[] } {
    const messages: Message[] = [];
    const bad: Bad[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const partition = i % PARTITIONS;
      const offset = String(Math.floor(i / PARTITIONS));
      if (i >= 30 && i % 10 === 0) {
        const k = bad.length;
        const kind = BAD_KINDS[k % BAD_KINDS.length]!;
        bad.push({ key: `bad-${k}`, partition, offset, code: kind.code });
        messages.push({ key: `bad-${k}`, value: kind.value, partition });
      } else {
        messages.push({ key: `ok-${i}`, value: JSON.stringify({ Id: `id-${i}` }), partition });
      }
    }
    return { messages, bad };
  }

  async function keepsUncommittedAndRecovers(client: ProducerClient): Promise<void> {
    const topic = randomName('events');
    const dlqTopic = randomName('dlq');
    const groupId = randomName('group');
    await createTopic(kafka, topic, PARTITIONS);
    const { messages, bad } = backlog();
    expect(bad).to.have.length(30);
    await produceAll(kafka, topic, messages);
    const ends = await endOffsets(kafka, topic);
    expect(Object.fromEntries(ends)).to.deep.equal({ 0: '110', 1: '110', 2: '110' });

    // The first bad message of each partition: the commit may reach it but never pass it.
    const firstBad = new Map<number, bigint>();
    for (const { partition, offset } of bad) {
      if (!firstBad.has(partition)) firstBad.set(partition, BigInt(offset));
    }
    expect([...firstBad.keys()].sort()).to.deep.equal([0, 1, 2]);

    const pipeline = definePipeline(() => pipe(decodeJson(), validate(schema)));
    const settings = {
      topic,
      dlqTopic, // not created yet
      groupId,
      // A message waiting for its dead letter holds its worker. With fewer workers than bad
      // messages the whole service stalls during the outage (safe, but then nothing after the
      // first bad messages is processed); more workers than bad messages let every valid event
      // through, so the commits can be seen stopping exactly at the first bad message.
      workerPoolSize: 40,
      commitIntervalMs: 50,
      retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500, multiplier: 2, jitter: 0.2 },
    };
    service = inProcessService(serviceKafka, pipeline, settings, undefined, writers[client]());
    const started = Date.now();
    await service.start();

    // The outage lasts until every dead letter failed several times over (the writes of the
    // held letters are batched, so they fail together), at least 8 s. The committed offsets
    // are read about every 50 ms, with one admin client, and each one is checked.
    const violations: string[] = [];
    const failureCounts: number[] = [0];
    const dlqReasons = new Set<string>();
    let reachedFirstBad = false;
    let notReadySeen = false;
    let polls = 0;
    const outageDeadline = Date.now() + 45_000;
    const admin = kafka.admin();
    await admin.connect();
    try {
      while (Date.now() < outageDeadline) {
        const [entry] = await fetchGroupOffsets(admin, groupId, topic);
        const committed = new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
        polls += 1;
        for (const [partition, offset] of committed) {
          if (offset === '-1') continue;
          const limit = firstBad.get(partition)!;
          if (BigInt(offset) > limit)
            violations.push(`partition ${partition}: committed ${offset} > ${limit}`);
        }
        reachedFirstBad = [...firstBad].every(([p, limit]) => committed.get(p) === limit.toString());

        const failures = await metricValue(service, 'myeventstream_dlq_write_failures_total');
        if (failures !== failureCounts.at(-1)) failureCounts.push(failures);

        const { ready, reasons } = service.readiness.readiness();
        const dlq = reasons.filter((reason) => reason.startsWith('dlq:'));
        if (!ready && dlq.length > 0) notReadySeen = true;
        for (const reason of dlq) dlqReasons.add(reason);

        const manyFailures = failures >= 4 * bad.length && failureCounts.length >= 3;
        if (reachedFirstBad && notReadySeen && manyFailures && Date.now() - started > 8000) break;
        await sleep(50);
      }
    } finally {
      await admin.disconnect();
    }
    const outageMs = Date.now() - started;

    expect(violations, 'commits past an unwritten dead letter').to.deep.equal([]);
    expect(polls).to.be.greaterThan(50);
    // Everything before the first bad message was committed: commits did run during the outage.
    expect(reachedFirstBad, 'committed offsets reached the first bad message of every partition').to.equal(
      true,
    );
    expect(notReadySeen, 'readiness reported the DLQ as not ready').to.equal(true);
    expect([...dlqReasons].join(' | ')).to.match(/dlq: dead-letter writes failing/);
    // The failure counter rose (0 → a → b ..., strictly increasing) to several per letter.
    expect(failureCounts.length, `failure counts seen: ${failureCounts.join(', ')}`).to.be.at.least(3);
    expect(failureCounts.at(-1)).to.be.at.least(4 * bad.length);
    expect(failureCounts).to.deep.equal([...failureCounts].sort((a, b) => a - b));
    // All valid events were processed; not one bad message counted as dead-lettered.
    expect(await metricValue(service, 'events_processed_total')).to.equal(TOTAL - bad.length);
    expect(await metricValue(service, 'dlq_messages_total')).to.equal(0);
    expect(service.readiness.readiness().ready).to.equal(false);

    // The DLQ comes back.
    await createTopic(kafka, dlqTopic, 1);
    const letters = await readTopic(kafka, dlqTopic, bad.length, { timeoutMs: 60_000, settleMs: 1000 });
    const byKey = new Map(letters.map((letter) => [letter.key!.toString(), letter]));
    expect(letters).to.have.length(bad.length);
    expect([...byKey.keys()].sort()).to.deep.equal(bad.map(({ key }) => key).sort());
    for (const { key, partition, offset, code } of bad) {
      const letter = byKey.get(key)!;
      expect(header(letter, 'error_code'), key).to.equal(code);
      expect(header(letter, 'original_topic'), key).to.equal(topic);
      expect(header(letter, 'original_partition'), key).to.equal(String(partition));
      expect(header(letter, 'original_offset'), key).to.equal(offset);
      expect(header(letter, 'consumer_group'), key).to.equal(groupId);
    }

    const { committed } = await waitForCommitsAtEnd(async () => ({
      committed: await committedOffsets(kafka, groupId, topic),
      ends,
    }));
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
    expect(await metricValue(service, 'dlq_messages_total')).to.equal(bad.length);

    // Readiness follows: the DLQ condition is ok again (and nothing else is wrong).
    let report = service.readiness.readiness();
    for (let i = 0; i < 50 && !report.ready; i++) {
      await sleep(100);
      report = service.readiness.readiness();
    }
    expect(report.reasons.filter((reason) => reason.startsWith('dlq:'))).to.deep.equal([]);
    expect(report).to.deep.equal({ ready: true, reasons: [] });
    console.log(
      `      outage ${outageMs} ms, ${polls} commit polls, DLQ write failures: ${failureCounts.at(-1)}`,
    );
  }

  for (const client of PRODUCER_CLIENTS) {
    it(`keeps the offsets of unwritten dead letters uncommitted, reports not-ready, and recovers (${client} producer)`, () =>
      keepsUncommittedAndRecovers(client));
  }
});
