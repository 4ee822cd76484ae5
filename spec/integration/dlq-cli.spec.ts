import { expect } from 'chai';
import type { IHeaders, Kafka, Message } from 'kafkajs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { boundedRead, createKafka } from '../../lib/cli/kafka-io.js';
import { DEAD_LETTER_HEADERS } from '../../lib/cli/letter.js';
import type { ReplayResult } from '../../lib/cli/replay.js';
import type { Summary } from '../../lib/cli/summary.js';
import { StageError, type ErrorCode, type Stage } from '../../lib/core/errors.js';
import { projectRoot } from '../../lib/project-root.js';
import { deadLetter } from '../../lib/sinks/dead-letter.js';
import { makeDelivery } from '../operators/support/delivery.js';
import {
  committedOffsets,
  createTopic,
  endOffsets,
  randomName,
  testBrokers,
  testKafka,
} from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { header, readTopic, sleep, type ReadMessage } from './support/topic-reader.js';

const CLI = join(projectRoot(), 'dist', 'lib', 'cli', 'main.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The compiled CLI as a child process; `env` adds to a clean environment holding KAFKA_BROKERS. */
function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: projectRoot(),
    env: {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: testBrokers().join(','),
      // The smallest the broker allows: a killed replay's membership expires quickly.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    ),
  );
  return { child, done };
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return start(args, env).done;
}

/** Runs the CLI, expects exit 0, and parses its JSON output. */
async function cliJson<T>(args: string[]): Promise<T> {
  const run = await cli([...args, '--json']);
  expect(run.code, `exit status; stderr: ${run.stderr}`).to.equal(0);
  return JSON.parse(run.stdout) as T;
}

const HOUR = 3_600_000;
const T0 = Date.parse('2026-01-10T08:00:00.000Z');

interface Kind {
  code: ErrorCode;
  stage: Stage;
  message: string;
}

const KINDS: Kind[] = [
  { code: 'INVALID_JSON', stage: 'decode', message: 'value is not JSON' },
  { code: 'EMPTY_VALUE', stage: 'decode', message: 'value is empty' },
  { code: 'SCHEMA_VIOLATION', stage: 'validate', message: 'event does not match the schema' },
  { code: 'PROCESS_FAILED', stage: 'process', message: 'process failed after 4 attempts: ECONNREFUSED' },
  // Error messages come from user code: this one would recolour and clear a terminal.
  {
    code: 'PROCESS_REJECTED',
    stage: 'process',
    message: 'rejected \u001b[31mred\u001b[0m \u001b[2J \u202eevil',
  },
];

/** One dead letter of the fixture, with what it was made from. */
interface Letter {
  i: number;
  code: ErrorCode;
  stage: Stage;
  topic: string;
  partition: number;
  offset: string;
  at: Date;
  key: Buffer | null;
  value: Buffer;
  headers: IHeaders;
  dlqPartition: number;
  dlqOffset: string;
  /** `<dlq>/<partition>/<offset>`, the replayed_from header of its replay. */
  from: string;
}

const hex = (value: Buffer | string | null | undefined) =>
  value === null || value === undefined ? null : Buffer.from(value).toString('hex');

/**
 * The compiled CLI (`node dist/lib/cli/main.js`) against the real broker, on a dead-letter
 * topic of 60 letters made by the service's own `deadLetter()`: five codes in three stages,
 * two original topics, three hours, three DLQ partitions, binary and hostile bytes.
 */
