import { expect } from 'chai';
import type { Consumer, Kafka } from 'kafkajs';
import { defaultPipeline } from '../../lib/pipeline/default-pipeline.js';
import { inProcessService, metricValue } from './support/in-process-service.js';
import { createTopic, randomName, testKafka, withAdmin } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { sleep } from './support/topic-reader.js';

/**
 * kafkajs restarts a crashed consumer after a pause; in between it has no consumer group, and
 * pausing it throws. A SIGTERM that lands there must still drain and stop cleanly.
 */
describe('shutdown while kafkajs restarts a crashed consumer', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  before(() => (kafka = testKafka('shutdown-after-crash-spec')));

  it('drains and stops instead of failing on the pause', async () => {
    const topic = randomName('events');
    await createTopic(kafka, topic, 2);
    await produceAll(
      kafka,
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ Id: String(i) }) })),
    );
    const service = inProcessService(kafka, defaultPipeline, {
      topic,
      groupId: randomName('group'),
      dlqTopic: randomName('dlq'),
    });
    await service.start();
    while ((await metricValue(service, 'events_processed_total')) < 20) await sleep(100);

    // Deleting the topic makes the consumer crash with a restart; stop() is called from the
    // crash event itself, when kafkajs has just dropped its consumer group.
    const consumer = (service as unknown as { consumer: Consumer }).consumer;
    const stopped = new Promise<unknown>((resolve) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart)
          resolve(
            service.stop().then(
              () => 'stopped',
              (error: unknown) => error,
            ),
          );
      });
    });
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics: [topic] }));
    expect(await stopped).to.equal('stopped');
  });
});
