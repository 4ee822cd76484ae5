import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { freePort } from '../../lib/broker/free-port.js';
import {
  committedOffsets,
  createServiceTopics,
  endOffsets,
  randomName,
  testKafka,
} from '../integration/support/kafka.js';
import { produceAll } from '../integration/support/produce.js';
import { header, readTopic, sleep } from '../integration/support/topic-reader.js';
import { SERVICE_IMAGE } from './support/container-fixture.js';
import { podmanOrThrow } from './support/engine.js';
import { ServiceContainer } from './support/service-container.js';

/**
 * The image as it is deployed: built from the Dockerfile, run by podman against a real broker.
 * The checks follow one container through its life (start, work, SIGTERM, start again), so
 * they run in order and each relies on the ones before it.
 */
describe('Service image: built from the Dockerfile, run against a real broker', () => {
  const VALID = 20;
  /** Sent while the container runs, and stopped in the middle of. */
  const BATCH = 5000;
  const total = async (offsets: Promise<Map<number, string>>) =>
    [...(await offsets).values()].reduce((sum, offset) => sum + Math.max(0, Number(offset)), 0);
  let kafka: Kafka;
  let topics: { source: string; output: string; dlq: string };
  let groupId: string;
  let container: ServiceContainer;
  const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

  before(async () => {
    kafka = testKafka();
    topics = await createServiceTopics(kafka, 3);
    groupId = randomName('container-group');
    await produceAll(kafka, topics.source, [
      ...ids('valid', VALID).map((Id) => ({ key: Id, value: JSON.stringify({ Id }) })),
      { key: 'bad', value: '{"Id": not json', headers: { trace: 'bad-1' } },
    ]);
    container = await ServiceContainer.start(SERVICE_IMAGE, randomName('myeventstream'), {
      env: {
        KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
        KAFKA_TOPIC: topics.source,
        OUTPUT_TOPIC: topics.output,
        DLQ_TOPIC: topics.dlq,
        KAFKA_GROUP_ID: groupId,
        // Host networking: a port of its own, so it never meets another service on this machine.
        METRICS_PORT: String(await freePort()),
      },
    });
    await container.waitForLog((line) => line.message === 'Joined the consumer group');
  });

  after(async () => {
    await container?.remove();
  });

  it('carries the HEALTHCHECK, the unprivileged user and the command of the Dockerfile', async () => {
    const config = (field: string) =>
      podmanOrThrow(['image', 'inspect', '--format', `{{json .Config.${field}}}`, SERVICE_IMAGE]).then(
        (json) => JSON.parse(json) as unknown,
      );
    expect(await config('User')).to.equal('node');
    expect(await config('StopSignal')).to.equal('SIGTERM');
    expect(await config('Cmd')).to.deep.equal(['node', '--max-semi-space-size=64', 'dist/lib/main.js']);
    const healthcheck = (await config('Healthcheck')) as { Test: string[] } | null;
    expect(healthcheck?.Test.join(' ')).to.include('/healthz');
  });

  it('runs the service as PID 1 under the node user (uid 1000), not root', async () => {
    const status = await container.exec(['cat', '/proc/1/status']);
    expect(status).to.match(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    const cmdline = (await container.exec(['cat', '/proc/1/cmdline'])).split('\0');
    expect(cmdline.slice(0, 3)).to.deep.equal(['node', '--max-semi-space-size=64', 'dist/lib/main.js']);
  });

  it("keeps nothing of the build's npm settings or CA bundle", async () => {
    // The build mounts them over /usr/local/etc (see image-build.ts); the image's own is empty.
    expect(await container.exec(['ls', '-A', '/usr/local/etc'])).to.equal('');
    expect((await container.exec(['npm', 'config', 'get', 'cafile'])).trim()).to.equal('null');
  });

  it('forwards every valid event to OUTPUT_TOPIC, once', async () => {
    const output = await readTopic(kafka, topics.output, VALID, { settleMs: 1000 });
    const seen = output.map((message) => (JSON.parse(message.value!.toString()) as { Id: string }).Id);
    expect(seen.sort()).to.deep.equal(ids('valid', VALID).sort());
  });

  it('dead-letters the bad event with its original bytes and headers', async () => {
    const [letter] = await readTopic(kafka, topics.dlq, 1, { settleMs: 1000 });
    expect(letter!.value!.toString()).to.equal('{"Id": not json');
    expect(header(letter!, 'trace')).to.equal('bad-1');
    expect(header(letter!, 'error_code')).to.equal('INVALID_JSON');
    expect(header(letter!, 'error_stage')).to.equal('decode');
    expect(header(letter!, 'original_topic')).to.equal(topics.source);
    expect(header(letter!, 'consumer_group')).to.equal(groupId);
  });

  it('answers its HEALTHCHECK healthy (podman healthcheck run)', async () => {
    const check = await container.healthcheck();
    expect(check, check.output).to.include({ healthy: true });
    expect(await container.inspect('{{.State.Health.Status}}')).to.equal('healthy');
  });

  it('drains what is in flight on SIGTERM, commits exactly that and exits 0 (podman stop -t 40)', async () => {
    await produceAll(
      kafka,
      topics.source,
      ids('batch', BATCH).map((Id) => ({ key: Id, value: JSON.stringify({ Id }) })),
    );
    // SIGTERM once the batch is being processed, so there is something to drain.
    while ((await total(endOffsets(kafka, topics.output))) <= VALID) await sleep(20);
    const started = Date.now();
    await container.stop(40);
    // Well inside the grace period: SIGKILL would have come at 40 s, and shown as exit 137.
    expect(Date.now() - started).to.be.below(35_000);
    expect(await container.exitCode()).to.equal(0);
    const lines = await container.logLines();
    expect(lines.map((line) => line.message)).to.include.members([
      'Signal received, shutting down',
      'Shutting down: intake stopped, draining',
      'Shut down',
    ]);
    // Each source message processed wrote one output or dead letter: as many as were committed
    // means nothing processed was left uncommitted, and nothing committed was left unprocessed.
    const committed = await total(committedOffsets(kafka, groupId, topics.source));
    const written =
      (await total(endOffsets(kafka, topics.output))) + (await total(endOffsets(kafka, topics.dlq)));
    expect(written).to.equal(committed);
    console.log(`      stopped with ${committed} of ${VALID + 1 + BATCH} source messages committed`);
  });

  it('redoes nothing when the container starts again: it goes on from the commits', async () => {
    await container.restart();
    await container.waitForLog((line) => line.message === 'Joined the consumer group', 90_000, 2);
    await produceAll(kafka, topics.source, [
      { key: 'after-restart', value: JSON.stringify({ Id: 'after-restart' }) },
    ]);
    const expected = [...ids('valid', VALID), ...ids('batch', BATCH), 'after-restart'];
    const output = await readTopic(kafka, topics.output, expected.length, { settleMs: 3000 });
    const seen = output.map((message) => (JSON.parse(message.value!.toString()) as { Id: string }).Id);
    expect(seen.length).to.equal(expected.length);
    expect(new Set(seen)).to.deep.equal(new Set(expected));
    expect(await readTopic(kafka, topics.dlq, 1, { settleMs: 1000 })).to.have.length(1);
    await container.stop(40);
    expect(await container.exitCode()).to.equal(0);
  });

  it('logs no warning and no error in either run, on stdout or stderr', async () => {
    const lines = await container.logLines();
    expect(lines.filter((line) => line.level !== 'info')).to.deep.equal([]);
    expect(await container.stderr()).to.equal('');
  });
});

describe('Service image: HEALTHCHECK without the service', () => {
  let container: ServiceContainer;

  after(async () => {
    await container?.remove();
  });

  it('answers unhealthy when nothing serves /healthz', async () => {
    // The image's entrypoint runs a command given in place of CMD: here one that serves nothing.
    container = await ServiceContainer.start(SERVICE_IMAGE, randomName('myeventstream-idle'), {
      env: { METRICS_PORT: String(await freePort()) },
      command: ['sleep', '300'],
    });
    const check = await container.healthcheck();
    expect(check, check.output).to.include({ healthy: false });
    expect(check.output).to.include('unhealthy');
  });
});
