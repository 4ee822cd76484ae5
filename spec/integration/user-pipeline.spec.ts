import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../lib/project-root.js';
import { committedOffsets, createTopic, endOffsets, randomName, testKafka } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { ServiceProcess } from './support/service-process.js';

const run = promisify(execFile);

/**
 * The README's "Write your own pipeline" as a user follows it: examples/first-pipeline copied
 * to a folder outside the project, run by the compiled service (`npm start`'s dist/lib/main.js
 * on plain Node.js, no tsx) and its spec run by `npm run test:pipeline`.
 */
describe('a pipeline in a folder of the user', function () {
  // Made once the global setup started the broker (describe bodies run before it).
  let kafka: ReturnType<typeof testKafka>;
  let folder: string;
  let service: ServiceProcess | undefined;
  let customers: Server | undefined;

  before(() => {
    kafka = testKafka();
  });
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'my-pipelines-'));
    cpSync(join(projectRoot(), 'examples', 'first-pipeline'), folder, { recursive: true });
  });
  afterEach(async () => {
    service?.kill('SIGKILL');
    await service?.exited;
    service = undefined;
    customers?.close();
    customers = undefined;
    rmSync(folder, { recursive: true, force: true });
  });

  it('runs the TypeScript pipeline: it imports myeventstream and rxjs and routes an order', async () => {
    const lookups: string[] = [];
    customers = createServer((request, response) => {
      lookups.push(request.url ?? '');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ id: 'c-1', tier: 'gold' }));
    });
    await new Promise<void>((resolve) => customers!.listen(0, '127.0.0.1', resolve));
    const port = (customers.address() as { port: number }).port;
    const names = { source: randomName('orders'), dlq: randomName('dlq'), group: randomName('group') };
    await createTopic(kafka, names.source, 1);
    await createTopic(kafka, names.dlq, 1);
    await createTopic(kafka, 'orders-priority', 1);

    service = new ServiceProcess({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      DLQ_TOPIC: names.dlq,
      KAFKA_GROUP_ID: names.group,
      PIPELINE: join(folder, 'orders.ts'),
      EVENT_SCHEMA: join(folder, 'order.schema.json'),
      CUSTOMERS_URL: `http://127.0.0.1:${port}`,
    });
    await service.waitForLog((line) => line.message === 'Consuming');
    await produceAll(kafka, names.source, [
      { key: 'o-1', value: JSON.stringify({ id: 'o-1', customerId: 'c-1', amount: 5 }) },
    ]);

    // Committed past the order: routeTo's write to orders-priority was acknowledged.
    const deadline = Date.now() + 30_000;
    while ((await committedOffsets(kafka, names.group, names.source)).get(0) !== '1') {
      if (Date.now() > deadline) throw new Error(`not committed; stderr: ${service.stderr.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(lookups).to.deep.equal(['/customers/c-1']);
    expect((await endOffsets(kafka, names.dlq)).get(0)).to.equal('0');
  });

  it('stops start-up naming PIPELINE, the file and line when Node.js cannot run its TypeScript', async () => {
    const file = join(folder, 'tiers.ts');
    writeFileSync(file, `import { pipe } from 'rxjs';\n\nenum Tier {\n  Gold,\n}\nexport default pipe();\n`);
    service = new ServiceProcess({ KAFKA_BROKERS: process.env.KAFKA_BROKERS!, PIPELINE: file });

    const { code } = await service.exited;
    expect(code).to.equal(1);
    const failure = service.stderr.join('');
    expect(failure).to.include(`PIPELINE module ${file} could not be loaded: ${file}:3 (enum Tier {)`);
    expect(failure).to.include('ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX');
  });

  it('runs its spec with npm run test:pipeline', async () => {
    const { stdout } = await run(
      'npm',
      ['run', '--silent', 'test:pipeline', '--', join(folder, 'orders.test.ts')],
      {
        cwd: projectRoot(),
      },
    );
    expect(stdout).to.match(/ℹ pass 3\n/);
    expect(stdout).to.match(/ℹ fail 0\n/);
  });
});
