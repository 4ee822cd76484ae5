import { expect } from 'chai';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Subscription } from 'rxjs';
import { OffsetTracker } from '../../../lib/kafka/commit/offset-tracker.js';
import type { Delivery } from '../../../lib/core/delivery.js';
import { NO_HOOKS } from '../../../lib/core/delivery.js';
import { CreditGate } from '../../../lib/core/credit-gate.js';
import { kafkaSource } from '../../../lib/kafka/source/kafka-source.js';

const TOPIC = 'events';

/** The parts of a kafkajs consumer the source uses, driven by the spec. */
function fakeConsumer() {
  const listeners = new Map<string, Array<(event: { payload: unknown }) => void>>();
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events: { CRASH: 'consumer.crash', START_BATCH_PROCESS: 'consumer.start_batch_process' },
    on(event: string, listener: (event: { payload: unknown }) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () =>
        listeners.set(
          event,
          (listeners.get(event) ?? []).filter((l) => l !== listener),
        );
    },
    run: async (config: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) => {
      eachBatch = config.eachBatch;
    },
  };
  return {
    consumer: consumer as unknown as Consumer,
    emit: (event: string, payload: unknown) => listeners.get(event)?.forEach((l) => l({ payload })),
    /** Hands a fetched batch to the source; returns what it resolved and committed through it. */
    async deliver(
      partition: number,
      fetchedOffset: string,
      offsets: string[],
      options: { lastOffset?: string; commits?: unknown[] } = {},
    ) {
      const resolved: string[] = [];
      const messages = offsets.map((offset) => ({
        offset,
        key: null,
        value: Buffer.from(`{"Id":"${offset}"}`),
        headers: {},
        timestamp: '0',
        attributes: 0,
      }));
      const batch = {
        topic: TOPIC,
        partition,
        highWatermark: '1000',
        messages,
        fetchedOffset,
        lastOffset: () => options.lastOffset ?? offsets.at(-1)!,
      };
      await eachBatch!({
        batch,
        resolveOffset: (offset: string) => resolved.push(offset),
        heartbeat: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
        commitOffsetsIfNecessary: async (offsets?: unknown) => void options.commits?.push(offsets),
      } as unknown as EachBatchPayload);
      return resolved;
    },
  };
}

function setUp(capacity = 100) {
  const fake = fakeConsumer();
  const tracker = new OffsetTracker();
  const staleBatches: string[] = [];
  const source = kafkaSource({
    consumer: fake.consumer,
    gate: new CreditGate(capacity),
    ownership: tracker,
    hooks: NO_HOOKS,
    onHandOff: () => undefined,
    onStaleBatch: (_topic, partition, fetched, position) =>
      staleBatches.push(`${partition}: fetched ${fetched}, position ${position}`),
    heartbeatEveryMs: 5,
  });
  const handedOff: Delivery[] = [];
  const subscription: Subscription = source.subscribe((delivery) => handedOff.push(delivery));
  const offsetsOf = (partition: number) =>
    handedOff.filter((d) => d.partition === partition).map((d) => d.offset);
  return { fake, tracker, source, handedOff, offsetsOf, staleBatches, subscription };
}

