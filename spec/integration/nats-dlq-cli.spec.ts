import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import { defaultPipeline } from '../../lib/pipeline/default-pipeline.js';
import {
  connectTestNats,
  consumerInfo,
  createTestStreams,
  deleteStreams,
  eventually,
  jetstreamManager,
  messageCount,
  natsUrl,
  natsService,
  publishAll,
  readSubject,
  type TestStreams,
} from './support/nats.js';

const CLI = join(projectRoot(), 'dist', 'lib', 'cli', 'main.js');

/** The compiled CLI with BROKER=nats (build first). */
function cli(args: string[], env: Record<string, string>) {
  return start(args, env).done;
}

/** The compiled CLI started, with its process to signal. */
function start(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '', BROKER: 'nats', NATS_URL: natsUrl(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    ),
  );
  return { child, done, stderr: () => Buffer.concat(err).toString() };
}

describe('myeventstream dlq with BROKER=nats', function () {
  this.timeout(60_000);
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let streams: TestStreams | undefined;

  before(async () => {
    nc = await connectTestNats();
    jsm = await jetstreamManager(nc);
  });
  after(() => nc.close());
  afterEach(async () => {
    await deleteStreams(jsm, streams);
    streams = undefined;
  });

  it('inspect summarises the dead letters the service wrote, by code, stage and origin subject', async () => {
    const s = (streams = await createTestStreams(jsm));
    const bad = ['not json', '', JSON.stringify({ Id: '' }), '{"Id":', JSON.stringify({ name: 'x' })];
    await publishAll(nc, s.subject, [JSON.stringify({ Id: 'ok' }), ...bad]);
    const connection = await connectTestNats();
    const service = natsService(connection, defaultPipeline, s);
    await service.start();
    await eventually('the dead letters written', async () => (await messageCount(jsm, s.dlq)) === 5);
    await eventually('all acked', async () => (await consumerInfo(jsm, s)).num_ack_pending === 0);
    await service.stop();
    await connection.close();

    const run = await cli(['dlq', 'inspect', '--json'], { DLQ_TOPIC: s.dlq });
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(run.stdout) as {
      topic: string;
      total: number;
      byCode: Record<string, number>;
      byStage: Record<string, number>;
      byOriginalTopic: Record<string, number>;
      partitions: Array<{ partition: number; messages: number; firstRead: string; lastRead: string }>;
    };
    expect(summary.topic).to.equal(s.dlq);
    expect(summary.total).to.equal(5);
    expect(summary.byCode).to.deep.equal({ INVALID_JSON: 2, SCHEMA_VIOLATION: 2, EMPTY_VALUE: 1 });
    expect(summary.byStage).to.deep.equal({ decode: 3, validate: 2 });
    expect(summary.byOriginalTopic).to.deep.equal({ [s.subject]: 5 });
    expect(summary.partitions).to.deep.equal([
      { partition: 0, startOffset: '1', endOffset: '6', messages: 5, firstRead: '1', lastRead: '5' },
    ]);

    const text = await cli(['dlq', 'inspect'], { DLQ_TOPIC: s.dlq });
    expect(text.code).to.equal(0);
    expect(text.stdout).to.include(`Dead-letter topic ${s.dlq}: 5 dead letters`);
  });

  it('inspect and replay name the subject when no stream takes it', async () => {
    const missing = await cli(['dlq', 'inspect'], { DLQ_TOPIC: 'no-stream-takes.this' });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('no stream takes the dead-letter subject no-stream-takes.this');
    const replay = await cli(['dlq', 'replay', '--code', 'INVALID_JSON'], {
      DLQ_TOPIC: 'no-stream-takes.this',
    });
    expect(replay.code).to.equal(1);
    expect(replay.stderr).to.include('no stream takes the dead-letter subject no-stream-takes.this');
  });

  it('replay republishes the selected dead letters to their subject once, and the service then processes them', async () => {
    const s = (streams = await createTestStreams(jsm));
    const events = ['a', 'b', 'c'].map((Id) => JSON.stringify({ Id }));
    await publishAll(nc, s.subject, [events[0]!, 'not json', events[1]!, events[2]!]);
    // First the events are refused by a schema they do not meet yet (a field they lack).
    const strict = {
      type: 'object',
      required: ['Id', 'approved'],
      properties: { Id: { type: 'string' }, approved: { const: true } },
    };
    let connection = await connectTestNats();
    let service = natsService(connection, defaultPipeline, s, { schema: strict });
    await service.start();
    await eventually('the dead letters written', async () => (await messageCount(jsm, s.dlq)) === 4);
    await eventually('all acked', async () => (await consumerInfo(jsm, s)).num_ack_pending === 0);
    await service.stop();
    await connection.close();
    const env = { DLQ_TOPIC: s.dlq };
    const group = ['--group', `replay-${s.durable}`];

    const dry = await cli(
      ['dlq', 'replay', '--code', 'SCHEMA_VIOLATION', '--dry-run', '--json', ...group],
      env,
    );
    expect(dry.code, dry.stderr).to.equal(0);
    const planned = JSON.parse(dry.stdout) as ReplayJson;
    expect(planned.wouldPublish).to.deep.equal({ count: 3, byTarget: { [s.subject]: 3 } });
    expect(planned.skipped).to.equal(1);
    expect(planned.published).to.equal(0);
    expect(planned.planned.map((p) => p.from)).to.deep.equal([
      `${s.dlq}/0/1`,
      `${s.dlq}/0/3`,
      `${s.dlq}/0/4`,
    ]);
    expect(await messageCount(jsm, s.subject), 'a dry run publishes nothing').to.equal(4);

    const first = await cli(
      ['dlq', 'replay', '--code', 'SCHEMA_VIOLATION', '--limit', '2', '--json', ...group],
      env,
    );
    expect(first.code, first.stderr).to.equal(0);
    const limited = JSON.parse(first.stdout) as ReplayJson;
    expect([limited.published, limited.outcome]).to.deep.equal([2, 'limit']);

    const other = await cli(['dlq', 'replay', '--code', 'INVALID_JSON', ...group], env);
    expect(other.code, 'another selection on the same group is refused').to.equal(1);
    expect(other.stderr).to.include('holds the progress of a replay of code SCHEMA_VIOLATION');
    const otherDry = await cli(['dlq', 'replay', '--code', 'INVALID_JSON', '--dry-run', ...group], env);
    expect(otherDry.code, 'a dry run is not refused').to.equal(0);
    expect(otherDry.stderr).to.include('Warning: replay group');
    expect(otherDry.stdout).to.include('Would replay 1 dead letter(s)');

    const rest = await cli(['dlq', 'replay', '--code', 'SCHEMA_VIOLATION', '--json', ...group], env);
    expect(rest.code, rest.stderr).to.equal(0);
    const resumed = JSON.parse(rest.stdout) as ReplayJson;
    expect([resumed.published, resumed.skipped, resumed.outcome]).to.deep.equal([1, 0, 'end']);
    expect(resumed.partitions).to.deep.equal([{ partition: 0, from: '4', end: '5' }]);

    const again = await cli(['dlq', 'replay', '--code', 'SCHEMA_VIOLATION', ...group], env);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include('Replayed 0 dead letter(s); 0 not selected');

    const twice = await cli(
      ['dlq', 'replay', '--code', 'SCHEMA_VIOLATION', '--group', `twice-${s.durable}`],
      env,
    );
    expect(twice.code, twice.stderr).to.equal(0);
    expect(twice.stderr, 'a second replay moments later is de-duplicated').to.include(
      `${s.dlq}/0/1 was already replayed to ${s.subject}`,
    );
    expect(await messageCount(jsm, s.subject)).to.equal(7);

    const replayed = (await readSubject(jsm, s.subject)).slice(4);
    expect(
      replayed.map((m) => m.value),
      'each selected letter replayed once',
    ).to.deep.equal(events);
    expect(replayed[0]!.headers.replayed_from).to.equal(`${s.dlq}/0/1`);
    expect(replayed[0]!.headers).to.not.have.any.keys('error_code', 'original_topic', 'original_stream');

    connection = await connectTestNats();
    service = natsService(connection, defaultPipeline, s);
    await service.start();
    await eventually('the replayed events forwarded', async () => (await messageCount(jsm, s.output)) === 3);
    await eventually('all acked', async () => (await consumerInfo(jsm, s)).num_ack_pending === 0);
    await service.stop();
    await connection.close();
    expect((await readSubject(jsm, s.output)).map((m) => m.value)).to.deep.equal(events);
    expect(await messageCount(jsm, s.dlq), 'no new dead letters').to.equal(4);

    const to = await cli(
      ['dlq', 'replay', '--code', 'INVALID_JSON', '--to', s.output, '--group', `to-${s.durable}`],
      env,
    );
    expect(to.code, to.stderr).to.equal(0);
    expect(to.stdout).to.include(`Replayed 1 dead letter(s) to ${s.output} (1); 3 not selected`);
    const [moved] = (await readSubject(jsm, s.output)).slice(3);
    expect([moved?.subject, moved?.value, moved?.headers.replayed_from]).to.deep.equal([
      s.output,
      'not json',
      `${s.dlq}/0/2`,
    ]);
  });

  it('replay stopped by SIGTERM finishes the letter in hand, exits 143, and a rerun replays the rest once', async () => {
    const s = (streams = await createTestStreams(jsm));
    const values = Array.from({ length: 6 }, (_, i) => `not json ${i}`);
    await publishAll(nc, s.subject, values);
    const connection = await connectTestNats();
    const service = natsService(connection, defaultPipeline, s);
    await service.start();
    await eventually('the dead letters written', async () => (await messageCount(jsm, s.dlq)) === 6);
    await service.stop();
    await connection.close();
    const env = { DLQ_TOPIC: s.dlq };

    // --rate 2: one letter every 500 ms, so the signal comes while letters remain.
    const run = start(['dlq', 'replay', '--rate', '2', '--json'], env);
    await eventually('a letter replayed', async () => (await messageCount(jsm, s.subject)) >= 7, 10_000);
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).to.equal(143);
    const first = JSON.parse(stopped.stdout) as ReplayJson;
    expect(first.outcome).to.equal('stopped');
    expect(first.published).to.be.within(1, 5);
    expect(await messageCount(jsm, s.subject)).to.equal(6 + first.published);

    const rest = await cli(['dlq', 'replay', '--json'], env);
    expect(rest.code, rest.stderr).to.equal(0);
    const second = JSON.parse(rest.stdout) as ReplayJson;
    expect(first.published + second.published).to.equal(6);
    const replayed = (await readSubject(jsm, s.subject)).slice(6).map((m) => m.value);
    expect(replayed, 'every letter once, in order').to.deep.equal(values);
  });
});

interface ReplayJson {
  published: number;
  skipped: number;
  outcome: string;
  partitions: Array<{ partition: number; from: string; end: string }>;
  wouldPublish?: { count: number; byTarget: Record<string, number> };
  planned: Array<{ from: string }>;
}
