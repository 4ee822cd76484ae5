import { expect } from 'chai';
import type { Admin, Kafka, Message } from 'kafkajs';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import {
  createTopic,
  endOffsets,
  LOG_APPEND_TIME,
  randomName,
  testKafka,
} from '../integration/support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from '../integration/support/produce.js';
import { ServiceProcess, type LogLine } from '../integration/support/service-process.js';
import { header, readTopic, sleep, type ReadMessage } from '../integration/support/topic-reader.js';
import { expectCommitInvariants, watchServiceRun, type CommitWatcher } from './support/commit-watcher.js';
import { recordScenario } from './support/report.js';
import { seededRandom } from '../../loadtest/random.js';

/**
 * Crash loop: the compiled service is SIGKILLed at five random moments while it works through
 * a backlog of 50,000 events with a flaky pipeline, and restarted each time. An independent
 * reader then checks, message by message, that nothing was lost and that every extra copy is
 * explained by a kill: its offset was not yet committed when the process was killed.
 */

type Kind = 'valid' | 'malformed' | 'invalid';

interface SourceRecord {
  key: string;
  kind: Kind;
  partition: number;
  offset: string;
  value: Buffer | null;
}

interface Kill {
  /** Committed offsets of the group read just before the SIGKILL (a lower bound of the real ones). */
  committed: Map<number, string>;
  ends: Map<number, string>;
  /** Messages below the committed offsets, over all partitions. */
  committedCount: bigint;
  /** Group joins the killed process logged: more than one means a rebalance mid-run. */
  joins: number;
}

const TOTAL = 50_000;
const MALFORMED = 500; // 1 %: decode failures
const SCHEMA_INVALID = 500; // 1 %: schema violations
const KILLS = 5;
const PARTITIONS = 6;

