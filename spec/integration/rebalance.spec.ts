import { expect } from 'chai';
import type { Admin, Kafka, Message } from 'kafkajs';
import { Writable } from 'node:stream';
import { pipe } from 'rxjs';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { process } from '../../lib/operators/process.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import type { KafkaEventService } from '../../lib/kafka/kafka-service.js';
import { inProcessService } from './support/in-process-service.js';
import {
  committedOffsets,
  createTopic,
  endOffsets,
  fetchGroupOffsets,
  randomName,
  testKafka,
} from './support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { sleep } from './support/topic-reader.js';

interface Join {
  at: number;
  /** The member's own count of group joins. */
  joins: number;
  partitions: number[];
}

/** An in-process service's log, parsed: its group joins above all. */
function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const joins: Join[] = [];
  let buffered = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (line.message === 'Joined the consumer group') {
          const assignment = line.assignment as Array<{ partitions: number[] }>;
          joins.push({
            at: Date.now(),
            joins: line.joins as number,
            partitions: assignment.flatMap((a) => a.partitions).sort((a, b) => a - b),
          });
        }
      }
      done();
    },
  });
  return { stream, lines, joins };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * DESIGN invariant 8: two members of one group share a backlog while the group rebalances
 * twice (a member joins; later the first one leaves gracefully). Nothing is lost, the commits
 * end at the end offsets, and no commit ever passes an offset that had not completed.
 */
