import { expect } from 'chai';
import { EMPTY, map, Subject, tap } from 'rxjs';
import winston from 'winston';
import type { Delivery } from '../../lib/core/delivery.js';
import { PermanentError } from '../../lib/core/errors.js';
import type { Settlement } from '../../lib/core/handle-message.js';
import { definePipeline, type PipelineContext } from '../../lib/pipeline/define-pipeline.js';
import { startMessageFlow, type MessageFlowOptions } from '../../lib/service/message-flow.js';
import type { OutgoingMessage } from '../../lib/sinks/batching-producer.js';
import { makeDelivery } from '../operators/support/delivery.js';

const context: PipelineContext = {
  schema: {},
  outputTopic: undefined,
  retry: { maxAttempts: 1 },
  produce: () => Promise.resolve(),
  logger: winston.createLogger({ silent: true }),
};

/** Fails the messages whose value is `bad`; the others pass. */
const failsBad = definePipeline(() =>
  map((delivery: Delivery) => {
    if (String(delivery.value) === 'bad') throw new PermanentError('bad value');
    return delivery;
  }),
);

function flowOf(overrides: Partial<MessageFlowOptions> = {}) {
  const deliveries = new Subject<Delivery>();
  const settled: Settlement[] = [];
  const failures: unknown[] = [];
  const deadLetters: Array<{ topic: string; message: OutgoingMessage }> = [];
  const flow = startMessageFlow({
    deliveries,
    pipeline: failsBad,
    context,
    deadLetters: {
      topic: 'dlq',
      producer: {
        send: (topic, message) => {
          deadLetters.push({ topic, message });
          return Promise.resolve();
        },
      },
      backoff: { baseDelayMs: 1, multiplier: 1, maxDelayMs: 1, jitter: 0 },
      consumerGroup: 'group',
      maxRetries: 1,
      onWriteFailed: () => undefined,
      onWritten: () => undefined,
    },
    workerPoolSize: 2,
    onSettled: (settlement) => settled.push(settlement),
    onFailed: (error) => failures.push(error),
    ...overrides,
  });
  return { deliveries, settled, failures, deadLetters, flow };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('startMessageFlow (the flow the service and the test driver share)', () => {
  it('hands each settlement to the commit subscriber after onSettled, and stops it on its own', () => {
    const seen: string[] = [];
    const { deliveries, flow } = flowOf({
      onSettled: (settlement) => seen.push(`settled ${settlement.delivery.offset}`),
      commits: tap((settlement: Settlement) => seen.push(`commit after ${settlement.delivery.offset}`)),
    });
    deliveries.next(makeDelivery({ offset: '1' }));
    deliveries.next(makeDelivery({ offset: '2', value: Buffer.from('bad') }));
    expect(seen.slice(0, 2)).to.deep.equal(['settled 1', 'commit after 1']);
    flow.commits.unsubscribe();
    deliveries.next(makeDelivery({ offset: '3' }));
    expect(seen.filter((line) => line.startsWith('commit'))).to.not.include('commit after 3');
    expect(seen).to.include('settled 3');
    expect(flow.subscription.closed).to.equal(false);
  });

  it('builds the pipeline with the context and settles each message it handles as processed', () => {
    let builtWith: PipelineContext | undefined;
    const pipeline = definePipeline((ctx) => {
      builtWith = ctx;
      return map((delivery: Delivery) => delivery);
    });
    const { deliveries, settled, flow } = flowOf({ pipeline });
    expect(builtWith).to.equal(context);
    const first = makeDelivery({ offset: '1' });
    const second = makeDelivery({ offset: '2' });
    deliveries.next(first);
    deliveries.next(second);
    expect(settled).to.deep.equal([
      { delivery: first, outcome: 'processed' },
      { delivery: second, outcome: 'processed' },
    ]);
    expect(flow.counts).to.include({ waiting: 0, inFlight: 0 });
  });

  it("writes a failed message's dead letter to the sink's topic and settles it dead-lettered once written", async () => {
    const { deliveries, settled, deadLetters } = flowOf();
    const bad = makeDelivery({ offset: '7', value: Buffer.from('bad') });
    deliveries.next(bad);
    expect(settled, 'before the dead letter is acknowledged').to.deep.equal([]);
    await tick();
    expect(deadLetters.map((letter) => letter.topic)).to.deep.equal(['dlq']);
    expect(deadLetters[0]!.message.headers).to.include({
      original_offset: '7',
      error_code: 'PROCESS_FAILED',
      consumer_group: 'group',
    });
    expect(settled.map((s) => [s.delivery.offset, s.outcome])).to.deep.equal([['7', 'dead-lettered']]);
  });

  it('runs each message through the guard, which may turn it away unsettled', () => {
    const turnedAway: string[] = [];
    const { deliveries, settled } = flowOf({
      guard: (handle) => (delivery, worker) => {
        if (delivery.offset !== '2') return handle(delivery, worker);
        turnedAway.push(delivery.offset);
        return EMPTY;
      },
    });
    for (const offset of ['1', '2', '3']) deliveries.next(makeDelivery({ offset }));
    expect(turnedAway).to.deep.equal(['2']);
    expect(settled.map((s) => s.delivery.offset)).to.deep.equal(['1', '3']);
  });

  it('reports a failure of the deliveries themselves, and settles nothing after being unsubscribed', () => {
    const { deliveries, settled, failures, flow } = flowOf();
    deliveries.error(new Error('the consumer crashed'));
    expect(failures.map(String)).to.deep.equal(['Error: the consumer crashed']);

    const other = flowOf();
    other.flow.subscription.unsubscribe();
    other.deliveries.next(makeDelivery());
    expect(other.settled).to.deep.equal([]);
    expect(settled).to.deep.equal([]);
    expect(flow.subscription.closed).to.equal(true);
  });
});