const MALFORMED_VALUES = [
  Buffer.from('{"Id": "truncated'),
  Buffer.from([0x7b, 0x22, 0x49, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), // invalid UTF-8
  Buffer.from('not json at all'),
  Buffer.alloc(0),
];
const SCHEMA_INVALID_VALUES = [{ Id: '' }, { name: 'no id' }, { Id: 42 }, ['Id']];

describe('fault: crash loop (SIGKILL at random moments)', function () {
  this.timeout(540_000);
  let kafka: Kafka;
  let admin: Admin | undefined;
  let services: ServiceProcess[] = [];
  let watcher: CommitWatcher | undefined;
  before(() => (kafka = testKafka('crash-loop-spec')));

  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((s) => s.exited));
    services = [];
    await admin?.disconnect();
    admin = undefined;
  });

  it('loses nothing across five SIGKILLs, and every duplicate was uncommitted at a kill', async () => {
    const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = seededRandom(seed);
    const names = {
      source: randomName('crash-loop-events'),
      output: randomName('crash-loop-output'),
      dlq: randomName('crash-loop-dlq'),
    };
    await createTopic(kafka, names.source, PARTITIONS);
    await createTopic(kafka, names.output, PARTITIONS, LOG_APPEND_TIME);
    await createTopic(kafka, names.dlq, 3, LOG_APPEND_TIME);
    const groupId = randomName('crash-loop-group');
    watcher = await watchServiceRun(kafka, groupId, names);

    const kinds: Kind[] = [
      ...Array<Kind>(TOTAL - MALFORMED - SCHEMA_INVALID).fill('valid'),
      ...Array<Kind>(MALFORMED).fill('malformed'),
      ...Array<Kind>(SCHEMA_INVALID).fill('invalid'),
    ];
    shuffle(kinds, random);
    const messages: Message[] = kinds.map((kind, i) => ({ key: `${kind}-${i}`, value: valueOf(kind, i) }));
    await produceAll(kafka, names.source, messages);
    const ends = await endOffsets(kafka, names.source);
    expect(sum(ends)).to.equal(BigInt(TOTAL));

    const env = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      KAFKA_GROUP_ID: groupId,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      PIPELINE: join(projectRoot(), 'spec', 'faults', 'fixtures', 'flaky-pipeline.js'),
      FAULT_LATENCY_MIN_MS: '1',
      FAULT_LATENCY_MAX_MS: '20',
      FAULT_FAILURE_RATE: '0.05',
      WORKER_POOL_SIZE: '100',
      // With 5 % transient failures, the default 3 retries would send a valid event to the DLQ
      // (PROCESS_FAILED, by design) with probability 0.05^4 per event: about one run in four
      // would then see a valid event outside the output. Ten short retries make that 1e-13.
      RETRY_MAX_ATTEMPTS: '10',
      RETRY_BASE_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
      // A killed member stays in the group until its session expires: the restarted process
      // waits that long for its join. The broker's minimum is 6 s; 10 s leaves room for a
      // loaded machine without letting the five restarts dominate the run.
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    };
    const start = () => {
      const service = new ServiceProcess(env);
      services.push(service);
      return service;
    };
    admin = kafka.admin();
    await admin.connect();
    const committedNow = async () => {
      const [entry] = await admin!.fetchOffsets({ groupId, topics: [names.source] });
      return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
    };

    // Kill moments: once the committed progress passed a random share of the backlog, plus a
    // random pause; each process runs at least until it joined the group and a random while.
    // The shares stop at 70 %: a run that joins just below its share still has its pauses
    // (up to 0.8 s, about 8,000 events at this pipeline's pace) before the end of the backlog.
    const targets = Array.from({ length: KILLS }, () => 0.05 + random() * 0.65).sort((a, b) => a - b);
    const kills: Kill[] = [];
    // When each run first joined the group, by its own log line: it writes nothing before.
    const joinedAt: number[] = [];
    const started = Date.now();
    for (const target of targets) {
      const service = start();
      joinedAt.push(firstJoin(await service.waitForLog(isJoin, 120_000)));
      // The random while runs alongside the wait for the share, not before it: a pause spent
      // first would let a fast run finish the backlog before its kill.
      const runsAtLeastUntil = Date.now() + random() * 500;
      let exited = false;
      void service.exited.then(() => (exited = true));
      while (
        committedCount(await committedNow()) < BigInt(Math.floor(target * TOTAL)) ||
        Date.now() < runsAtLeastUntil
      ) {
        expect(exited, `the service exited before kill ${kills.length + 1}: ${tail(service)}`).to.equal(
          false,
        );
        await sleep(50);
      }
      await sleep(random() * 300);
      const killEnds = await endOffsets(kafka, names.source);
      const committed = await committedNow();
      service.kill('SIGKILL');
      const exit = await service.exited;
      expect(exit.signal, `kill ${kills.length + 1}: ${tail(service)}`).to.equal('SIGKILL');
      const count = committedCount(committed);
      // A kill after the whole backlog was committed would inject no fault.
      expect(count < BigInt(TOTAL), `kill ${kills.length + 1} came after the end`).to.equal(true);
      kills.push({ committed, ends: killEnds, committedCount: count, joins: joinsOf(service) });
    }
    const killsDoneMs = Date.now() - started;

    const last = start();
    const final = await waitForCommitsAtEnd(
      async () => ({ committed: await committedNow(), ends: await endOffsets(kafka, names.source) }),
      240_000,
    );
    const runMs = Date.now() - started;
    joinedAt.push(firstJoin(await last.waitForLog(isJoin)));

    // The independent reader: the source (to know each key's partition and offset), then
    // exactly as many messages from the output and the DLQ as their end offsets say exist.
    const source = await readTopic(kafka, names.source, TOTAL, { timeoutMs: 120_000 });
    const records = indexSource(source);
    expect(records.byKey.size, 'keys in the source').to.equal(TOTAL);
    const outputCount = Number(sum(await endOffsets(kafka, names.output)));
    const dlqCount = Number(sum(await endOffsets(kafka, names.dlq)));
    const output = await readTopic(kafka, names.output, outputCount, { timeoutMs: 120_000, settleMs: 1000 });
    const dead = await readTopic(kafka, names.dlq, dlqCount, { timeoutMs: 60_000, settleMs: 1000 });

    const ledger = tally(records, names.source, output, dead);
    const lost = [...records.byKey.values()].filter((r) => copiesOf(ledger, r).length === 0);
    const misrouted = [...records.byKey.values()].filter((r) =>
      (r.kind === 'valid' ? ledger.dlq : ledger.output).has(r.key),
    );
    // Which run wrote a copy (0-based here, 1-based in messages; run k ends with kill k, the
    // last run is the one left running): the broker stamps each record when it appends it
    // (LogAppendTime, for the commit watcher), a run writes nothing before it joined, and a
    // killed run's last requests are appended long before the next run has started and joined,
    // so a copy belongs to the last run that had joined by its timestamp.
    const runOf = (timestamp: number) =>
      Math.max(
        0,
        joinedAt.findLastIndex((at) => at <= timestamp),
      );
    const committedAtKill = (record: SourceRecord, kill: number) =>
      BigInt(record.offset) < BigInt(kills[kill]!.committed.get(record.partition) ?? '-1');
    let duplicates = 0;
    const unexplained: string[] = [];
    // Per kill: copies its run wrote of messages still uncommitted at the kill (work that a
    // restart does again), and the copies that were then indeed written again.
    const doneUncommitted = kills.map(() => 0);
    const redone = kills.map(() => 0);
    for (const record of records.byKey.values()) {
      const runs = copiesOf(ledger, record)
        .sort((a, b) => a - b)
        .map(runOf);
      for (const run of runs)
        if (run < kills.length && !committedAtKill(record, run)) doneUncommitted[run]! += 1;
      if (runs.length <= 1) continue;
      duplicates += runs.length - 1;
      const where = `${record.key} (${record.partition}:${record.offset}) written by runs ${runs.map((r) => r + 1).join(',')}`;
      // One copy per run at most, and every copy but the last written by a run that was killed
      // while the message was not committed: the snapshot was read before the kill, so it is
      // never above the real committed offset and this never blames a correct service.
      if (new Set(runs).size < runs.length) unexplained.push(`${where}: twice by one run`);
      for (const run of runs.slice(0, -1)) {
        if (run === kills.length) unexplained.push(`${where}: again after the last run`);
        else if (committedAtKill(record, run)) unexplained.push(`${where}: committed at kill ${run + 1}`);
        else redone[run]! += 1;
      }
    }
    const rejoins = kills.filter((k) => k.joins > 1).length + (joinsOf(last) > 1 ? 1 : 0);

    last.kill('SIGTERM');
    const lastExit = await last.exited;
    const verdict = await watcher.stop();
    watcher = undefined;

    recordScenario({
      scenario: 'crash loop',
      events: TOTAL,
      faults: `${kills.length} SIGKILL+restart, ${MALFORMED} malformed + ${SCHEMA_INVALID} schema-invalid, 1-20 ms latency, 5 % transient failures`,
      lost: lost.length,
      duplicates,
      duplicatesPerKill: Math.round(duplicates / KILLS),
      watcher: verdict.summary,
      notes:
        `seed ${seed}; kills at committed ${kills.map((k) => k.committedCount.toString()).join('/')}` +
        ` of ${TOTAL}; done but uncommitted at each kill ${doneUncommitted.join('/')}, of which written` +
        ` again ${redone.join('/')}; output ${outputCount},` +
        ` dlq ${dlqCount}; duplicates not explained by a kill ${unexplained.length}; misrouted` +
        ` ${misrouted.length}; stray ${ledger.stray.length}; processes that rejoined mid-run ${rejoins};` +
        ` kills done after ${killsDoneMs} ms, all committed after ${runMs} ms`,
    });

    expect(ledger.stray, 'output/DLQ messages that match no source message').to.deep.equal([]);
    expect(
      lost.slice(0, 20).map((r) => `${r.key} (${r.partition}:${r.offset})`),
      `${lost.length} lost`,
    ).to.deep.equal([]);
    expect(
      misrouted.slice(0, 20).map((r) => r.key),
      `${misrouted.length} valid events in the DLQ or invalid ones in the output`,
    ).to.deep.equal([]);
    expect(
      unexplained.slice(0, 20),
      `${unexplained.length} duplicates not explained by a kill`,
    ).to.deep.equal([]);
    expectCommitInvariants(verdict);
    expect(Object.fromEntries(final.committed), 'final committed offsets').to.deep.equal(
      Object.fromEntries(final.ends),
    );
    expect(lastExit.code, tail(last)).to.equal(0);
  });
});

