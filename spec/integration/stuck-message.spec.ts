import { expect } from 'chai';
import type { Kafka, Message } from 'kafkajs';
import { pipe } from 'rxjs';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { process as processStep } from '../../lib/operators/process.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import type { KafkaEventService, KafkaEventServiceSettings } from '../../lib/kafka/kafka-service.js';
import { committedOffsets, createTopic, endOffsets, randomName, testKafka } from './support/kafka.js';
import { inProcessService, metricValue } from './support/in-process-service.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { header, readTopic, sleep } from './support/topic-reader.js';

const EVENTS = 200;
/** The offset of the one event whose process step never answers. */
const HUNG_OFFSET = 10;

/**
 * One message whose process step never answers among others that flow: the service keeps
 * going, and says which message holds its partition's commit back (without PROCESS_TIMEOUT_MS),
 * or gives up on it and dead-letters it (with it).
 */
describe('one message that never finishes, on a real broker', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  let service: KafkaEventService | undefined;
  let names: { topic: string; dlqTopic: string; groupId: string };
  let aborted: unknown[];

  beforeEach(async () => {
    kafka = testKafka();
    names = { topic: randomName('stuck'), dlqTopic: randomName('dlq'), groupId: randomName('group') };
    await createTopic(kafka, names.topic, 1);
    await createTopic(kafka, names.dlqTopic, 1);
    const messages: Message[] = Array.from({ length: EVENTS }, (_, i) => ({
      key: `k-${i}`,
      value: JSON.stringify({ Id: `e-${i}`, hang: i === HUNG_OFFSET }),
    }));
    await produceAll(kafka, names.topic, messages);
    aborted = [];
  });

  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  function start(settings: Partial<KafkaEventServiceSettings>): KafkaEventService {
    const pipeline = definePipeline((ctx) =>
      pipe(
        decodeJson<{ Id: string; hang: boolean }>(),
        processStep(
          (event: { hang: boolean }, delivery) =>
            new Promise<void>((resolve) => {
              if (!event.hang) return resolve();
              delivery.signal.addEventListener('abort', () => aborted.push(delivery.signal.reason));
            }),
          { retry: ctx.retry },
        ),
      ),
    );
    service = inProcessService(kafka, pipeline, { ...names, shutdownTimeoutMs: 500, ...settings });
    return service;
  }

  async function settledCount(of: KafkaEventService): Promise<number> {
    return (await metricValue(of, 'events_processed_total')) + (await metricValue(of, 'dlq_messages_total'));
  }

  it('names the message on /readyz once it is unsettled longer than STUCK_MESSAGE_MS, the others settled', async () => {
    const running = start({ stuckMessageMs: 2000 });
    await running.start();
    while ((await settledCount(running)) < EVENTS - 1) await sleep(50);
    expect(running.readiness.readiness().ready, 'ready at first: the message is not old yet').to.equal(true);

    const deadline = Date.now() + 10_000;
    let reasons = running.readiness.readiness().reasons;
    while (reasons.length === 0 && Date.now() < deadline) {
      await sleep(100);
      reasons = running.readiness.readiness().reasons;
    }
    expect(reasons).to.have.length(1);
    expect(reasons[0]).to.match(
      new RegExp(
        `^progress: ${names.topic}/0 offset ${HUNG_OFFSET} unsettled for [23] s while others settle`,
      ),
    );
    expect(await metricValue(running, 'myeventstream_oldest_unsettled_message_age_seconds')).to.be.at.least(
      2,
    );
    // Its partition commits no further than the message, however far the others went.
    expect(await committedOffsets(kafka, names.groupId, names.topic)).to.deep.equal(
      new Map([[0, String(HUNG_OFFSET)]]),
    );
    expect(aborted, 'no timeout: nothing gave up on the run').to.deep.equal([]);
  });

  it('dead-letters it as PROCESS_TIMEOUT with PROCESS_TIMEOUT_MS, aborting its signal, and commits to the end', async () => {
    const retry = {
      maxAttempts: 1,
      baseDelayMs: 10,
      maxDelayMs: 100,
      multiplier: 2,
      jitter: 0,
      attemptTimeoutMs: 500,
    };
    const running = start({ retry, stuckMessageMs: 2000 });
    await running.start();
    const { committed, ends } = await waitForCommitsAtEnd(async () => ({
      committed: await committedOffsets(kafka, names.groupId, names.topic),
      ends: await endOffsets(kafka, names.topic),
    }));
    expect(committed).to.deep.equal(ends);
    expect(await metricValue(running, 'events_processed_total')).to.equal(EVENTS - 1);
    expect(aborted).to.have.length(2);
    expect(aborted[0]).to.have.property('message', 'timed out after 500 ms');

    const [letter] = await readTopic(kafka, names.dlqTopic, 1);
    expect(letter && header(letter, 'original_offset')).to.equal(String(HUNG_OFFSET));
    expect(letter && header(letter, 'error_code')).to.equal('PROCESS_TIMEOUT');
    expect(letter && header(letter, 'error_message')).to.equal(
      'process failed after 2 attempts: timed out after 500 ms',
    );
    expect(running.readiness.readiness()).to.deep.equal({ ready: true, reasons: [] });
  });
});
