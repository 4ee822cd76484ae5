import type { Kafka } from 'kafkajs';
import { expect } from 'chai';
import { defer, map, pipe } from 'rxjs';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { process } from '../../lib/operators/process.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import { committedOffsets, createTopic, endOffsets, randomName, testKafka } from './support/kafka.js';
import { inProcessService, metricValue } from './support/in-process-service.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { sleep } from './support/topic-reader.js';

describe('commits and backpressure against the broker', function () {
  this.timeout(180_000);
  let kafka: Kafka;
  before(() => (kafka = testKafka()));

  async function backlog(partitions: number, count: number) {
    const topic = randomName('events');
    const dlqTopic = randomName('dlq');
    await createTopic(kafka, topic, partitions);
    await createTopic(kafka, dlqTopic, 1);
    const messages = Array.from({ length: count }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ Id: `${i}` }),
    }));
    await produceAll(kafka, topic, messages);
    return { topic, dlqTopic, groupId: randomName('group') };
  }

  /**
   * Polls the group's committed offsets until they reach the end of the topic. The committed
   * offset is read first, then compared with what had finished by then: a commit is safe when
   * every lower offset finished before it was read.
   */
  async function watchCommitsToTheEnd(groupId: string, topic: string, finished: Map<number, Set<string>>) {
    const violations: string[] = [];
    let checks = 0;
    let commitsSeen = 0;
    const ends = await endOffsets(kafka, topic);
    for (;;) {
      const committed = await committedOffsets(kafka, groupId, topic);
      for (const [partition, offset] of committed) {
        if (offset === '-1') continue;
        commitsSeen += 1;
        const done = finished.get(partition) ?? new Set<string>();
        for (let o = 0n; o < BigInt(offset); o++) {
          if (!done.has(o.toString()))
            violations.push(`partition ${partition}: committed ${offset} but ${o} unfinished`);
        }
      }
      checks += 1;
      if ([...ends].every(([p, end]) => committed.get(p) === end)) break;
      await sleep(20);
    }
    return { violations, checks, commitsSeen };
  }

  it('never commits past an offset that is still being processed', async () => {
    const { topic, dlqTopic, groupId } = await backlog(3, 3000);
    const finished = new Map<number, Set<string>>();
    const pipeline = definePipeline(() =>
      pipe(
        decodeJson(),
        process(async (_event, delivery) => {
          await sleep(Math.random() * 30);
          let done = finished.get(delivery.partition);
          if (!done) finished.set(delivery.partition, (done = new Set()));
          done.add(delivery.offset);
        }),
      ),
    );
    const service = inProcessService(kafka, pipeline, {
      topic,
      dlqTopic,
      groupId,
      workerPoolSize: 20,
      commitIntervalMs: 50,
    });
    await service.start();

    const { violations, checks, commitsSeen } = await watchCommitsToTheEnd(groupId, topic, finished);
    await service.stop();

    expect(violations).to.deep.equal([]);
    expect(checks).to.be.greaterThan(3);
    expect(commitsSeen).to.be.greaterThan(3);
  });

  it('never commits past a message whose handed-over output write is not acknowledged yet', async () => {
    const { topic, dlqTopic, groupId } = await backlog(3, 3000);
    const outputTopic = randomName('out');
    await createTopic(kafka, outputTopic, 3);
    const acknowledged = new Map<number, Set<string>>();
    // The chain completes at once; each message's write is handed over and acknowledged 0-40 ms
    // later, out of order, so the worker lets go long before its message may be committed.
    const pipeline = definePipeline((ctx) =>
      pipe(
        decodeJson(),
        map((delivery) => {
          delivery.settleAfter!(
            defer(async () => {
              await sleep(Math.random() * 40);
              await ctx.produce(outputTopic, { key: delivery.key, value: delivery.value });
              let done = acknowledged.get(delivery.partition);
              if (!done) acknowledged.set(delivery.partition, (done = new Set()));
              done.add(delivery.offset);
            }),
          );
          return delivery;
        }),
      ),
    );
    const service = inProcessService(kafka, pipeline, {
      topic,
      dlqTopic,
      groupId,
      outputTopic,
      workerPoolSize: 5,
      // Messages awaiting acknowledgements hold their credits: a small buffer keeps the run long
      // enough for many commits.
      queueBufferSize: 50,
      commitIntervalMs: 50,
    });
    await service.start();

    const { violations, checks, commitsSeen } = await watchCommitsToTheEnd(groupId, topic, acknowledged);
    await service.stop();

    expect(violations).to.deep.equal([]);
    expect(checks).to.be.greaterThan(3);
    expect(commitsSeen).to.be.greaterThan(3);
    const written = [...(await endOffsets(kafka, outputTopic)).values()].reduce((a, b) => a + Number(b), 0);
    expect(written).to.equal(3000);
  });

  it('holds no more than QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE messages however big the backlog', async () => {
    const { topic, dlqTopic, groupId } = await backlog(3, 3000);
    const pipeline = definePipeline(() =>
      pipe(
        decodeJson(),
        process(() => sleep(5)),
      ),
    );
    const [queueBufferSize, workerPoolSize] = [100, 5];
    const service = inProcessService(kafka, pipeline, {
      topic,
      dlqTopic,
      groupId,
      queueBufferSize,
      workerPoolSize,
    });
    await service.start();

    let maxHeld = 0;
    let maxWaiting = 0;
    let settled = 0;
    while (settled < 3000) {
      const ingested = await metricValue(service, 'events_ingested_total');
      settled =
        (await metricValue(service, 'events_processed_total')) +
        (await metricValue(service, 'dlq_messages_total'));
      maxHeld = Math.max(maxHeld, ingested - settled);
      maxWaiting = Math.max(maxWaiting, await metricValue(service, 'queue_depth'));
      await sleep(5);
    }
    const { committed, ends } = await waitForCommitsAtEnd(async () => ({
      committed: await committedOffsets(kafka, groupId, topic),
      ends: await endOffsets(kafka, topic),
    }));
    await service.stop();

    expect(maxHeld).to.be.at.most(queueBufferSize + workerPoolSize);
    expect(maxWaiting).to.be.at.most(queueBufferSize);
    // The bound was actually reached: intake waited rather than the backlog being small.
    expect(maxHeld).to.be.at.least(queueBufferSize);
    expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
  });
});
