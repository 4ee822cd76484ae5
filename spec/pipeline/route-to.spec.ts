import { expect } from 'chai';
import { lastValueFrom, of, toArray } from 'rxjs';
import type { PipelineContext } from '../../lib/pipeline/define-pipeline.js';
import type { Delivery, WorkerSlot } from '../../lib/core/delivery.js';
import { PendingAcks, type AcksOutcome } from '../../lib/core/pending-acks.js';
import { forwardTo, routeTo } from '../../lib/pipeline/route-to.js';
import type { OutgoingMessage } from '../../lib/sinks/batching-producer.js';
import { makeDelivery } from '../operators/support/delivery.js';

/** A context whose writes wait until the spec acknowledges them. */
function manualContext() {
  const writes: Array<{ topic: string; message: OutgoingMessage; ack(): void; fail(error: Error): void }> =
    [];
  const context = {
    schema: {},
    outputTopic: 'out',
    retry: { maxAttempts: 0 },
    logger: undefined as never,
    produce: (topic: string, message: OutgoingMessage) =>
      new Promise<void>((resolve, reject) => writes.push({ topic, message, ack: resolve, fail: reject })),
  } satisfies PipelineContext;
  return { context, writes };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('forwardTo (routeTo)', () => {
  it('hands its write over with settleAfter and passes the message on before it is acknowledged', async () => {
    const { context, writes } = manualContext();
    const acks = new PendingAcks();
    const delivery = makeDelivery({ offset: '9', settleAfter: (ack) => acks.add(ack) });

    const passed = await lastValueFrom(of(delivery).pipe(forwardTo('out', context), toArray()));

    expect(passed).to.deep.equal([delivery]);
    expect(writes.map((w) => [w.topic, w.message.headers?.source_offset])).to.deep.equal([['out', '9']]);
    let outcome: AcksOutcome | undefined;
    acks.onSettled((o) => (outcome = o));
    await tick();
    expect(outcome, 'settled before the acknowledgement').to.equal(undefined);
    writes[0]!.ack();
    await tick();
    expect(outcome).to.deep.equal({ failed: false });
  });

  it('reports a write that keeps failing through settleAfter as OUTPUT_WRITE_FAILED', async () => {
    const { context, writes } = manualContext();
    const acks = new PendingAcks();
    const delivery = makeDelivery({ settleAfter: (ack) => acks.add(ack) });

    await lastValueFrom(of(delivery).pipe(forwardTo('out', context)));
    writes[0]!.fail(new Error('broker said no'));
    const outcome = await new Promise<AcksOutcome>((resolve) => acks.onSettled(resolve));

    expect(outcome.failed).to.equal(true);
    expect(outcome).to.have.nested.property('error.code', 'OUTPUT_WRITE_FAILED');
  });

  it('retries a handed-over write outside the worker pool: it neither gives back nor takes a worker slot', async () => {
    const { context, writes } = manualContext();
    const retrying = { ...context, retry: { maxAttempts: 1, baseDelayMs: 1, jitter: 0 } };
    const acks = new PendingAcks();
    const slotCalls: string[] = [];
    const worker: WorkerSlot = {
      release: () => slotCalls.push('release'),
      reacquire: () => (slotCalls.push('reacquire'), of(undefined)),
    };
    const delivery = makeDelivery({ settleAfter: (ack) => acks.add(ack), worker });

    await lastValueFrom(of(delivery).pipe(forwardTo('out', retrying)));
    writes[0]!.fail(new Error('broker said no'));
    while (writes.length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    writes[1]!.ack();
    const outcome = await new Promise<AcksOutcome>((resolve) => acks.onSettled(resolve));

    expect(outcome).to.deep.equal({ failed: false });
    expect(slotCalls).to.deep.equal([]);
  });

  it('waits for the acknowledgement itself when the delivery has no settleAfter (built by hand)', async () => {
    const { context, writes } = manualContext();
    const delivery: Delivery = makeDelivery();
    let passed: Delivery | undefined;

    of(delivery)
      .pipe(forwardTo('out', context))
      .subscribe((d) => (passed = d));
    await tick();
    expect(writes).to.have.length(1);
    expect(passed, 'passed on before the acknowledgement').to.equal(undefined);
    writes[0]!.ack();
    await tick();
    expect(passed).to.equal(delivery);
  });

  it("writes the original bytes by default and the event as the chain left it with write: 'event'", async () => {
    const { context, writes } = manualContext();
    const acks = new PendingAcks();
    const delivery = makeDelivery({
      settleAfter: (ack) => acks.add(ack),
      event: { id: 1, total: 12 },
      value: Buffer.from('{"id":1}'),
      key: Buffer.from('k-1'),
      headers: { trace: 't-1' },
    });

    await lastValueFrom(
      of(delivery).pipe(
        routeTo(() => 'raw', context),
        routeTo(() => 'made', context, { write: 'event' }),
      ),
    );
    writes.forEach((w) => w.ack());
    await tick();

    const [raw, made] = writes.map((w) => w.message);
    expect(raw!.value).to.equal(delivery.value);
    expect(JSON.parse(String(made!.value))).to.deep.equal({ id: 1, total: 12 });
    expect(made!.key).to.equal(delivery.key);
    expect(made!.headers).to.include({ trace: 't-1', source_topic: 'events', source_offset: '42' });
  });

  it("keeps the context's retries when only write is given", async () => {
    const { context, writes } = manualContext();
    const retrying = { ...context, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } };
    const delivery = makeDelivery({ event: { id: 1 } });
    let passed: unknown;

    of(delivery)
      .pipe(forwardTo('out', retrying, { write: 'event' }))
      .subscribe((d) => (passed = d));
    await tick();
    writes[0]!.fail(new Error('not yet'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writes, 'written again after the failure').to.have.length(2);
    writes[1]!.ack();
    await tick();
    expect(passed).to.equal(delivery);
  });
});
