import type { Kafka } from 'kafkajs';
import { expect } from 'chai';
import { pipe, tap } from 'rxjs';
import type { ProcessingOrder, ProducerClient } from '../../lib/config/schema.js';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { process } from '../../lib/operators/process.js';
import type { Delivery } from '../../lib/core/delivery.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import { forwardTo } from '../../lib/pipeline/route-to.js';
import { platformaticWriter } from '../../lib/kafka/sinks/platformatic-writer.js';
import { inProcessService } from './support/in-process-service.js';
import {
  committedOffsets,
  createTopic,
  endOffsets,
  randomName,
  testBrokers,
  testKafka,
} from './support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { readTopic, sleep, type ReadMessage } from './support/topic-reader.js';

const KEYS = 20;
const PARTITIONS = 3;
const WORKERS = 10;

interface SequencedEvent {
  Id: string;
  key: string;
  seq: number;
}

/**
 * What the pipeline saw while it ran. A delivery *starts* with its first attempt and *ends*
 * once it passed the forward, so a retry's backoff counts as running: in the ordered modes the
 * lane stays held meanwhile. Attempts are counted apart: only they take a worker.
 */
class Observations {
  readonly violations: string[] = [];
  maxRunning = 0;
  maxAttempts = 0;
  private running = 0;
  private attempts = 0;
  private readonly started = new Set<string>();
  /** Per lane, the last delivery that ended: its key's seq, or its partition's offset. */
  private readonly lastEnded = new Map<string, bigint>();

  constructor(private readonly order: ProcessingOrder) {}

  /** Called on every attempt; only the first counts as the start. */
  attempt(event: SequencedEvent, delivery: Delivery): void {
    const id = `${delivery.partition}/${delivery.offset}`;
    if (this.started.has(id)) return;
    this.started.add(id);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    // In order means: the one before it in its lane has ended before this one starts.
    const [lane, position] = this.position(event, delivery);
    const before = this.lastEnded.get(lane) ?? -1n;
    if (before !== position - 1n) {
      this.violations.push(`${lane}: ${position} started after ${before} ended`);
    }
  }

  attemptStarted(): void {
    this.attempts += 1;
    this.maxAttempts = Math.max(this.maxAttempts, this.attempts);
  }

  attemptEnded(): void {
    this.attempts -= 1;
  }

  ended(event: SequencedEvent, delivery: Delivery): void {
    this.running -= 1;
    const [lane, position] = this.position(event, delivery);
    this.lastEnded.set(lane, position);
  }

  private position(event: SequencedEvent, delivery: Delivery): [string, bigint] {
    return this.order === 'partition'
      ? [`partition ${delivery.partition}`, BigInt(delivery.offset)]
      : [`key ${event.key}`, BigInt(event.seq)];
  }
}

/**
 * Per key, the seqs in the order of their first appearance in the output. The producer puts a
 * key always on the same partition, and a partition is read in order, so this is write order.
 */
function firstSeenSeqs(messages: ReadMessage[]): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  const counted = new Set<string>();
  for (const message of messages) {
    const { key, seq } = JSON.parse(message.value!.toString('utf8')) as SequencedEvent;
    if (counted.has(`${key}/${seq}`)) continue;
    counted.add(`${key}/${seq}`);
    let seqs = seen.get(key);
    if (!seqs) seen.set(key, (seqs = []));
    seqs.push(seq);
  }
  return seen;
}