describe('myeventstream dlq (the compiled CLI against a real broker)', function () {
  this.timeout(180_000);
  let kafka: Kafka;
  let dlq: string;
  let orders: string;
  let payments: string;
  const letters: Letter[] = [];
  const PARTITIONS = { dlq: 3, orders: 4, payments: 2 };

  before(async () => {
    kafka = testKafka();
    dlq = randomName('cli-dlq');
    orders = randomName('cli-orders');
    payments = randomName('cli-payments');
    await createTopic(kafka, dlq, PARTITIONS.dlq);
    await createTopic(kafka, orders, PARTITIONS.orders);
    await createTopic(kafka, payments, PARTITIONS.payments);

    const messages: Message[] = [];
    for (let i = 0; i < 60; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const topic = i % 3 === 0 ? payments : orders;
      const partition = i % (topic === payments ? PARTITIONS.payments : PARTITIONS.orders);
      const at = new Date(T0 + (i % 3) * HOUR + i * 60_000);
      const key =
        i % 4 === 0 ? null : i % 4 === 1 ? Buffer.from([0xff, 0x00, 0x1b, i]) : Buffer.from(`key-${i}`);
      const value =
        kind.code === 'EMPTY_VALUE'
          ? Buffer.alloc(0)
          : kind.code === 'INVALID_JSON'
            ? Buffer.concat([Buffer.from('{"n": "\u001b]0;pwned\u0007'), Buffer.from([0xc3, 0x28, i])])
            : Buffer.from(JSON.stringify({ n: i, pad: 'x'.repeat(i * 20) }));
      const headers: IHeaders = { traceparent: `00-trace-${i}`, 'x-bin': Buffer.from([0x00, 0xff, i]) };
      const error = new StageError(kind.message, {
        stage: kind.stage,
        code: kind.code,
        retriable: false,
        attempts: kind.stage === 'process' ? 4 : 1,
        ...(kind.code === 'SCHEMA_VIOLATION'
          ? {
              violations: [{ path: '/Id', keyword: 'required', message: "must have required property 'Id'" }],
            }
          : {}),
      });
      const delivery = makeDelivery({
        topic,
        partition,
        offset: String(1000 + i),
        key,
        value,
        headers,
        timestamp: String(at.getTime() - 5000),
      });
      const letter = deadLetter(delivery, error, {
        consumerGroup: 'spec-consumers',
        maxRetries: 3,
        now: () => at,
      });
      const dlqPartition = i % PARTITIONS.dlq;
      messages.push({ ...letter, partition: dlqPartition });
      const dlqOffset = String(Math.floor(i / PARTITIONS.dlq));
      letters.push({
        i,
        code: kind.code,
        stage: kind.stage,
        topic,
        partition,
        offset: String(1000 + i),
        at,
        key,
        value,
        headers,
        dlqPartition,
        dlqOffset,
        from: `${dlq}/${dlqPartition}/${dlqOffset}`,
      });
    }
    await produceAll(kafka, dlq, messages);
    expect(Object.fromEntries(await endOffsets(kafka, dlq))).to.deep.equal({ 0: '20', 1: '20', 2: '20' });
  });

  function countBy(key: (letter: Letter) => string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const letter of letters) counts[key(letter)] = (counts[key(letter)] ?? 0) + 1;
    return counts;
  }

  /** Reads exactly `expected.length` replayed messages from `topic` (then waits for strays). */
  async function replayedIn(topic: string, count: number): Promise<ReadMessage[]> {
    const read = count === 0 ? [] : await readTopic(kafka, topic, count, { settleMs: 1500 });
    const ends = await endOffsets(kafka, topic);
    const total = [...ends.values()].reduce((sum, end) => sum + Number(end), 0);
    expect(total, `messages in ${topic}`).to.equal(read.length);
    return read;
  }

  /** Every replayed message is its letter's original message byte for byte, plus the replay headers. */
  function expectFaithful(messages: ReadMessage[], since: number): void {
    const byFrom = new Map(letters.map((letter) => [letter.from, letter]));
    for (const message of messages) {
      const from = header(message, 'replayed_from')!;
      const letter = byFrom.get(from);
      expect(letter, `replayed_from ${from}`).to.not.equal(undefined);
      expect(hex(message.key), `key of ${from}`).to.equal(hex(letter!.key));
      expect(hex(message.value), `value of ${from}`).to.equal(hex(letter!.value));
      expect(header(message, 'traceparent')).to.equal(`00-trace-${letter!.i}`);
      expect(hex(message.headers?.['x-bin'] as Buffer)).to.equal(hex(letter!.headers['x-bin'] as Buffer));
      for (const name of DEAD_LETTER_HEADERS) expect(message.headers?.[name], name).to.equal(undefined);
      const replayedAt = Date.parse(header(message, 'replayed_at') ?? '');
      expect(replayedAt).to.be.within(since - 1000, Date.now());
      expect(Object.keys(message.headers ?? {}).sort()).to.deep.equal(
        ['replayed_at', 'replayed_from', 'traceparent', 'x-bin'].sort(),
      );
    }
  }

  const fromsOf = (messages: ReadMessage[]) => messages.map((m) => header(m, 'replayed_from')!).sort();
  const fromsWhere = (select: (letter: Letter) => boolean) =>
    letters
      .filter(select)
      .map((l) => l.from)
      .sort();

  describe('inspect', () => {
    it('summarises the whole topic by code, stage, original topic and hour, with samples (--json)', async () => {
      const summary = await cliJson<Summary>(['dlq', 'inspect', '--topic', dlq, '--samples', '4']);

      expect(summary.topic).to.equal(dlq);
      expect(summary.total).to.equal(60);
      expect(summary.partitions).to.deep.equal(
        [0, 1, 2].map((partition) => ({
          partition,
          startOffset: '0',
          endOffset: '20',
          messages: 20,
          firstRead: '0',
          lastRead: '19',
        })),
      );
      expect(summary.byCode).to.deep.equal(countBy((l) => l.code));
      expect(summary.byStage).to.deep.equal(countBy((l) => l.stage));
      expect(summary.byOriginalTopic).to.deep.equal(countBy((l) => l.topic));
      const hours = countBy((l) => new Date(Math.floor(l.at.getTime() / HOUR) * HOUR).toISOString());
      expect(summary.byTime).to.deep.equal({ bucket: 'hour', counts: hours, withoutTimestamp: 0 });
      expect(Object.keys(summary.byTime.counts)).to.deep.equal(Object.keys(hours).sort());
      const times = letters.map((l) => l.at.getTime());
      expect(summary.oldest).to.equal(new Date(Math.min(...times)).toISOString());
      expect(summary.newest).to.equal(new Date(Math.max(...times)).toISOString());

      // Samples: the first letter (lowest DLQ position) of each code, codes in name order.
      const firstOfCode = new Map<string, Letter>();
      for (const letter of [...letters].sort(
        (a, b) => a.dlqPartition - b.dlqPartition || Number(a.dlqOffset) - Number(b.dlqOffset),
      )) {
        if (!firstOfCode.has(letter.code)) firstOfCode.set(letter.code, letter);
      }
      const expected = [...firstOfCode.keys()]
        .sort()
        .slice(0, 4)
        .map((code) => firstOfCode.get(code)!)
        .sort((a, b) => a.dlqPartition - b.dlqPartition || Number(a.dlqOffset) - Number(b.dlqOffset));
      expect(summary.samples.map((s) => `${s.partition}/${s.offset}`)).to.deep.equal(
        expected.map((l) => `${l.dlqPartition}/${l.dlqOffset}`),
      );
      summary.samples.forEach((sample, n) => {
        const letter = expected[n]!;
        expect(sample.errorCode).to.equal(letter.code);
        expect(sample.errorStage).to.equal(letter.stage);
        expect(sample.errorMessage).to.equal(KINDS.find((k) => k.code === letter.code)!.message);
        expect(sample.timestamp).to.equal(letter.at.toISOString());
        expect(sample.original).to.deep.equal({
          topic: letter.topic,
          partition: letter.partition,
          offset: letter.offset,
        });
        if (letter.key === null)
          expect(sample.key).to.deep.equal({ bytes: null, encoding: null, data: null, truncated: false });
        else if (letter.key[0] === 0xff) {
          expect(sample.key).to.deep.equal({
            bytes: 4,
            encoding: 'base64',
            data: letter.key.toString('base64'),
            truncated: false,
          });
        } else expect(sample.key).to.deep.include({ encoding: 'utf8', data: letter.key.toString('utf8') });
        expect(sample.value.bytes).to.equal(letter.value.length);
      });
    });

    it('prints a readable summary that never writes control characters to the terminal', async () => {
      const run = await cli(['dlq', 'inspect', '--topic', dlq, '--samples', '10']);

      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include(`Dead-letter topic ${dlq}: 60 dead letters`);
      // The offsets read, both ends included.
      expect(run.stdout).to.include('  partition 0: 20 read, offsets 0 to 19 (inclusive)\n');
      for (const title of [
        'By error code:',
        'By stage:',
        'By original topic:',
        'By hour (timestamp header, UTC):',
      ]) {
        expect(run.stdout).to.include(title);
      }
      expect(run.stdout).to.match(/^\s+INVALID_JSON\s+12\s+20\.0 %$/m);
      expect(run.stdout).to.match(/^\s+2026-01-10 08:00\s+20\s+33\.3 %$/m);
      // The hostile bytes were there and are shown escaped.
      expect(run.stdout).to.include('rejected \\u001b[31mred\\u001b[0m \\u001b[2J \\u202eevil');
      expect(run.stdout).to.include('<binary 4 bytes: ff 00 1b');
      // Any C0 control but the newline, DEL, C1 controls, bidi overrides.
      // eslint-disable-next-line no-control-regex
      const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
      expect(RAW_CONTROL.test(run.stdout), 'raw control characters').to.equal(false);
    });

    it('reports an empty topic', async () => {
      const empty = randomName('cli-empty');
      await createTopic(kafka, empty, 2);
      const summary = await cliJson<Summary>(['dlq', 'inspect', '--topic', empty]);
      expect(summary).to.deep.include({ total: 0, samples: [], byCode: {}, oldest: null });
      expect(summary.partitions.map((p) => p.messages)).to.deep.equal([0, 0]);
      expect(summary.partitions.map((p) => p.lastRead)).to.deep.equal([null, null]);
      const text = await cli(['dlq', 'inspect', '--topic', empty]);
      expect(text.stdout).to.include('  partition 0: 0 read\n  partition 1: 0 read\n');
    });

    it('leaves no consumer group behind', async () => {
      const before = await readGroups(kafka);
      const summary = await cliJson<Summary>(['dlq', 'inspect', '--topic', dlq]);
      expect(summary.total).to.equal(60);
      const after = await readGroups(kafka);
      expect(after.filter((group) => !before.includes(group))).to.deep.equal([]);
    });
  });

  describe('replay', () => {
    it('publishes exactly the selected letters, bytes untouched, with the replay headers (--to, filters)', async () => {
      const target = randomName('cli-target');
      await createTopic(kafka, target, 3);
      const group = randomName('cli-replay');
      const since = new Date(T0 + HOUR);
      const until = new Date(T0 + 3 * HOUR);
      const selected = (l: Letter) =>
        (l.code === 'INVALID_JSON' || l.code === 'SCHEMA_VIOLATION') && l.at >= since && l.at < until;
      const started = Date.now();

      const result = await cliJson<ReplayResult>([
        'dlq',
        'replay',
        '--topic',
        dlq,
        '--to',
        target,
        '--code',
        'INVALID_JSON,SCHEMA_VIOLATION',
        '--since',
        since.toISOString(),
        '--until',
        until.toISOString(),
        '--group',
        group,
      ]);

      const expected = fromsWhere(selected);
      expect(expected.length).to.be.within(10, 20);
      expect(result).to.deep.include({
        published: expected.length,
        skipped: 60 - expected.length,
        outcome: 'end',
      });
      expect(result.byTarget).to.deep.equal({ [target]: expected.length });
      const messages = await replayedIn(target, expected.length);
      expect(fromsOf(messages)).to.deep.equal(expected);
      expectFaithful(messages, started);
      // The progress reached the end offsets: a rerun has nothing to do.
      expect(Object.fromEntries(await committedOffsets(kafka, group, dlq))).to.deep.equal({
        0: '20',
        1: '20',
        2: '20',
      });
      const again = await cliJson<ReplayResult>([
        'dlq',
        'replay',
        '--topic',
        dlq,
        '--to',
        target,
        '--code',
        'SCHEMA_VIOLATION,INVALID_JSON',
        '--since',
        since.toISOString(),
        '--until',
        until.toISOString(),
        '--group',
        group,
      ]);
      expect(again).to.deep.include({ published: 0, outcome: 'end' });
      await replayedIn(target, expected.length);
    });

    it('sends letters back to their original topic and partition (--original-topic, --partition, offsets)', async () => {
      const group = randomName('cli-replay');
      const selected = (l: Letter) =>
        l.topic === payments && l.partition === 1 && Number(l.offset) >= 1010 && Number(l.offset) <= 1050;
      const started = Date.now();
      const result = await cliJson<ReplayResult>([
        'dlq',
        'replay',
        '--topic',
        dlq,
        '--original-topic',
        payments,
        '--partition',
        '1',
        '--from-offset',
        '1010',
        '--to-offset',
        '1050',
        '--group',
        group,
      ]);
      const expected = letters.filter(selected);
      expect(expected.length).to.be.within(3, 10);
      expect(result).to.deep.include({ published: expected.length, outcome: 'end' });
      const messages = await replayedIn(payments, expected.length);
      expect(fromsOf(messages)).to.deep.equal(expected.map((l) => l.from).sort());
      for (const message of messages) expect(message.partition).to.equal(1);
      expectFaithful(messages, started);
      expect(
        Object.fromEntries(await endOffsets(kafka, orders)),
        'nothing went to the other topic',
      ).to.deep.equal({
        0: '0',
        1: '0',
        2: '0',
        3: '0',
      });
    });

    it('--dry-run lists the selection and publishes and commits nothing', async () => {
      const target = randomName('cli-target');
      await createTopic(kafka, target, 1);
      const group = randomName('cli-replay');
      const result = await cliJson<ReplayResult>([
        'dlq',
        'replay',
        '--topic',
        dlq,
        '--to',
        target,
        '--stage',
        'validate',
        '--dry-run',
        '--group',
        group,
      ]);
      const expected = fromsWhere((l) => l.stage === 'validate');
      expect(result).to.deep.include({
        dryRun: true,
        published: 0,
        byTarget: {},
        wouldPublish: { count: expected.length, byTarget: { [target]: expected.length } },
        problems: 0,
        outcome: 'end',
      });
      expect(result.planned!.map((p) => p.from).sort()).to.deep.equal(expected);
      for (const planned of result.planned!)
        expect(planned.target).to.deep.equal({ topic: target, partition: null });

      const text = await cli([
        'dlq',
        'replay',
        '--topic',
        dlq,
        '--to',
        target,
        '--stage',
        'validate',
        '--dry-run',
      ]);
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout.trim().split('\n')).to.have.length(expected.length + 1);
      expect(text.stdout).to.include(
        `Would replay ${expected.length} dead letter(s) to ${target} (${expected.length})`,
      );

      await sleep(1000);
      expect(Object.fromEntries(await endOffsets(kafka, target))).to.deep.equal({ 0: '0' });
      expect(Object.fromEntries(await committedOffsets(kafka, group, dlq))).to.deep.equal({
        0: '-1',
        1: '-1',
        2: '-1',
      });
    });

    it('resumes after --limit without publishing anything twice or missing anything', async () => {
      const target = randomName('cli-target');
      await createTopic(kafka, target, 2);
      const group = randomName('cli-replay');
      const args = ['dlq', 'replay', '--topic', dlq, '--to', target, '--stage', 'process', '--group', group];
      const expected = fromsWhere((l) => l.stage === 'process');

      const first = await cliJson<ReplayResult>([...args, '--limit', '5']);
      expect(first).to.deep.include({ published: 5, outcome: 'limit' });
      expect(await replayedIn(target, 5)).to.have.length(5);

      const second = await cliJson<ReplayResult>(args);
      expect(second).to.deep.include({ published: expected.length - 5, outcome: 'end' });
      const all = await replayedIn(target, expected.length);
      expect(fromsOf(all)).to.deep.equal(expected);
    });

    it('stops on SIGTERM after the message in hand, and a rerun publishes the rest exactly once', async () => {
      const target = randomName('cli-target');
      await createTopic(kafka, target, 2);
      const group = randomName('cli-replay');
      const args = ['dlq', 'replay', '--topic', dlq, '--to', target, '--group', group];

      const slow = start([...args, '--rate', '10/s', '--json']);
      await until(async () => (await total(target)) >= 5, 30_000);
      slow.child.kill('SIGTERM');
      const stopped = await slow.done;
      expect(stopped.code, stopped.stderr).to.equal(143);
      const before = await total(target);
      expect(before).to.be.within(5, 40);
      // Every letter it wrote was committed before it left the group, so the rerun starts after it.
      expect(JSON.parse(stopped.stdout) as ReplayResult).to.deep.include({
        published: before,
        outcome: 'stopped',
      });
      expect(await lettersCommitted(group)).to.equal(before);

      const rest = await cli(args);
      expect(rest.code, rest.stderr).to.equal(0);
      const all = await replayedIn(target, 60);
      expect(fromsOf(all)).to.deep.equal(letters.map((l) => l.from).sort());
    });

    it('after SIGKILL, a rerun misses nothing and writes at most the one letter in flight again', async () => {
      const target = randomName('cli-target');
      await createTopic(kafka, target, 2);
      const group = randomName('cli-replay');
      const args = ['dlq', 'replay', '--topic', dlq, '--to', target, '--group', group];

      const slow = start([...args, '--rate', '20']);
      await until(async () => (await total(target)) >= 5, 30_000);
      slow.child.kill('SIGKILL');
      await slow.done;

      // The killed member stays in the group until its session times out; the rerun waits for it.
      const rest = await cli(args);
      expect(rest.code, rest.stderr).to.equal(0);
      const count = await total(target);
      expect(count).to.be.within(60, 61);
      const all = await replayedIn(target, count);
      expect([...new Set(fromsOf(all))]).to.deep.equal(letters.map((l) => l.from).sort());
    });

    it('refuses to resume a group holding the progress of another selection', async () => {
      const target = randomName('cli-target');
      await createTopic(kafka, target, 1);
      const group = randomName('cli-replay');
      const base = ['dlq', 'replay', '--topic', dlq, '--to', target, '--group', group];
      const first = await cli([...base, '--code', 'INVALID_JSON', '--limit', '1']);
      expect(first.code, first.stderr).to.equal(0);

      const other = await cli([...base, '--code', 'EMPTY_VALUE']);
      expect(other.code).to.equal(1);
      // The other run's selection in words, never the stored form of the commit metadata.
      expect(other.stderr).to.include(
        `consumer group "${group}" holds the progress of a replay of code INVALID_JSON to ${target} (partition`,
      );
      expect(other.stderr).to.not.include('myeventstream-dlq-replay/v1');
      await sleep(500);
      expect(await total(target)).to.equal(1);

      // A dry run changes nothing: it is not refused, it lists what the replay would publish
      // with a group of its own, and says this group would refuse it.
      const dry = await cli([...base, '--code', 'EMPTY_VALUE', '--dry-run', '--json']);
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stderr).to.match(/so a replay with these options is refused on it/);
      expect(dry.stderr).to.not.include('myeventstream-dlq-replay/v1');
      const listed = JSON.parse(dry.stdout) as ReplayResult;
      expect(listed.planned!.map((p) => p.from).sort()).to.deep.equal(
        fromsWhere((l) => l.code === 'EMPTY_VALUE'),
      );
      expect(await total(target)).to.equal(1);

      // The group it suggests is this selection's own.
      const suggested = /--group (\S+)$/m.exec(other.stderr)?.[1];
      expect(suggested).to.match(new RegExp(`^${group}-[0-9a-f]{8}$`));
      const own = await cli([...base.slice(0, -2), '--group', suggested!, '--code', 'EMPTY_VALUE']);
      expect(own.code, own.stderr).to.equal(0);
      const all = await replayedIn(target, 1 + 12);
      expect(fromsOf(all)).to.deep.equal(
        fromsWhere((l) => l.code === 'EMPTY_VALUE')
          .concat(
            fromsOf(all).filter((from) => letters.find((l) => l.from === from)!.code === 'INVALID_JSON'),
          )
          .sort(),
      );
    });
  });

  describe('letters an earlier replay sent back (replayed_from)', () => {
    it('are counted and announced, with the flags that leave them out or take only them', async () => {
      const small = randomName('cli-dlq-again');
      await createTopic(kafka, small, 1);
      const target = randomName('cli-target');
      await createTopic(kafka, target, 1);
      const originals = letters.slice(0, 2).map((l) => ({
        key: l.key,
        value: l.value,
        headers: deadLetter(
          makeDelivery({ topic: l.topic, offset: l.offset, value: l.value }),
          new Error('x'),
          {
            consumerGroup: 'spec-consumers',
            maxRetries: 3,
          },
        ).headers!,
      }));
      await produceAll(kafka, small, originals);
      const group = randomName('cli-replay');
      const base = ['dlq', 'replay', '--topic', small, '--to', target, '--group', group];
      const first = await cli(base);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stderr).to.not.include('replayed_from');

      // The replayed messages fail again: their dead letters carry replayed_from.
      const replayed = await replayedIn(target, 2);
      const again = replayed.map((message) => {
        const delivery = makeDelivery({
          topic: target,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        });
        const letter = deadLetter(delivery, new Error('still failing'), {
          consumerGroup: 'spec-consumers',
          maxRetries: 3,
        });
        return { key: letter.key, value: letter.value, headers: letter.headers! };
      });
      await produceAll(kafka, small, again);

      const dry = await cli([...base, '--dry-run']);
      expect(dry.code, dry.stderr).to.equal(0);
      expect(dry.stderr).to.match(
        new RegExp(
          `Warning: ${small}/0/2 carries replayed_from ${small}/0/\\d: an earlier replay already sent this message back and it failed again\\. --skip-replayed leaves such dead letters out, --only-replayed takes only them`,
        ),
      );
      expect(dry.stdout).to.include(`replayed before from ${small}/0/0`);
      expect(dry.stdout).to.include(
        '2 of them had been replayed before (replayed_from header) and failed again',
      );

      // Leaving them out resumes the group's progress: nothing is sent again.
      const skipped = await cliJson<ReplayResult>([...base, '--skip-replayed']);
      expect(skipped).to.deep.include({ published: 0, skipped: 2, replayedBefore: 0, outcome: 'end' });
      await sleep(500);
      expect(await total(target)).to.equal(2);

      // A run in a group of its own takes all four, and says which two came back.
      const live = await cli(['dlq', 'replay', '--topic', small, '--to', target, '--group', `${group}-all`]);
      expect(live.code, live.stderr).to.equal(0);
      expect(live.stderr.match(/Warning: .* carries replayed_from/g)).to.have.length(1);
      expect(live.stdout).to.include('Replayed 4 dead letter(s)');
      expect(live.stdout).to.include('2 of them had been replayed before');
    });
  });

  describe('errors', () => {
    it('a bad flag prints the usage and exits 2', async () => {
      for (const args of [
        ['dlq', 'replay', '--code', 'NOT_A_CODE'],
        ['dlq', 'replay', '--since', 'yesterday'],
        ['dlq', 'inspect', '--samples', 'many'],
        ['dlq', 'inspect', '--what'],
        ['dlq', 'purge'],
      ]) {
        const run = await cli(args);
        expect(run.code, args.join(' ')).to.equal(2);
        expect(run.stderr).to.match(/^myeventstream: /);
        expect(run.stderr).to.include('Usage: myeventstream dlq');
        expect(run.stdout).to.equal('');
      }
    });

    it('an unreachable broker is one clear line and exit 1, within seconds', async () => {
      const startedAt = Date.now();
      const run = await cli(['dlq', 'inspect'], { KAFKA_BROKERS: '127.0.0.1:1' });
      expect(run.code).to.equal(1);
      expect(run.stderr.trim()).to.match(
        /^myeventstream: cannot reach Kafka at 127\.0\.0\.1:1: .*ECONNREFUSED/,
      );
      expect(Date.now() - startedAt).to.be.below(20_000);
    });

    it('a missing dead-letter topic or target topic is exit 1 naming it', async () => {
      const missing = randomName('cli-missing');
      const inspectRun = await cli(['dlq', 'inspect', '--topic', missing]);
      expect(inspectRun.code).to.equal(1);
      expect(inspectRun.stderr).to.include(`dead-letter topic "${missing}" does not exist`);

      const replayRun = await cli([
        'dlq',
        'replay',
        '--topic',
        dlq,
        '--to',
        missing,
        '--group',
        randomName('g'),
      ]);
      expect(replayRun.code).to.equal(1);
      expect(replayRun.stderr).to.include(`target topic "${missing}" does not exist`);
    });

    it('an invalid setting is reported as the service reports it, exit 2', async () => {
      const run = await cli(['dlq', 'inspect'], { DLQ_BROKERS: 'not a broker' });
      expect(run.code).to.equal(2);
      expect(run.stderr).to.match(/^Invalid configuration: DLQ_BROKERS must be/);
    });
  });

  async function total(topic: string): Promise<number> {
    return [...(await endOffsets(kafka, topic)).values()].reduce((sum, end) => sum + Number(end), 0);
  }

  /** Letters of the DLQ below the group's committed offsets (every letter, when none is filtered out). */
  async function lettersCommitted(group: string): Promise<number> {
    const committed = await committedOffsets(kafka, group, dlq);
    return [...committed.values()].reduce((sum, offset) => sum + Math.max(0, Number(offset)), 0);
  }
});

