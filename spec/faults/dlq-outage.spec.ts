import { expect } from 'chai';
import type { Admin, Kafka, Message } from 'kafkajs';
import {
  createTopic,
  committedOffsets,
  endOffsets,
  LOG_APPEND_TIME,
  randomName,
  testKafka,
  withAdmin,
} from '../integration/support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from '../integration/support/produce.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { header, readTopic } from '../integration/support/topic-reader.js';
import { groupByKey, readAll, sleep } from './support/dlq-outage-kit.js';
import { exitWithin, isRunning, metric, readyz, scrape } from './support/service-probe.js';
import {
  expectCommitInvariants,
  watchServiceRun,
  type CommitWatcher as InvariantWatcher,
} from './support/commit-watcher.js';
import { recordScenario } from './support/report.js';

/**
 * DESIGN invariant 6 with the compiled service as separate processes: the dead-letter topic
 * disappears while the service runs (deleted; the broker never auto-creates topics), dead
 * letters cannot be written, and the service also gets restarted in the middle of the outage.
 * Checked from outside only, with an independent reader: the group's committed offsets never
 * pass the first unwritten dead letter of a partition, /readyz says 503 naming the DLQ, the
 * dead letters arrive once the topic is back, the commits reach the end, and every event is in
 * the output topic or the DLQ (spec/integration/dlq-outage.spec.ts covers the in-process view
 * with a DLQ missing from the start and no output topic).
 */