function valueOf(kind: Kind, i: number): Buffer | string {
  if (kind === 'valid') return JSON.stringify({ Id: `id-${i}`, n: i });
  if (kind === 'malformed') return MALFORMED_VALUES[i % MALFORMED_VALUES.length]!;
  return JSON.stringify(SCHEMA_INVALID_VALUES[i % SCHEMA_INVALID_VALUES.length]);
}

function indexSource(messages: ReadMessage[]) {
  const byKey = new Map<string, SourceRecord>();
  const byPosition = new Map<string, SourceRecord>();
  for (const message of messages) {
    const key = message.key!.toString();
    const record: SourceRecord = {
      key,
      kind: key.slice(0, key.indexOf('-')) as Kind,
      partition: message.partition,
      offset: message.offset,
      value: message.value,
    };
    byKey.set(key, record);
    byPosition.set(`${record.partition}:${record.offset}`, record);
  }
  return { byKey, byPosition };
}

interface Ledger {
  /** Key → the timestamps of its copies. */
  output: Map<string, number[]>;
  dlq: Map<string, number[]>;
  /** Copies that name no source message, or another one than their key and bytes say. */
  stray: string[];
}

/** Counts the copies of each source message in the output and the DLQ, by their origin headers. */
function tally(
  records: ReturnType<typeof indexSource>,
  sourceTopic: string,
  output: ReadMessage[],
  dead: ReadMessage[],
): Ledger {
  const ledger: Ledger = { output: new Map(), dlq: new Map(), stray: [] };
  const count = (
    messages: ReadMessage[],
    into: Map<string, number[]>,
    names: { topic: string; partition: string; offset: string },
  ) => {
    for (const message of messages) {
      const key = message.key?.toString() ?? '<null>';
      const record = records.byPosition.get(
        `${header(message, names.partition)}:${header(message, names.offset)}`,
      );
      const sameBytes =
        Buffer.compare(message.value ?? Buffer.alloc(0), record?.value ?? Buffer.alloc(0)) === 0;
      if (!record || record.key !== key || !sameBytes || header(message, names.topic) !== sourceTopic) {
        ledger.stray.push(
          `${key} claims ${header(message, names.partition)}:${header(message, names.offset)}`,
        );
        continue;
      }
      const copies = into.get(key) ?? [];
      if (copies.length === 0) into.set(key, copies);
      copies.push(Number(message.timestamp));
    }
  };
  count(output, ledger.output, {
    topic: 'source_topic',
    partition: 'source_partition',
    offset: 'source_offset',
  });
  count(dead, ledger.dlq, {
    topic: 'original_topic',
    partition: 'original_partition',
    offset: 'original_offset',
  });
  return ledger;
}

