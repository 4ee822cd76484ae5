import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/broker/free-port.js';
import { projectRoot } from '../../lib/project-root.js';
import { createTopic, endOffsets, randomName, testKafka } from '../integration/support/kafka.js';
import { produceAll } from '../integration/support/produce.js';
import { header, readTopic } from '../integration/support/topic-reader.js';
import { SERVICE_IMAGE } from './support/container-fixture.js';
import { podman } from './support/engine.js';
import { buildImage } from './support/image-build.js';
import { ServiceContainer, type StartOptions } from './support/service-container.js';

const root = projectRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** The topics the example pipeline routes to: fixed names, counted from where they are. */
const ROUTED = ['orders-priority', 'orders-standard'] as const;

/** The README's Dockerfile for an image holding a pipeline, as it is printed there. */
function readmePipelineDockerfile(): string {
  const block = /```dockerfile\n(FROM myeventstream\n[\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README: no ```dockerfile block starting FROM myeventstream');
  return block[1]!;
}

/** A user's `my-pipelines/` folder: the README's pipeline files (examples/first-pipeline). */
function myPipelinesFolder(withDockerfile: boolean): string {
  const folder = mkdtempSync(join(tmpdir(), 'my-pipelines-'));
  // The container's node user (uid 1000) reads a mounted folder as it is.
  chmodSync(folder, 0o755);
  for (const file of ['orders.ts', 'order.schema.json']) {
    copyFileSync(join(root, 'examples', 'first-pipeline', file), join(folder, file));
  }
  if (withDockerfile) writeFileSync(join(folder, 'Dockerfile'), readmePipelineDockerfile());
  return folder;
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
 * The README's pipeline (examples/first-pipeline) run in a container against the real broker,
 * with four orders waiting: one of a gold customer, one of a standard one, one of amount 0 and
 * one of an unknown customer. The TypeScript module runs as it is, its `myeventstream` and
 * `rxjs` imports served by the image's own copies.
 */
function checkOrdersPipeline(
  setUp: () => Promise<{ image: string; options: Pick<StartOptions, 'volumes' | 'env'> }>,
): void {
  let kafka: Kafka;
  let customers: Server;
  let container: ServiceContainer;
  const runId = randomName('order');
  const dlq = randomName('orders-dlq');
  const endsBefore: Record<string, number> = {};

  before(async () => {
    const { image, options } = await setUp();
    kafka = testKafka();
    const source = randomName('orders-in');
    await createTopic(kafka, source, 2);
    await createTopic(kafka, dlq, 1);
    for (const topic of ROUTED) {
      await createTopic(kafka, topic, 1);
      const ends = await endOffsets(kafka, topic);
      endsBefore[topic] = [...ends.values()].reduce((sum, high) => sum + Number(high), 0);
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
    container = await ServiceContainer.start(image, randomName('my-orders'), {
      ...options,
      env: {
        KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
        KAFKA_TOPIC: source,
        DLQ_TOPIC: dlq,
        KAFKA_GROUP_ID: randomName('my-orders-group'),
        METRICS_PORT: String(await freePort()),
        CUSTOMERS_URL: `http://127.0.0.1:${customersPort}`,
        ...options.env,
      },
    });
  });

  after(async () => {
    await container?.remove();
    customers?.close();
  });

  it('loads the TypeScript pipeline from /pipelines (PIPELINE and EVENT_SCHEMA of the README)', async () => {
    const starting = await container.waitForLog((line) => line.message === 'Starting');
    expect(starting).to.include({
      PIPELINE: '/pipelines/orders.ts',
      EVENT_SCHEMA: '/pipelines/order.schema.json',
    });
    await container.waitForLog((line) => line.message === 'Joined the consumer group');
  });

  it("routes each order by its customer's tier, as the pipeline says", async () => {
    const ids = async (topic: (typeof ROUTED)[number]) =>
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

  it('logs no warning and no error, and stops with exit 0', async () => {
    await container.stop(40);
    expect(await container.exitCode()).to.equal(0);
    expect((await container.logLines()).filter((line) => line.level !== 'info')).to.deep.equal([]);
    expect(await container.stderr()).to.equal('');
  });
}

describe("Pipeline image: the README's Dockerfile FROM the service's image", () => {
  const IMAGE = 'my-orders';
  let folder: string | undefined;

  checkOrdersPipeline(async () => {
    folder = myPipelinesFolder(true);
    await buildImage(IMAGE, folder);
    return { image: IMAGE, options: { env: {} } };
  });

  after(async () => {
    await podman(['rmi', '--force', IMAGE]);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });
});

describe("Pipeline mounted into the service's image, as the README says", () => {
  let folder: string | undefined;

  checkOrdersPipeline(async () => {
    folder = myPipelinesFolder(false);
    return {
      image: SERVICE_IMAGE,
      options: {
        volumes: [`${folder}:/pipelines:ro`],
        env: { PIPELINE: '/pipelines/orders.ts', EVENT_SCHEMA: '/pipelines/order.schema.json' },
      },
    };
  });

  after(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });
});
