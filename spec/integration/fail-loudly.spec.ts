import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import { createTopic, randomName, testKafka, withAdmin } from './support/kafka.js';
import { exitWithin, ServiceProcess, type LogLine } from './support/service-process.js';

/** Non-empty lines of the process's stderr. */
function stderrLines(service: ServiceProcess): string[] {
  return service.stderr
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Every JSON log line of the process, stdout and stderr. */
function jsonLines(service: ServiceProcess): LogLine[] {
  const fromStderr = stderrLines(service).flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
  return [...service.lines, ...fromStderr];
}

/**
 * DESIGN invariant 9: a fault of the service itself (not of one message) never leaves a
 * process that is alive but not consuming. It exits non-zero with a log line saying why.
 */
describe('the service process fails loudly', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  before(() => (kafka = testKafka()));
  let services: ServiceProcess[] = [];
  afterEach(async () => {
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((s) => s.exited));
    services = [];
  });

  function start(env: Record<string, string>): ServiceProcess {
    const service = new ServiceProcess(env);
    services.push(service);
    return service;
  }

  it('exits non-zero naming a missing source topic when CREATE_TOPICS is unset', async () => {
    const topic = randomName('missing-events');
    const dlqTopic = randomName('dlq');
    await createTopic(kafka, dlqTopic, 1);
    const service = start({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: topic,
      DLQ_TOPIC: dlqTopic,
      KAFKA_GROUP_ID: randomName('group'),
    });

    const { code } = await exitWithin(service, 30_000);
    expect(code).to.be.a('number').and.not.equal(0);
    const lines = jsonLines(service);
    const failure = lines.find((line) => line.level === 'error' && JSON.stringify(line).includes(topic));
    expect(failure, `no error line names ${topic}: ${JSON.stringify(lines)}`).to.not.equal(undefined);
    expect(String(failure!.error))
      .to.match(/missing/i)
      .and.include('CREATE_TOPICS');
    // It never got as far as consuming, and it did not create the topic behind our back.
    expect(lines.some((line) => line.message === 'Consuming')).to.equal(false);
    const topics = await withAdmin(kafka, (admin) => admin.listTopics());
    expect(topics).to.include(dlqTopic).and.not.include(topic);
  });

  describe('with a bad setting', () => {
    let listener: Server | undefined;
    afterEach(() => new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve())));

    it('exits non-zero before connecting, with one stderr line naming the setting', async () => {
      // A "broker" that only counts connections: the service must not even try one.
      let connections = 0;
      listener = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => listener!.listen(0, '127.0.0.1', resolve));
      const { port } = listener.address() as { port: number };

      const service = start({
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        KAFKA_TOPIC: randomName('events'),
        WORKER_POOL_SIZE: '0',
      });
      const { code } = await exitWithin(service, 15_000);
      expect(code).to.be.a('number').and.not.equal(0);
      const stderr = stderrLines(service);
      expect(stderr, stderr.join('\n')).to.have.length(1);
      expect(stderr[0]).to.include('WORKER_POOL_SIZE');
      expect(stderr[0]).to.match(/WORKER_POOL_SIZE must be an integer from 1/);
      // Nothing was logged (not even "Starting") and nothing connected.
      expect(service.lines).to.deep.equal([]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(connections).to.equal(0);
    });
  });

  it('exits non-zero naming PIPELINE when the module exports no pipeline', async () => {
    const names = { source: randomName('events'), dlq: randomName('dlq') };
    await createTopic(kafka, names.source, 1);
    await createTopic(kafka, names.dlq, 1);
    const modulePath = join(projectRoot(), 'spec', 'integration', 'fixtures', 'not-a-pipeline.js');
    const service = start({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      DLQ_TOPIC: names.dlq,
      KAFKA_GROUP_ID: randomName('group'),
      PIPELINE: modulePath,
    });

    const { code } = await exitWithin(service, 30_000);
    expect(code).to.be.a('number').and.not.equal(0);
    const lines = jsonLines(service);
    const failure = lines.find((line) => line.level === 'error' && /PIPELINE/.test(JSON.stringify(line)));
    expect(failure, `no error line names PIPELINE: ${JSON.stringify(lines)}`).to.not.equal(undefined);
    expect(String(failure!.error))
      .to.include(modulePath)
      .and.match(/must export a pipeline/);
    expect(lines.some((line) => line.message === 'Consuming')).to.equal(false);
  });

  it('exits non-zero when its consumer cannot get back into the group (source topic deleted)', async () => {
    const names = { source: randomName('events'), dlq: randomName('dlq') };
    await createTopic(kafka, names.source, 2);
    await createTopic(kafka, names.dlq, 1);
    const service = start({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      DLQ_TOPIC: names.dlq,
      KAFKA_GROUP_ID: randomName('group'),
      KAFKA_RECOVERY_TIMEOUT_MS: '5000',
    });
    await service.waitForLog((line) => line.message === 'Joined the consumer group');
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [names.source] }));

    const { code } = await exitWithin(service, 60_000);
    expect(code).to.be.a('number').and.not.equal(0);
    const failure = jsonLines(service).find(
      (line) => line.level === 'error' && /has not recovered for 5000 ms/.test(String(line.error)),
    );
    expect(failure, JSON.stringify(jsonLines(service).slice(-5))).to.not.equal(undefined);
  });
});
