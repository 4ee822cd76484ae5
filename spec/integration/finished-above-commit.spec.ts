import { expect } from 'chai';
import type { Kafka } from 'kafkajs';
import { delay, mergeMap, of } from 'rxjs';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import type { KafkaEventService } from '../../lib/kafka/kafka-service.js';
import { inProcessService, metricValue } from './support/in-process-service.js';
import { createTopic, fetchGroupOffsets, randomName, testKafka, withAdmin } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { sleep } from './support/topic-reader.js';

interface Clients {
  consumer: { disconnect(): Promise<void> };
  writer: { disconnect(): Promise<void> };
  admin: { disconnect(): Promise<void> };
}

/** Drops the service's connections without draining or a last commit, as a crash does. */
async function crash(service: KafkaEventService): Promise<void> {
  const { consumer, writer, admin } = service as unknown as Clients;
  await consumer.disconnect();
  await writer.disconnect();
  await admin.disconnect();
}

/**
 * One message hangs while the 46 after it finish: the committed offset stays at the hung one,
 * and the commit's metadata names what finished above it. The member that takes the partition
 * over after a crash (no last commit) runs the hung message again and nothing else.
 */
describe('work finished above the commit point, across a crash', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  const running: KafkaEventService[] = [];
  before(() => (kafka = testKafka('finished-above-spec')));
  after(async () => {
    for (const service of running) await service.stop().catch(() => undefined);
  });

  it('is named in the commit and not run again by the next owner', async () => {
    const topic = randomName('events');
    const groupId = randomName('group');
    await createTopic(kafka, topic, 1);
    const events = Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ Id: String(i) }),
    }));
    await produceAll(kafka, topic, events);
    const settings = { topic, groupId, dlqTopic: randomName('dlq'), commitIntervalMs: 20 };

    const hangsAtThree = definePipeline(() =>
      mergeMap((delivery) => of(delivery).pipe(delay(delivery.offset === '3' ? 600_000 : 5))),
    );
    const first = inProcessService(kafka, hangsAtThree, settings);
    await first.start();
    let committed: { offset: string; metadata: string | null } | undefined;
    const deadline = Date.now() + 30_000;
    while (committed?.metadata !== 'mes1:46:' && Date.now() < deadline) {
      await sleep(200);
      const [entry] = await withAdmin(kafka, (admin) => fetchGroupOffsets(admin, groupId, topic));
      committed = entry?.partitions[0];
    }
    expect(committed).to.deep.include({ offset: '3', metadata: 'mes1:46:' });
    await crash(first);

    const runs: string[] = [];
    const counting = definePipeline(() => mergeMap((delivery) => (runs.push(delivery.offset), of(delivery))));
    const second = inProcessService(kafka, counting, settings);
    running.push(second);
    await second.start();
    while (runs.length === 0 || (await metricValue(second, 'myeventstream_finished_skipped_total')) < 46)
      await sleep(100);
    await sleep(500);
    expect(runs, 'only the message that had hung runs again').to.deep.equal(['3']);
    await second.stop();
    const [entry] = await withAdmin(kafka, (admin) => fetchGroupOffsets(admin, groupId, topic));
    expect(entry?.partitions[0]?.offset).to.equal('50');
  });
});