/**
 * The read loop under `dlq replay`, driven directly so a stop can land at the one moment the
 * CLI cannot aim at from outside: after a letter was written and before its commit.
 */
describe('boundedRead (the read loop of dlq replay, against a real broker)', function () {
  this.timeout(60_000);

  it('a stop requested while a record is in hand lets its commit through before leaving the group', async () => {
    const kafka = testKafka();
    const topic = randomName('cli-read-stop');
    const group = randomName('cli-read-stop');
    await createTopic(kafka, topic, 1);
    await produceAll(kafka, topic, [{ value: 'letter 0' }, { value: 'letter 1' }, { value: 'letter 2' }]);
    const controller = new AbortController();
    const handled: string[] = [];

    const outcome = await boundedRead({
      kafka: createKafka(testBrokers(), 'spec-dlq-cli', false),
      brokers: testBrokers(),
      topic,
      groupId: group,
      plans: [{ partition: 0, from: 0n, end: 3n }],
      sessionTimeoutMs: 6000,
      signal: controller.signal,
      handle: async (record, context) => {
        handled.push(record.offset);
        // SIGTERM arrives while the letter's write is in flight; the commit follows the write.
        controller.abort('SIGTERM');
        await sleep(500);
        await context.commit(record.partition, BigInt(record.offset) + 1n, 'spec');
        return 'continue';
      },
    });

    expect(outcome).to.equal('stopped');
    expect(handled).to.deep.equal(['0']);
    expect(Object.fromEntries(await committedOffsets(kafka, group, topic))).to.deep.equal({ 0: '1' });
  });
});

/**
 * Polls `condition` until it holds. A poll that throws counts as not yet, up to the deadline:
 * the first offset requests on a new topic can meet NOT_LEADER_OR_FOLLOWER on a loaded machine.
 */
async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      if (await condition()) return;
    } catch (error) {
      failure = error;
    }
    if (Date.now() > deadline) {
      throw failure instanceof Error ? failure : new Error(`condition not met within ${timeoutMs} ms`);
    }
    await sleep(100);
  }
}

/** The throw-away groups of the CLI's reads that exist on the broker. */
async function readGroups(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    return groups.map((g) => g.groupId).filter((id) => id.startsWith('myeventstream-dlq-read-'));
  } finally {
    await admin.disconnect();
  }
}
