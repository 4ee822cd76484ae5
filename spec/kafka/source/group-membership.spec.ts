import { expect } from 'chai';
import type { Consumer } from 'kafkajs';
import { OffsetTracker, type PartitionStart } from '../../../lib/kafka/commit/offset-tracker.js';
import { GroupMembership } from '../../../lib/kafka/source/group-membership.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fakeConsumer() {
  const listeners = new Map<string, Array<(event: { payload: unknown }) => void>>();
  const consumer = {
    events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', STOP: 'stop' },
    on(event: string, listener: (event: { payload: unknown }) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
  };
  return {
    consumer: consumer as unknown as Consumer,
    join: (memberAssignment: Record<string, number[]>) =>
      listeners.get('join')?.forEach((l) => l({ payload: { memberAssignment } })),
  };
}

describe('GroupMembership', () => {
  it('starts each assigned partition at the committed offset read after the join', async () => {
    const fake = fakeConsumer();
    const tracker = new OffsetTracker();
    const reads: Array<[string, number[]]> = [];
    new GroupMembership(
      fake.consumer,
      tracker,
      async (topic, partitions) => {
        reads.push([topic, partitions]);
        return new Map<number, PartitionStart>(
          partitions.map((p) => [p, { committed: p === 0 ? '42' : undefined, earliest: '7' }]),
        );
      },
      { onJoin: () => undefined, onRebalancing: () => undefined },
    );
    fake.join({ events: [0, 1] });
    expect(tracker.claim('events', 0)!.position, 'unknown until read').to.equal(undefined);
    await sleep(10);
    expect(reads).to.deep.equal([['events', [0, 1]]]);
    expect(tracker.claim('events', 0)!.position).to.equal('42');
    expect(tracker.claim('events', 1)!.position).to.equal('7');
  });

  it('retries a failed read, and lets a newer join supersede a read still under way', async () => {
    const fake = fakeConsumer();
    const tracker = new OffsetTracker();
    let calls = 0;
    const failures: unknown[] = [];
    const confirmed: number[] = [];
    new GroupMembership(
      fake.consumer,
      tracker,
      async (_topic, partitions) => {
        calls += 1;
        if (calls === 1) throw new Error('NOT_COORDINATOR');
        return new Map<number, PartitionStart>(partitions.map((p) => [p, { committed: '5', earliest: '0' }]));
      },
      {
        onJoin: () => undefined,
        onRebalancing: () => undefined,
        onStartsFailed: (error) => failures.push(error),
        onConfirmed: (join) => confirmed.push(join),
      },
      20,
    );
    fake.join({ events: [0] });
    await sleep(5);
    fake.join({ events: [1] });
    await sleep(60);
    expect(failures).to.have.length(1);
    expect(confirmed, 'only the newer join completes').to.deep.equal([2]);
    expect(tracker.claim('events', 0)).to.equal(undefined);
    expect(tracker.claim('events', 1)!.position).to.equal('5');
  });
});