/** Copies in the destination the message belongs in: the output when valid, else the DLQ. */
function copiesOf(ledger: Ledger, record: SourceRecord): number[] {
  return [...((record.kind === 'valid' ? ledger.output : ledger.dlq).get(record.key) ?? [])];
}

function committedCount(committed: Map<number, string>): bigint {
  let total = 0n;
  for (const offset of committed.values()) if (BigInt(offset) > 0n) total += BigInt(offset);
  return total;
}

function sum(offsets: Map<number, string>): bigint {
  let total = 0n;
  for (const offset of offsets.values()) total += BigInt(offset);
  return total;
}

const isJoin = (line: LogLine) => line.message === 'Joined the consumer group';

/** The moment the service logged its join (its own clock: this machine's, as the broker's). */
function firstJoin(line: LogLine): number {
  const at = Date.parse(String(line.timestamp));
  if (Number.isNaN(at)) throw new Error(`a join line without a timestamp: ${JSON.stringify(line)}`);
  return at;
}

function joinsOf(service: ServiceProcess): number {
  return service.lines.filter(isJoin).length;
}

function tail(service: ServiceProcess): string {
  return `stderr: ${service.stderr.join('').slice(-2000)}; last lines: ${JSON.stringify(service.lines.slice(-5))}`;
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
