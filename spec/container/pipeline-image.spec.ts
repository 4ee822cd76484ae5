import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/broker/free-port.js';
import { projectRoot } from '../../lib/project-root.js';
import { createTopic, endOffsets, randomName, testKafka } from '../integration/support/kafka.js';
import { produceAll } from '../integration/support/produce.js';
import { header, readTopic } from '../integration/support/topic-reader.js';
import { podman } from './support/engine.js';
import { buildImage } from './support/image-build.js';
import { ServiceContainer } from './support/service-container.js';

const root = projectRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The README's Dockerfile for an image holding a pipeline, as it is printed there. */
function readmePipelineDockerfile(): string {
  const block = /```dockerfile\n(FROM myeventstream\n[\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README: no ```dockerfile block starting FROM myeventstream');
  return block[1]!;
}

/** The customer service the example pipeline calls: one gold customer, one standard, the rest unknown. */
function startCustomers(port: number): Promise<Server> {
  const tiers: Record<string, string> = { 'c-gold': 'gold', 'c-standard': 'standard' };
  const server = createServer((request, response) => {
    const id = decodeURIComponent(request.url?.split('/').pop() ?? '');
    const tier = tiers[id];
    response.writeHead(tier ? 200 : 404, { 'content-type': 'application/json' });
    response.end(tier ? JSON.stringify({ id, tier }) : '{}');
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/**
 * A user's pipeline baked into an image as the README shows: the files of "Write your own
 * pipeline" (examples/first-pipeline) in a folder of their own with the README's Dockerfile,
 * built FROM the service's image and run against the real broker. The TypeScript module runs
 * as it is, its `myeventstream` and `rxjs` imports served by the image's own copies.
 */
describe("Pipeline image: the README's Dockerfile FROM the service's image", () => {
  const IMAGE = 'my-orders';
  let kafka: Kafka;
  let folder: string;
  let customers: Server;
  let container: ServiceContainer;
  const runId = randomName('order');
  const source = randomName('orders-in');
  const dlq = randomName('orders-dlq');
  const routed = ['orders-priority', 'orders-standard'] as const;
  const endsBefore: Record<string, number> = {};

  before(async () => {
    kafka = testKafka();
    folder = mkdtempSync(join(tmpdir(), 'my-pipelines-'));
    writeFileSync(join(folder, 'Dockerfile'), readmePipelineDockerfile());
    for (const file of ['orders.ts', 'order.schema.json']) {
      copyFileSync(join(root, 'examples', 'first-pipeline', file), join(folder, file));
    }
    await buildImage(IMAGE, folder);

    await createTopic(kafka, source, 2);
    await createTopic(kafka, dlq, 1);
    // The topics the pipeline routes to have fixed names: made once, counted from where they are.
    for (const topic of routed) {
      await createTopic(kafka, topic, 1);
      endsBefore[topic] = [...(await endOffsets(kafka, topic)).values()].reduce(
        (sum, high) => sum + Number(high),
        0,
      );
    }
    const customersPort = await freePort();
    customers = await startCustomers(customersPort);
    await produceAll(
      kafka,
      source,
      [
        { id: `${runId}-gold`, customerId: 'c-gold', amount: 120 },
        { id: `${runId}-standard`, customerId: 'c-standard', amount: 15 },
        { id: `${runId}-free`, customerId: 'c-gold', amount: 0 },
        { id: `${runId}-unknown`, customerId: 'c-nobody', amount: 9 },
      ].map((order) => ({ key: order.id, value: JSON.stringify(order) })),
    );
    container = await ServiceContainer.start(IMAGE, randomName('my-orders'), {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: source,
      DLQ_TOPIC: dlq,
      KAFKA_GROUP_ID: randomName('my-orders-group'),
      METRICS_PORT: String(await freePort()),
      CUSTOMERS_URL: `http://127.0.0.1:${customersPort}`,
    });
  });

  after(async () => {
    await container?.remove();
    await podman(['rmi', '--force', IMAGE]);
    customers?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('loads the TypeScript pipeline the image holds (PIPELINE and EVENT_SCHEMA of the README)', async () => {
    const starting = await container.waitForLog((line) => line.message === 'Starting');
    expect(starting).to.include({
      PIPELINE: '/pipelines/orders.ts',
      EVENT_SCHEMA: '/pipelines/order.schema.json',
    });
    await container.waitForLog((line) => line.message === 'Joined the consumer group');
  });

  it("routes each order by its customer's tier, as the pipeline says", async () => {
    const ids = async (topic: (typeof routed)[number]) =>
      (await readTopic(kafka, topic, endsBefore[topic]! + 1, { settleMs: 1000 }))
        .map((message) => (JSON.parse(message.value!.toString()) as { id: string }).id)
        .filter((id) => id.startsWith(runId));
    expect(await ids('orders-priority')).to.deep.equal([`${runId}-gold`]);
    // The order of amount 0 is filtered out: on neither topic.
    expect(await ids('orders-standard')).to.deep.equal([`${runId}-standard`]);
  });

  it("dead-letters the order of an unknown customer as the pipeline's PermanentError", async () => {
    const [letter] = await readTopic(kafka, dlq, 1, { settleMs: 1000 });
    expect(header(letter!, 'error_code')).to.equal('PROCESS_REJECTED');
    expect(header(letter!, 'error_message')).to.include('unknown customer c-nobody');
  });

  it('logs no warning and no error', async () => {
    await container.stop(40);
    expect(await container.exitCode()).to.equal(0);
    expect((await container.logLines()).filter((line) => line.level !== 'info')).to.deep.equal([]);
    expect(await container.stderr()).to.equal('');
  });
});
