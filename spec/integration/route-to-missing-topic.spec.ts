import { expect } from 'chai';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipe } from 'rxjs';
import { decodeJson, definePipeline, routeTo } from '../../lib/index.js';
import { projectRoot } from '../../lib/project-root.js';
import type { KafkaEventService } from '../../lib/kafka/kafka-service.js';
import { adminTopicLookup } from '../../lib/kafka/sinks/output-topics.js';
import { inProcessService } from './support/in-process-service.js';
import { createTopic, randomName, testKafka, withAdmin } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { ServiceProcess, type LogLine } from './support/service-process.js';
import { readTopic, sleep } from './support/topic-reader.js';

/** The service's JSON log lines, parsed. */
function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
        buffered = buffered.slice(newline + 1);
      }
      done();
    },
  });
  return { stream, lines };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A pipeline writing every event to `topic`. */
const routingTo = (topic: string) =>
  definePipeline((ctx) =>
    pipe(
      decodeJson(),
      routeTo(() => topic, ctx),
    ),
  );

describe('a pipeline routing to a topic that does not exist', function () {
  let kafka: ReturnType<typeof testKafka>;
  let service: KafkaEventService | undefined;

  before(() => {
    kafka = testKafka();
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  async function startRouting(create: boolean) {
    const names = { source: randomName('orders'), dlq: randomName('dlq'), group: randomName('group') };
    const missing = randomName('routed');
    await createTopic(kafka, names.source, 1);
    await createTopic(kafka, names.dlq, 1);
    const log = logCapture();
    service = inProcessService(
      kafka,
      routingTo(missing),
      { topic: names.source, groupId: names.group, dlqTopic: names.dlq },
      log.stream,
      undefined,
      adminTopicLookup(kafka, create ? { numPartitions: 1 } : undefined),
    );
    await service.start();
    await produceAll(
      kafka,
      names.source,
      [1, 2, 3].map((n) => ({ key: `k-${n}`, value: JSON.stringify({ Id: `e-${n}` }) })),
    );
    return { missing, log };
  }

  it('logs one line naming the topic and /readyz names it', async () => {
    const { missing, log } = await startRouting(false);
    const naming = () => log.lines.filter((line) => line.level === 'error' && line.topic === missing);

    await waitFor('the line naming the topic', () => naming().length > 0);
    await waitFor('/readyz naming the topic', () =>
      service!.readiness.readiness().reasons.some((reason) => reason.includes(missing)),
    );
    await sleep(2000);

    expect(naming()).to.have.length(1);
    expect(naming()[0]!.message).to.include(missing).and.include('CREATE_TOPICS');
    const { ready, reasons } = service!.readiness.readiness();
    expect(ready).to.equal(false);
    expect(reasons).to.include(`producer: writes to ${missing} failing: the topic does not exist`);
  });

  it('creates the topic with CREATE_TOPICS and the events land there', async () => {
    const { missing, log } = await startRouting(true);

    await waitFor('the topic created', () => log.lines.some((line) => line.topic === missing));
    const landed = await readTopic(kafka, missing, 3);

    expect(landed.map((m) => String(m.value)).sort()).to.deep.equal([
      '{"Id":"e-1"}',
      '{"Id":"e-2"}',
      '{"Id":"e-3"}',
    ]);
    const topics = await withAdmin(kafka, (admin) => admin.listTopics());
    expect(topics).to.include(missing);
    expect(log.lines.filter((line) => line.topic === missing).map((line) => line.level)).to.deep.equal([
      'info',
    ]);
  });

  describe("in the compiled service's log, with either producer client", () => {
    let child: ServiceProcess | undefined;
    afterEach(async () => {
      child?.kill('SIGKILL');
      await child?.exited;
      child = undefined;
    });

    /** A line about `topic`: it names it, or says a topic is unknown (kafkajs names none). */
    const about = (topic: string) => (line: LogLine) =>
      JSON.stringify(line).includes(topic) ||
      /topic-partition|UNKNOWN_TOPIC|unknown topic/i.test(JSON.stringify(line));

    for (const client of ['platformatic', 'kafkajs']) {
      it(`says it in exactly one line, writing with ${client}`, async () => {
        const names = { source: randomName('orders'), dlq: randomName('dlq'), group: randomName('group') };
        const missing = randomName('routed');
        await createTopic(kafka, names.source, 1);
        await createTopic(kafka, names.dlq, 1);
        child = new ServiceProcess({
          KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
          KAFKA_TOPIC: names.source,
          DLQ_TOPIC: names.dlq,
          KAFKA_GROUP_ID: names.group,
          KAFKA_PRODUCER_CLIENT: client,
          PIPELINE: join(projectRoot(), 'spec', 'integration', 'fixtures', 'route-to-pipeline.js'),
          ROUTE_TO_TOPIC: missing,
        });
        await child.waitForLog((line) => line.message === 'Consuming');
        await produceAll(
          kafka,
          names.source,
          [1, 2, 3].map((n) => ({ key: `k-${n}`, value: JSON.stringify({ Id: `e-${n}` }) })),
        );

        await child.waitForLog((line) => line.topic === missing);
        // The clients retry the writes for about 40 s; their lookups start at once.
        await sleep(5000);

        expect(
          child.lines.filter(about(missing)).map(({ level, message }) => ({ level, message })),
        ).to.deep.equal([
          {
            level: 'error',
            message: `Topic ${missing} that the pipeline writes to does not exist: create it, or set CREATE_TOPICS=true`,
          },
        ]);
      });
    }
  });
});
