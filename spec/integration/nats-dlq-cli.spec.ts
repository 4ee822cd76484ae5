import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import { defaultPipeline } from '../../lib/pipeline/default-pipeline.js';
import { consumerInfo, eventually, messageCount, NATS_URL, publishAll, useTestNats } from './support/nats.js';

const CLI = join(projectRoot(), 'dist', 'lib', 'cli', 'main.js');

/** The compiled CLI with BROKER=nats (build first). */
function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: projectRoot(),
    env: { PATH: process.env.PATH ?? '', BROKER: 'nats', NATS_URL, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    ),
  );
}

describe('myeventstream dlq with BROKER=nats', function () {
  this.timeout(60_000);
  const nats = useTestNats();

  it('inspect summarises the dead letters the service wrote, by code, stage and origin subject', async () => {
    const s = await nats.streams();
    const bad = ['not json', '', JSON.stringify({ Id: '' }), '{"Id":', JSON.stringify({ name: 'x' })];
    await publishAll(nats.nc, s.subject, [JSON.stringify({ Id: 'ok' }), ...bad]);
    const service = await nats.start(defaultPipeline, s);
    await eventually('the dead letters written', async () => (await messageCount(nats.jsm, s.dlq)) === 5);
    await eventually('all acked', async () => (await consumerInfo(nats.jsm, s)).num_ack_pending === 0);
    await service.stop();

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

  it('inspect names the subject when no stream takes it, and replay says it is not available', async () => {
    const missing = await cli(['dlq', 'inspect'], { DLQ_TOPIC: 'no-stream-takes.this' });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('no stream takes the dead-letter subject no-stream-takes.this');
    const replay = await cli(['dlq', 'replay', '--code', 'INVALID_JSON'], {});
    expect(replay.code).to.equal(1);
    expect(replay.stderr).to.include('dlq replay is not available with BROKER=nats');
  });
});