describe('kafkaSource', () => {
  it('drops a batch fetched from past the position of a new ownership, and starts at the committed offset', async () => {
    const { fake, tracker, offsetsOf, staleBatches, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [3] }]);
    tracker.start(TOPIC, 3, { committed: '195', earliest: '0' });

    // A fetch built before the rejoin, from the old position 339, comes back after it.
    const stale = await fake.deliver(3, '339', ['339', '340']);
    expect(stale, 'nothing resolved for a stale batch').to.deep.equal([]);
    expect(offsetsOf(3)).to.deep.equal([]);
    expect(staleBatches).to.deep.equal(['3: fetched 339, position 195']);
    expect(tracker.due(), 'the commit point stays at 195').to.deep.equal([]);

    const fresh = await fake.deliver(3, '195', ['195', '196', '197']);
    expect(offsetsOf(3)).to.deep.equal(['195', '196', '197']);
    expect(fresh).to.deep.equal(['197']);
    expect(tracker.claim(TOPIC, 3)!.position).to.equal('198');
    subscription.unsubscribe();
  });

  it('never moves the commit point over work still running on a kept partition after a rejoin', async () => {
    const { fake, tracker, handedOff, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [0] }]);
    tracker.start(TOPIC, 0, { committed: '100', earliest: '0' });
    await fake.deliver(0, '100', ['100', '101', '102', '103']);

    // The leader moved: kafkajs rejoins, the partition is kept, and it refetches from 100
    // while 100-103 are still in the pipeline; another fetch from 104 arrives too.
    tracker.assign([{ topic: TOPIC, partitions: [0] }]);
    tracker.start(TOPIC, 0, { committed: '100', earliest: '0' });
    const refetched = await fake.deliver(0, '100', ['100', '101', '102', '103', '104']);
    expect(handedOff.map((d) => d.offset)).to.deep.equal(['100', '101', '102', '103', '104']);
    expect(refetched).to.deep.equal(['104']);

    // Only the later ones settle: the commit point must stay at 100.
    const epoch = handedOff[0]!.generation;
    expect(
      handedOff.every((d) => d.generation === epoch),
      'one ownership throughout',
    ).to.equal(true);
    for (const offset of ['101', '102', '103', '104']) tracker.settle(TOPIC, 0, offset, epoch);
    expect(tracker.due().map(({ offset }) => offset)).to.deep.equal(['100']);
    tracker.settle(TOPIC, 0, '100', epoch);
    expect(tracker.due().map(({ offset }) => offset)).to.deep.equal(['105']);
    subscription.unsubscribe();
  });

  it('moves kafkajs past a refetched batch that holds nothing new', async () => {
    const { fake, tracker, offsetsOf, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [0] }]);
    tracker.start(TOPIC, 0, { committed: '0', earliest: '0' });
    await fake.deliver(0, '0', ['0', '1', '2', '3', '4', '5']);
    const resolved = await fake.deliver(0, '0', ['0', '1', '2']);
    expect(offsetsOf(0)).to.deep.equal(['0', '1', '2', '3', '4', '5']);
    expect(resolved, 'resolved up to our position').to.deep.equal(['5']);
    subscription.unsubscribe();
  });

  it('hands off nothing for a partition it does not own, and resolves nothing there', async () => {
    const { fake, tracker, handedOff, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [0] }]);
    tracker.start(TOPIC, 0, { committed: undefined, earliest: '0' });
    expect(await fake.deliver(1, '0', ['0', '1'])).to.deep.equal([]);
    tracker.assign([{ topic: TOPIC, partitions: [1] }]);
    tracker.start(TOPIC, 1, { committed: '7', earliest: '0' });
    expect(await fake.deliver(0, '0', ['0', '1']), 'revoked').to.deep.equal([]);
    expect(handedOff).to.deep.equal([]);
    subscription.unsubscribe();
  });

  it('waits to hand off until the committed offset of a newly assigned partition is known', async () => {
    const { fake, tracker, offsetsOf, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [0] }]);
    const delivering = fake.deliver(0, '50', ['50', '51']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(offsetsOf(0)).to.deep.equal([]);
    tracker.start(TOPIC, 0, { committed: '50', earliest: '0' });
    expect(await delivering).to.deep.equal(['51']);
    expect(offsetsOf(0)).to.deep.equal(['50', '51']);
    subscription.unsubscribe();
  });

  it('follows kafkajs past control records after the last message, and past batches it filtered whole', async () => {
    const { fake, tracker, offsetsOf, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [0] }]);
    tracker.start(TOPIC, 0, { committed: '0', earliest: '0' });
    await fake.deliver(0, '0', ['0', '1'], { lastOffset: '2' });
    expect(tracker.claim(TOPIC, 0)!.position).to.equal('3');
    fake.emit('consumer.start_batch_process', {
      topic: TOPIC,
      partition: 0,
      batchSize: 0,
      firstOffset: '3',
      lastOffset: '4',
    });
    expect(tracker.claim(TOPIC, 0)!.position).to.equal('5');
    await fake.deliver(0, '5', ['5']);
    expect(offsetsOf(0)).to.deep.equal(['0', '1', '5']);
    subscription.unsubscribe();
  });

  it('commits through the latest batch payload, one request grouped by topic', async () => {
    const { fake, tracker, source, subscription } = setUp();
    tracker.assign([{ topic: TOPIC, partitions: [0, 1] }]);
    tracker.start(TOPIC, 0, { committed: '0', earliest: '0' });
    tracker.start(TOPIC, 1, { committed: '0', earliest: '0' });
    let failed: unknown;
    await source
      .commitOffsets([{ topic: TOPIC, partition: 0, offset: '1' }])
      .catch((e: unknown) => (failed = e));
    expect(String(failed)).to.match(/no batch received yet/);
    const commits: unknown[] = [];
    await fake.deliver(0, '0', ['0'], { commits });
    await source.commitOffsets([
      { topic: TOPIC, partition: 0, offset: '1' },
      { topic: TOPIC, partition: 1, offset: '9' },
    ]);
    expect(commits).to.deep.equal([
      {
        topics: [
          {
            topic: TOPIC,
            partitions: [
              { partition: 0, offset: '1' },
              { partition: 1, offset: '9' },
            ],
          },
        ],
      },
    ]);
    subscription.unsubscribe();
  });
});
