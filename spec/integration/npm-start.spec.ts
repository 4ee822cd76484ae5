import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { committedOffsets, createServiceTopics, endOffsets, randomName, testKafka } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { ServiceProcess } from './support/service-process.js';
import { sleep } from './support/topic-reader.js';

/**
 * A supervisor (systemd, a process manager, a CI job) signals the process it started, here
 * npm. The signal must reach the service, which drains, commits and exits 0, and npm with it:
 * no service left running, orphaned, in the consumer group.
 */
describe('npm start under a supervisor', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  before(() => (kafka = testKafka('npm-start-spec')));
  let npm: ServiceProcess | undefined;
  let servicePid: number | undefined;

  afterEach(async () => {
    // Whatever the outcome, leave nothing running.
    if (servicePid !== undefined && isRunning(servicePid)) process.kill(servicePid, 'SIGKILL');
    npm?.kill('SIGKILL');
    await npm?.exited;
    npm = servicePid = undefined;
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm's own pid drains, commits and exits 0 with nothing left running`, async () => {
      const names = await createServiceTopics(kafka, 2);
      const groupId = randomName('group');
      const events = Array.from({ length: 200 }, (_, i) => ({
        key: `k${i}`,
        value: JSON.stringify({ Id: `id-${i}` }),
      }));
      await produceAll(kafka, names.source, events);

      npm = new ServiceProcess(
        {
          HOME: process.env.HOME ?? '',
          KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
          KAFKA_TOPIC: names.source,
          OUTPUT_TOPIC: names.output,
          DLQ_TOPIC: names.dlq,
          KAFKA_GROUP_ID: groupId,
          // No periodic commit: the offsets can only come from the shutdown's own commit.
          COMMIT_INTERVAL_MS: '600000',
        },
        ['npm', 'start', '--silent'],
      );
      const port = await npm.httpPort();
      servicePid = serviceProcessOf(npm.pid);
      while ((await processed(port)) < events.length) await sleep(100);

      process.kill(npm.pid, signal);
      const exit = await Promise.race([npm.exited, sleep(30_000).then(() => 'still running after 30 s')]);

      expect(exit, `npm's exit; stderr: ${npm.stderr.join('')}`).to.deep.equal({ code: 0, signal: null });
      expect(isRunning(servicePid), 'the service process after npm exited').to.equal(false);
      expect(npm.lines.map((line) => line.message)).to.include('Signal received, shutting down');
      const committed = await committedOffsets(kafka, groupId, names.source);
      const ends = await endOffsets(kafka, names.source);
      expect(Object.fromEntries(committed)).to.deep.equal(Object.fromEntries(ends));
    });
  }
});

/** The node process running the service: npm's child, or a child of the shell npm runs. */
function serviceProcessOf(npmPid: number): number {
  const descendants = (pid: number): number[] => {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((id) => id.trim() !== '')
      .map(Number);
    return children.flatMap((child) => [child, ...descendants(child)]);
  };
  // Node's own command line, not that of a shell running it (`sh -c "node ... dev-start.js"`).
  const service = descendants(npmPid).find((pid) => {
    const [program, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /(^|\/)node$/.test(program ?? '') && args.includes('dist/lib/dev-start.js');
  });
  if (service === undefined) throw new Error(`no service process under npm (pid ${npmPid})`);
  return service;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function processed(port: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...metrics.matchAll(/^events_processed_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}
