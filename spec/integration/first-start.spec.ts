import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { startEphemeralJvmBroker, type StartedBroker } from '../../lib/broker/ephemeral-broker.js';
import { randomName } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { ServiceProcess } from './support/service-process.js';
import { sleep } from './support/topic-reader.js';

/**
 * The first start against a new broker, as a new user makes it: the broker has no offsets
 * topic yet (so no group coordinator for a while), the topics are created at start-up and have
 * no leader for a moment. All of that is routine, kafkajs retries it, and nothing of it may
 * reach the logs as an error.
 */
describe('a first start against a new broker', function () {
  this.timeout(240_000);
  let broker: StartedBroker;
  let service: ServiceProcess | undefined;

  before(async () => {
    // Its own broker: the suite's has its offsets topic once any spec used a group.
    broker = await startEphemeralJvmBroker();
  });
  after(async () => {
    service?.kill('SIGKILL');
    await service?.exited;
    await broker?.stop();
  });

  it('processes, stops, and logs no line at level error', async () => {
    const topic = randomName('events');
    service = new ServiceProcess({
      KAFKA_BROKERS: broker.bootstrap,
      KAFKA_TOPIC: topic,
      DLQ_TOPIC: randomName('dlq'),
      KAFKA_GROUP_ID: randomName('group'),
      CREATE_TOPICS: 'true',
      COMMIT_INTERVAL_MS: '200',
    });
    const port = await service.httpPort();
    await service.waitForLog((line) => line.message === 'Consuming');
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    await produceAll(
      kafka,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ Id: `id-${i}` }) })),
    );
    while ((await processed(port)) < 20) await sleep(100);
    service.kill('SIGTERM');
    expect((await service.exited).code).to.equal(0);

    const errors = service.lines.filter((line) => line.level === 'error' || line.level === 'raw');
    expect(errors, 'error lines').to.deep.equal([]);
    expect(service.stderr.join(''), 'stderr').to.equal('');
  });
});

async function processed(port: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...metrics.matchAll(/^events_processed_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}