describe('processing order against the broker', function () {
  this.timeout(60_000);
  let kafka: Kafka;
  before(() => (kafka = testKafka()));

  /**
   * 20 keys × `perKey` events on 3 partitions, each with its seq; the pipeline waits a random
   * few ms and fails about 10% of attempts transiently (at most twice per event, so none
   * exhausts its retries), then forwards the event to an output topic. Each forward waits for
   * the broker's ack, so a lane moves at one round trip per event: the partition runs, with
   * only three lanes, use fewer events to stay quick.
   */
  async function run(order: ProcessingOrder, perKey: number, client: ProducerClient = 'kafkajs') {
    const topic = randomName('events');
    const outputTopic = randomName('output');
    const dlqTopic = randomName('dlq');
    const groupId = randomName('group');
    await createTopic(kafka, topic, PARTITIONS);
    await createTopic(kafka, outputTopic, PARTITIONS);
    await createTopic(kafka, dlqTopic, 1);
    const messages = [];
    for (let seq = 0; seq < perKey; seq++) {
      for (let k = 0; k < KEYS; k++) {
        const event: SequencedEvent = { Id: `k${k}-${seq}`, key: `k${k}`, seq };
        messages.push({ key: event.key, value: JSON.stringify(event) });
      }
    }
    await produceAll(kafka, topic, messages);

    const observations = new Observations(order);
    const failures = new Map<string, number>();
    let transientFailures = 0;
    const pipeline = definePipeline((context) =>
      pipe(
        decodeJson<SequencedEvent>(),
        process(
          async (event: SequencedEvent, delivery) => {
            observations.attempt(event, delivery);
            observations.attemptStarted();
            try {
              await sleep(Math.random() * 4);
              const id = `${delivery.partition}/${delivery.offset}`;
              const failed = failures.get(id) ?? 0;
              if (failed < 2 && Math.random() < 0.1) {
                failures.set(id, failed + 1);
                transientFailures += 1;
                throw new Error('transient failure');
              }
            } finally {
              observations.attemptEnded();
            }
          },
          { retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 50 } },
        ),
        forwardTo(context.outputTopic!, context),
        tap((delivery) => observations.ended(delivery.event, delivery)),
      ),
    );
    const writer =
      client === 'platformatic'
        ? platformaticWriter({ clientId: 'ordering-spec', brokers: testBrokers() })
        : undefined;
    const service = inProcessService(
      kafka,
      pipeline,
      { topic, outputTopic, dlqTopic, groupId, order, workerPoolSize: WORKERS },
      undefined,
      writer,
    );
    await service.start();
    try {
      const output = await readTopic(kafka, outputTopic, KEYS * perKey, { timeoutMs: 30_000 });
      const { committed, ends } = await waitForCommitsAtEnd(async () => ({
        committed: await committedOffsets(kafka, groupId, topic),
        ends: await endOffsets(kafka, topic),
      }));
      return { output, committed, ends, observations, transientFailures };
    } finally {
      await service.stop();
    }
  }

  function expectEveryKeyInOrder(output: ReadMessage[], perKey: number): void {
    const seqs = firstSeenSeqs(output);
    const inOrder = Array.from({ length: perKey }, (_, seq) => seq);
    const outOfOrder = [...seqs].filter(([, list]) => list.join() !== inOrder.join()).map(([key]) => key);
    expect(seqs.size).to.equal(KEYS);
    expect(outOfOrder).to.deep.equal([]);
  }

  it("'key': each key's events are processed and forwarded in order, different keys concurrently", async () => {
    const perKey = 60;
    const { output, committed, ends, observations, transientFailures } = await run('key', perKey);

    expect(output).to.have.length(KEYS * perKey);
    expectEveryKeyInOrder(output, perKey);
    expect(observations.violations).to.deep.equal([]);
    // Keys ran alongside each other, their attempts within the pool (a key waiting out a
    // retry's backoff holds no worker, so more keys than workers can be under way); and
    // retries did happen.
    expect(observations.maxRunning).to.be.within(2, KEYS);
    expect(observations.maxAttempts).to.be.within(2, WORKERS);
    expect(transientFailures).to.be.greaterThan(30);
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
  });

  it("'key' through the platformatic producer: each key's events are forwarded in order", async () => {
    const perKey = 30;
    const { output, committed, ends, observations } = await run('key', perKey, 'platformatic');

    expect(output).to.have.length(KEYS * perKey);
    expectEveryKeyInOrder(output, perKey);
    expect(observations.violations).to.deep.equal([]);
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
  });

  it("'partition': each partition's events are processed one at a time, in offset order", async () => {
    const perKey = 25;
    const { output, committed, ends, observations, transientFailures } = await run('partition', perKey);

    expect(output).to.have.length(KEYS * perKey);
    expectEveryKeyInOrder(output, perKey);
    expect(observations.violations).to.deep.equal([]);
    expect(observations.maxRunning).to.be.within(2, PARTITIONS);
    expect(observations.maxAttempts).to.be.within(2, PARTITIONS);
    expect(transientFailures).to.be.greaterThan(15);
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
  });

  it("'unordered' does reorder the same events, so the checks above can tell", async () => {
    const perKey = 25;
    const { output, observations } = await run('unordered', perKey);

    expect(output).to.have.length(KEYS * perKey);
    expect(observations.violations).to.not.deep.equal([]);
    expect(() => expectEveryKeyInOrder(output, perKey)).to.throw();
  });
});