describe('rebalances against the broker', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  let admin: Admin | undefined;
  const services: KafkaEventService[] = [];
  before(() => (kafka = testKafka()));
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop()));
    await admin?.disconnect();
    admin = undefined;
  });

  it('loses nothing and never commits past unfinished work when members join and leave', async () => {
    const PARTITIONS = 6;
    const COUNT = 6000;
    const topic = randomName('events');
    const dlqTopic = randomName('dlq');
    const groupId = randomName('group');
    await createTopic(kafka, topic, PARTITIONS);
    await createTopic(kafka, dlqTopic, 1);
    const messages: Message[] = Array.from({ length: COUNT }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ Id: `${i}` }),
      partition: i % PARTITIONS,
    }));
    await produceAll(kafka, topic, messages);
    const ends = await endOffsets(kafka, topic);
    expect([...ends.values()]).to.deep.equal(Array(PARTITIONS).fill(String(COUNT / PARTITIONS)));

    // Completions of both members (a message may complete twice after a rebalance).
    const completed = new Map<number, Set<string>>();
    const completedBy = { a: 0, b: 0 };
    const pipelineOf = (member: 'a' | 'b') =>
      definePipeline(() =>
        pipe(
          decodeJson(),
          process(async (_event, delivery) => {
            await sleep(Math.random() * 5);
            let done = completed.get(delivery.partition);
            if (!done) completed.set(delivery.partition, (done = new Set()));
            done.add(delivery.offset);
            completedBy[member] += 1;
          }),
        ),
      );
    const distinctCompleted = () => [...completed.values()].reduce((sum, done) => sum + done.size, 0);
    const settings = {
      topic,
      dlqTopic,
      groupId,
      // Few workers and a small buffer: the backlog lasts through both rebalances, and intake
      // waits for credits (heartbeating) while the group changes.
      workerPoolSize: 2,
      queueBufferSize: 50,
      commitIntervalMs: 50,
      sessionTimeoutMs: 10_000,
    };
    const logA = logCapture();
    const logB = logCapture();
    const a = inProcessService(kafka, pipelineOf('a'), settings, logA.stream);
    const b = inProcessService(kafka, pipelineOf('b'), settings, logB.stream);

    // Watches the group's commits throughout, with one admin client (about every 50 ms). The
    // committed offset is read first and then compared with what had completed by then: every
    // offset below it must have completed before the commit was made, so before the read.
    admin = kafka.admin();
    await admin.connect();
    const watcher = admin;
    const violations: string[] = [];
    const prefix = new Map<number, bigint>(); // per partition: lowest offset not completed yet
    let polls = 0;
    let commitsSeen = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [entry] = await fetchGroupOffsets(watcher, groupId, topic);
        polls += 1;
        for (const { partition, offset } of entry?.partitions ?? []) {
          if (offset === '-1') continue;
          commitsSeen += 1;
          const done = completed.get(partition) ?? new Set<string>();
          let lowest = prefix.get(partition) ?? 0n;
          while (done.has(lowest.toString())) lowest += 1n;
          prefix.set(partition, lowest);
          if (BigInt(offset) > lowest) {
            violations.push(`partition ${partition}: committed ${offset} but ${lowest} not completed`);
          }
        }
        await sleep(50);
      }
    })();

    try {
      // A alone, for a while.
      services.push(a);
      await a.start();
      await waitFor('the first member to make progress', () => completedBy.a >= 1000);

      // B joins: the group rebalances and A carries on with part of the partitions.
      services.push(b);
      await b.start();
      await waitFor('the group to rebalance', () => logA.joins.length >= 2 && logB.joins.length >= 1);
      const bCompletedBefore = completedBy.b;
      await waitFor('the second member to make progress', () => completedBy.b >= bCompletedBefore + 300);
      const remainingWhenAStops = COUNT - distinctCompleted();
      const aStoppedAt = Date.now();
      const bCompletedWhileAWasIn = completedBy.b;

      // A leaves gracefully while B continues: B gets every partition.
      await a.stop();
      await waitFor('the second member to own every partition', () =>
        logB.joins.some((join) => join.at > aStoppedAt && join.partitions.length === PARTITIONS),
      );

      const { committed } = await waitForCommitsAtEnd(async () => ({
        committed: await committedOffsets(kafka, groupId, topic),
        ends,
      }));
      watching = false;
      await watch;

      // No commit ever passed an offset that had not completed.
      expect(violations).to.deep.equal([]);
      expect(polls).to.be.greaterThan(20);
      expect(commitsSeen).to.be.greaterThan(20);

      // Nothing lost: every produced offset completed at least once, and the commits are at the end.
      for (const [partition, end] of ends) {
        const done = completed.get(partition) ?? new Set<string>();
        const missing: string[] = [];
        for (let offset = 0n; offset < BigInt(end); offset++) {
          if (!done.has(offset.toString())) missing.push(offset.toString());
        }
        expect(missing, `partition ${partition}: offsets never completed`).to.deep.equal([]);
      }
      expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));

      // The rebalances really happened, mid-backlog. A started with every partition and kept
      // only part of them after B joined; B got partitions while A was in and completed work
      // on them; after A left, B owned every partition and finished the backlog.
      const all = Array.from({ length: PARTITIONS }, (_, p) => p);
      expect(logA.joins[0]!.partitions).to.deep.equal(all);
      const aSecond = logA.joins[1]!;
      expect(aSecond.joins).to.equal(2);
      expect(aSecond.partitions.length).to.be.within(1, PARTITIONS - 1);
      const bFirst = logB.joins[0]!;
      expect(bFirst.at).to.be.lessThan(aStoppedAt);
      expect(bFirst.partitions.length).to.be.within(1, PARTITIONS - 1);
      expect([...aSecond.partitions, ...bFirst.partitions].sort((x, y) => x - y)).to.deep.equal(all);
      expect(bCompletedWhileAWasIn).to.be.greaterThan(0);
      expect(remainingWhenAStops, 'backlog left when the first member stopped').to.be.greaterThan(0);
      expect(logB.joins.at(-1)!.partitions).to.deep.equal(all);
      expect(logB.joins.at(-1)!.joins).to.be.greaterThan(bFirst.joins);
      expect(logA.lines.find((line) => line.message === 'Shut down')?.drained).to.equal(true);
      console.log(
        `      completions: A ${completedBy.a}, B ${completedBy.b} (${completedBy.a + completedBy.b - COUNT} repeated); ` +
          `${remainingWhenAStops} left when A stopped; ${polls} commit polls`,
      );
    } finally {
      watching = false;
      await watch.catch(() => undefined);
    }
  });
});