describe('fault: the dead-letter topic goes away while the service runs', function () {
  this.timeout(420_000);
  let kafka: Kafka;
  const services: ServiceProcess[] = [];
  let watcher: InvariantWatcher | undefined;
  before(() => (kafka = testKafka('dlq-outage-fault')));
  after(async () => {
    await watcher?.close();
    for (const service of services) if (await isRunning(service)) service.kill('SIGKILL');
    await Promise.all(services.map((service) => service.exited));
  });

  const PARTITIONS = 3;
  const PER_PHASE = 300;
  // The kinds of bad message, cycled, with the error code each dead letter must carry.
  const BAD_KINDS: Array<{ value: Buffer | null; code: string }> = [
    { value: Buffer.from('{"Id": "x"'), code: 'INVALID_JSON' },
    { value: null, code: 'EMPTY_VALUE' },
    { value: Buffer.from(JSON.stringify({ name: 'no id' })), code: 'SCHEMA_VIOLATION' },
    {
      value: Buffer.from([0x7b, 0x22, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
      code: 'INVALID_UTF8',
    },
  ];

  interface Bad {
    key: string;
    partition: number;
    offset: bigint;
    code: string;
  }

  /**
   * Message i goes to partition i % 3 at offset `base + i / 3`. In the outage phase the ones at
   * i = 30, 40, ..., 290 are bad (27 of them, each partition gets 9).
   */
  function phase(
    name: string,
    base: number,
    withBad: boolean,
  ): { messages: Message[]; bad: Bad[]; offsetOf(message: Message): bigint } {
    const messages: Message[] = [];
    const bad: Bad[] = [];
    for (let i = 0; i < PER_PHASE; i++) {
      const partition = i % PARTITIONS;
      const offset = BigInt(base + Math.floor(i / PARTITIONS));
      if (withBad && i >= 30 && i % 10 === 0) {
        const kind = BAD_KINDS[bad.length % BAD_KINDS.length]!;
        const key = `${name}-bad-${bad.length}`;
        bad.push({ key, partition, offset, code: kind.code });
        messages.push({ key, value: kind.value, partition, headers: { origin: 'dlq-outage-fault' } });
      } else {
        messages.push({ key: `${name}-ok-${i}`, value: JSON.stringify({ Id: `${name}-${i}` }), partition });
      }
    }
    return { messages, bad, offsetOf: (m) => BigInt(base + Math.floor(messages.indexOf(m) / PARTITIONS)) };
  }

  it('commits nothing past an unwritten dead letter, through a restart, and loses nothing', async () => {
    const started = Date.now();
    const names = { source: randomName('events'), output: randomName('out'), dlq: randomName('dlq') };
    const groupId = randomName('group');
    await createTopic(kafka, names.source, PARTITIONS);
    await createTopic(kafka, names.output, PARTITIONS, LOG_APPEND_TIME);
    await createTopic(kafka, names.dlq, PARTITIONS, LOG_APPEND_TIME);
    // Every commit of the scenario, judged against when each message was finished (the one
    // below checks where the commits stop during the outage).
    watcher = await watchServiceRun(kafka, groupId, names);
    const env = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      KAFKA_GROUP_ID: groupId,
      // More workers than bad messages: each bad message holds a worker while its dead letter
      // waits, and the valid events after it must still get through, so the commits can be
      // seen stopping exactly at the first bad message of each partition.
      WORKER_POOL_SIZE: '40',
      RETRY_BASE_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '3000',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const start = () => {
      const service = new ServiceProcess(env);
      services.push(service);
      return service;
    };

    // Before the outage: the service works, commits reach the end, /readyz says 200.
    const first = start();
    const firstPort = await first.httpPort();
    await first.waitForLog((line) => line.message === 'Joined the consumer group');
    const before = phase('before', 0, false);
    await produceAll(kafka, names.source, before.messages);
    await commitsAtEnd(kafka, groupId, names.source, 60_000);
    expect((await readyz(firstPort)).status, 'ready before the outage').to.equal(200);

    // The outage: the DLQ topic is deleted, then bad messages arrive among valid ones.
    await withAdmin(kafka, async (admin) => {
      await admin.deleteTopics({ topics: [names.dlq] });
      await waitForTopic(admin, names.dlq, false);
    });
    const outageStarted = Date.now();
    const during = phase('during', PER_PHASE / PARTITIONS, true);
    const { bad } = during;
    expect(bad).to.have.length(27);
    await produceAll(kafka, names.source, during.messages);
    const ends = await endOffsets(kafka, names.source);
    expect(Object.fromEntries(ends)).to.deep.equal({ 0: '200', 1: '200', 2: '200' });
    const firstBad = new Map<number, bigint>();
    for (const { partition, offset } of bad) if (!firstBad.has(partition)) firstBad.set(partition, offset);
    expect(Object.fromEntries([...firstBad].map(([p, o]) => [p, String(o)]))).to.deep.equal({
      0: '110',
      1: '113',
      2: '116',
    });

    const watch = new CommitWatch(kafka, groupId, names.source, firstBad);
    await watch.start();
    try {
      // First process: watched until the commits stopped at the first bad message of every
      // partition, /readyz said 503 for the DLQ, and the writes failed over and over.
      const firstOutage = await watchOutage(firstPort, watch, bad.length * 2, 15_000);
      expect(firstOutage.reasons.join(' | ')).to.match(/dlq: dead-letter writes failing/);

      // A restart in the middle of the outage: SIGTERM drains what it can and exits 0; the
      // unwritten dead letters stay uncommitted.
      first.kill('SIGTERM');
      const firstExit = await exitWithin(first, 60_000);
      expect(firstExit.code, 'graceful exit during the outage').to.equal(0);
      expect(watch.committedNow(), 'commits after the first process left').to.deep.equal(
        Object.fromEntries([...firstBad].map(([p, o]) => [p, String(o)])),
      );

      // A restart while the DLQ is still missing: start-up checks the topics and refuses, with
      // a line naming the missing one (an orchestrator keeps restarting it); nothing moves.
      const refused = start();
      const refusedExit = await exitWithin(refused, 60_000);
      expect(refusedExit.code, 'start-up with the DLQ topic missing').to.be.a('number').and.not.equal(0);
      expect(refused.stderr.join(''), 'the refusal names the DLQ topic').to.include(names.dlq);
      expect(refused.lines.some((line) => line.message === 'Consuming')).to.equal(false);
      await sleep(1000);
      expect(watch.committedNow(), 'commits after the refused start').to.deep.equal(
        Object.fromEntries([...firstBad].map(([p, o]) => [p, String(o)])),
      );
      const outageMs = Date.now() - outageStarted;

      // The DLQ comes back, and the service with it; from here on the commits may move.
      watch.stop();
      await watch.done;
      expect(watch.violations, 'commits past an unwritten dead letter').to.deep.equal([]);
      await createTopic(kafka, names.dlq, PARTITIONS, LOG_APPEND_TIME);
      const second = start();
      const secondPort = await second.httpPort();
      // Wait for the dead letters to arrive; they are counted below, with the output.
      await readTopic(kafka, names.dlq, bad.length, { timeoutMs: 120_000, settleMs: 0 });
      const { committed } = await waitForCommitsAtEnd(
        async () => ({ committed: await committedOffsets(kafka, groupId, names.source), ends }),
        60_000,
      );
      expect(Object.fromEntries(committed), 'commits reach the end after the outage').to.deep.equal(
        Object.fromEntries(ends),
      );
      let ready = await readyz(secondPort);
      for (let i = 0; i < 100 && ready.status !== 200; i++) {
        await sleep(200);
        ready = await readyz(secondPort);
      }
      expect(ready, 'ready again after the outage').to.deep.equal({ status: 200, reasons: [] });

      // Every dead letter, with its reason and origin.
      const letters = await readAll(kafka, names.dlq);
      const byKey = groupByKey(letters);
      for (const { key, partition, offset, code } of bad) {
        const copies = byKey.get(key);
        expect(copies, `dead letter ${key}`).to.not.equal(undefined);
        const letter = copies![0]!;
        expect(header(letter, 'error_code'), key).to.equal(code);
        expect(header(letter, 'original_topic'), key).to.equal(names.source);
        expect(header(letter, 'original_partition'), key).to.equal(String(partition));
        expect(header(letter, 'original_offset'), key).to.equal(String(offset));
        expect(header(letter, 'consumer_group'), key).to.equal(groupId);
        expect(header(letter, 'origin'), key).to.equal('dlq-outage-fault');
      }
      const strayLetters = [...byKey.keys()].filter((key) => !bad.some((b) => b.key === key));
      expect(strayLetters, 'valid events dead-lettered').to.deep.equal([]);

      // Every valid event in the output topic (duplicates allowed, counted).
      const validKeys = [...before.messages, ...during.messages]
        .map((message) => String(message.key))
        .filter((key) => !bad.some((b) => b.key === key));
      const output = await readAll(kafka, names.output);
      const outputByKey = groupByKey(output);
      const missingOutput = validKeys.filter((key) => !outputByKey.has(key));
      const missingLetters = bad.filter(({ key }) => !byKey.has(key)).map(({ key }) => key);
      const strayOutput = [...outputByKey.keys()].filter((key) => !validKeys.includes(key));
      const duplicates = output.length - outputByKey.size + (letters.length - byKey.size);
      // At-least-once: the restart re-reads each partition from its first pending dead letter,
      // so the valid events after it are forwarded again. No other event may be duplicated.
      const redelivered = new Set(
        during.messages
          .filter((m) => during.offsetOf(m) > firstBad.get(m.partition!)!)
          .map((m) => String(m.key)),
      );
      const unexplained = [...outputByKey]
        .filter(([key, copies]) => copies.length > 1 && !redelivered.has(key))
        .map(([key, copies]) => `${key} ×${copies.length}`);
      const lost = missingOutput.length + missingLetters.length;

      const secondStillUp = await isRunning(second);
      second.kill('SIGTERM');
      const secondExit = await exitWithin(second, 60_000);
      const verdict = await watcher.stop();
      watcher = undefined;
      const failures = firstOutage.failures;
      recordScenario({
        scenario: 'DLQ outage (service processes; DLQ topic deleted, restarts mid-outage, recreated)',
        events: PER_PHASE * 2,
        faults:
          `DLQ topic missing ${Math.round(outageMs / 1000)} s; ${bad.length} dead letters unwritable ` +
          `(${failures} failed writes); SIGTERM mid-outage, then a start-up refused (DLQ missing)`,
        lost,
        duplicates,
        watcher: verdict.summary,
        notes:
          `${watch.polls} commit polls, ${watch.violations.length} commits past a pending dead letter; ` +
          `/readyz 503 seen ${firstOutage.notReadyPolls} times; duplicates: ${output.length - outputByKey.size} ` +
          `valid events after a pending dead letter forwarded again after the restart, ` +
          `${letters.length - byKey.size} dead letters; ` +
          `run ${Math.round((Date.now() - started) / 1000)} s`,
      });

      expect(missingOutput, 'valid events missing from the output topic').to.deep.equal([]);
      expect(missingLetters, 'dead letters missing').to.deep.equal([]);
      expect(strayOutput, 'messages in the output that are not valid events').to.deep.equal([]);
      expect(lost).to.equal(0);
      expect(unexplained, 'duplicates the restart does not explain').to.deep.equal([]);
      expectCommitInvariants(verdict);
      expect(secondStillUp, 'the second process was still running').to.equal(true);
      expect(secondExit.code).to.equal(0);
      for (const service of services) {
        const failed = service.lines.filter(
          (line) => line.level === 'error' && /must be restarted/.test(line.message),
        );
        expect(failed, 'the service failed as a whole').to.deep.equal([]);
      }
    } finally {
      watch.stop();
      await watch.done;
    }
  });
});

/**
 * Polls the group's committed offsets with its own admin client, every ~100 ms, and records
 * any commit past the first bad message of a partition.
 */
class CommitWatch {
  readonly violations: string[] = [];
  polls = 0;
  done: Promise<void> = Promise.resolve();
  private latest = new Map<number, string>();
  private running = false;
  private readonly admin: Admin;

  constructor(
    kafka: Kafka,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly limits: Map<number, bigint>,
  ) {
    this.admin = kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    this.running = true;
    this.done = this.loop();
  }

  stop(): void {
    this.running = false;
  }

  committedNow(): Record<number, string> {
    return Object.fromEntries(this.latest);
  }

  /** Whether every partition's commit reached (and, by the violations, never passed) its limit. */
  atLimits(): boolean {
    return [...this.limits].every(([partition, limit]) => this.latest.get(partition) === String(limit));
  }

  private async loop(): Promise<void> {
    try {
      while (this.running) {
        const [entry] = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
        this.polls += 1;
        for (const { partition, offset } of entry?.partitions ?? []) {
          this.latest.set(partition, offset);
          const limit = this.limits.get(partition);
          if (offset !== '-1' && limit !== undefined && BigInt(offset) > limit) {
            this.violations.push(`partition ${partition}: committed ${offset} > ${limit}`);
          }
        }
        await sleep(100);
      }
    } finally {
      await this.admin.disconnect();
    }
  }
}

/**
 * Watches one service process during the outage until its commits sit at the first bad
 * messages, /readyz said 503 naming the DLQ, and its failed dead-letter writes reached
 * `minFailures` over at least two rounds of retries and `minMs`.
 */
async function watchOutage(
  port: number,
  watch: CommitWatch,
  minFailures: number,
  minMs: number,
): Promise<{ failures: number; notReadyPolls: number; reasons: string[] }> {
  const started = Date.now();
  const deadline = started + 120_000;
  const failureCounts = new Set<number>();
  let failures = 0;
  let notReadyPolls = 0;
  const reasons = new Set<string>();
  while (Date.now() < deadline) {
    const ready = await readyz(port);
    if (ready.status === 503 && ready.reasons.some((reason) => reason.startsWith('dlq:'))) {
      notReadyPolls += 1;
      for (const reason of ready.reasons) reasons.add(reason);
    }
    expect(ready.status, 'never ready while the DLQ is missing (once writes failed)').to.satisfy(
      (status: number) => status === 503 || failures === 0,
    );
    failures = metric(await scrape(port), 'myeventstream_dlq_write_failures_total');
    if (failures > 0) failureCounts.add(failures);
    const enough =
      watch.atLimits() &&
      notReadyPolls > 0 &&
      failures >= minFailures &&
      failureCounts.size >= 2 &&
      Date.now() - started >= minMs;
    if (enough) return { failures, notReadyPolls, reasons: [...reasons] };
    await sleep(250);
  }
  throw new Error(
    `outage not observed as expected: commits ${JSON.stringify(watch.committedNow())}, ` +
      `${failures} failed DLQ writes, /readyz 503 seen ${notReadyPolls} times, violations ${watch.violations.join('; ')}`,
  );
}

async function commitsAtEnd(kafka: Kafka, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  const ends = await endOffsets(kafka, topic);
  const { committed } = await waitForCommitsAtEnd(
    async () => ({ committed: await committedOffsets(kafka, groupId, topic), ends }),
    timeoutMs,
  );
  expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
}

async function waitForTopic(admin: Admin, topic: string, present: boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await admin.listTopics()).includes(topic) === present) return;
    await sleep(100);
  }
  throw new Error(`topic ${topic} still ${present ? 'missing' : 'present'}`);
}
