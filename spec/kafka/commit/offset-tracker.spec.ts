import { expect } from 'chai';
import {
  OffsetTracker,
  type PartitionClaim,
  type PartitionStart,
} from '../../../lib/kafka/commit/offset-tracker.js';

const byPartition = (a: { topic: string; partition: number }, b: { topic: string; partition: number }) =>
  a.topic.localeCompare(b.topic) || a.partition - b.partition;

const fresh = (earliest = '0') => ({ committed: undefined, earliest });
const committedAt = (offset: string) => ({ committed: offset, earliest: '0' });

/** A tracker owning `partitions` of `orders`, each started as given (default: from offset 0). */
function owning(partitions: number[], start: PartitionStart = fresh()): OffsetTracker {
  const tracker = new OffsetTracker();
  tracker.assign([{ topic: 'orders', partitions }]);
  for (const partition of partitions) tracker.start('orders', partition, start);
  return tracker;
}

function handOffRange(tracker: OffsetTracker, claim: PartitionClaim, from: number, to: number): void {
  for (let offset = from; offset <= to; offset += 1) tracker.handOff(claim, String(offset));
  tracker.advance(claim, String(to));
}

function settleRange(tracker: OffsetTracker, claim: PartitionClaim, from: number, to: number): void {
  for (let offset = from; offset <= to; offset += 1)
    tracker.settle(claim.topic, claim.partition, String(offset), claim.epoch);
}

const withoutEpoch = (due: Array<{ topic: string; partition: number; offset: string }>) =>
  due.map(({ topic, partition, offset }) => ({ topic, partition, offset })).sort(byPartition);

describe('OffsetTracker', () => {
  it('starts with nothing owned and nothing due', () => {
    const tracker = new OffsetTracker();
    expect(tracker.ownedPartitions()).to.deep.equal([]);
    expect(tracker.due()).to.deep.equal([]);
    expect(tracker.claim('orders', 0)).to.equal(undefined);
  });

  describe('due()', () => {
    it('lists the commit point of each owned partition that has progressed', () => {
      const tracker = new OffsetTracker();
      tracker.assign([
        { topic: 'orders', partitions: [0, 1] },
        { topic: 'users', partitions: [3] },
      ]);
      tracker.start('orders', 0, fresh());
      tracker.start('orders', 1, fresh());
      tracker.start('users', 3, fresh('100'));
      const orders0 = tracker.claim('orders', 0)!;
      const users3 = tracker.claim('users', 3)!;
      handOffRange(tracker, orders0, 0, 4);
      settleRange(tracker, orders0, 0, 2);
      handOffRange(tracker, users3, 100, 101);
      settleRange(tracker, users3, 100, 101);
      expect(withoutEpoch(tracker.due())).to.deep.equal([
        { topic: 'orders', partition: 0, offset: '3' },
        { topic: 'users', partition: 3, offset: '102' },
      ]);
    });

    it('holds the commit point at the lowest unsettled offset of the partition', () => {
      const tracker = owning([0], fresh('10'));
      const claim = tracker.claim('orders', 0)!;
      handOffRange(tracker, claim, 10, 13);
      settleRange(tracker, claim, 11, 13);
      expect(
        tracker.due().map(({ offset, metadata }) => [offset, metadata]),
        'still at its start, 10, with 11-13 finished',
      ).to.deep.equal([['10', 'mes1:3:']]);
      tracker.settle('orders', 0, '10', claim.epoch);
      expect(withoutEpoch(tracker.due())).to.deep.equal([{ topic: 'orders', partition: 0, offset: '14' }]);
    });

    it('never lists a partition before its committed offset was read after a join', () => {
      const tracker = new OffsetTracker();
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      expect(tracker.claim('orders', 0)!.position).to.equal(undefined);
      expect(tracker.due()).to.deep.equal([]);
      expect(tracker.start('orders', 0, committedAt('40')), 'a first start is no takeover').to.equal(false);
      expect(tracker.claim('orders', 0)!.position).to.equal('40');
      expect(tracker.due(), 'the committed offset itself is not due again').to.deep.equal([]);
    });

    it('commits nothing for a kept partition until the join is confirmed, then goes on', () => {
      const tracker = owning([0]);
      const claim = tracker.claim('orders', 0)!;
      handOffRange(tracker, claim, 0, 3);
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      settleRange(tracker, claim, 0, 3);
      expect(tracker.due(), 'unconfirmed after the join').to.deep.equal([]);
      tracker.start('orders', 0, fresh());
      expect(withoutEpoch(tracker.due())).to.deep.equal([{ topic: 'orders', partition: 0, offset: '4' }]);
    });
  });

  describe('ownership across group joins', () => {
    it('keeps a kept partition’s ownership, in-flight work and position through any number of joins', () => {
      const tracker = owning([0, 1]);
      const claim = tracker.claim('orders', 0)!;
      handOffRange(tracker, claim, 0, 9);
      for (let join = 0; join < 3; join++) {
        const change = tracker.assign([{ topic: 'orders', partitions: [1, 0] }]);
        expect(change.revoked).to.deep.equal([]);
        expect(change.kept.sort(byPartition)).to.deep.equal([
          { topic: 'orders', partition: 0 },
          { topic: 'orders', partition: 1 },
        ]);
        expect(tracker.start('orders', 0, fresh())).to.equal(false);
        tracker.start('orders', 1, fresh());
      }
      expect(claim.signal.aborted).to.equal(false);
      expect(tracker.claim('orders', 0)).to.equal(claim);
      expect(tracker.isCurrent(claim)).to.equal(true);
      expect(claim.position).to.equal('10');
      // The work handed off before the joins still counts.
      settleRange(tracker, claim, 0, 9);
      expect(withoutEpoch(tracker.due())).to.deep.equal([{ topic: 'orders', partition: 0, offset: '10' }]);
    });

    it('ends a revoked partition: its signal aborts and its late settles change nothing', () => {
      const tracker = new OffsetTracker();
      tracker.assign([
        { topic: 'orders', partitions: [0, 1, 2] },
        { topic: 'users', partitions: [0] },
      ]);
      for (const [topic, partition] of [
        ['orders', 0],
        ['orders', 1],
        ['orders', 2],
        ['users', 0],
      ] as const)
        tracker.start(topic, partition, fresh());
      const orders0 = tracker.claim('orders', 0)!;
      handOffRange(tracker, orders0, 0, 2);

      const { revoked, added } = tracker.assign([{ topic: 'orders', partitions: [1, 3] }]);
      expect(revoked.sort(byPartition)).to.deep.equal([
        { topic: 'orders', partition: 0 },
        { topic: 'orders', partition: 2 },
        { topic: 'users', partition: 0 },
      ]);
      expect(added).to.deep.equal([{ topic: 'orders', partition: 3 }]);
      expect(orders0.signal.aborted).to.equal(true);
      expect(tracker.isCurrent(orders0)).to.equal(false);
      expect(tracker.ownedPartitions().sort(byPartition)).to.deep.equal([
        { topic: 'orders', partition: 1 },
        { topic: 'orders', partition: 3 },
      ]);
      settleRange(tracker, orders0, 0, 2);
      tracker.start('orders', 1, fresh());
      tracker.start('orders', 3, fresh());
      expect(tracker.due()).to.deep.equal([]);
    });

    it('starts a partition assigned again at the broker’s committed offset, ignoring the old ownership', () => {
      const tracker = owning([0]);
      const old = tracker.claim('orders', 0)!;
      handOffRange(tracker, old, 0, 9);
      tracker.assign([]);
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      tracker.start('orders', 0, committedAt('6'));
      const claim = tracker.claim('orders', 0)!;
      expect(claim.epoch).to.not.equal(old.epoch);
      expect(claim.position).to.equal('6');
      settleRange(tracker, old, 0, 9);
      expect(tracker.due(), 'old settles count for nothing').to.deep.equal([]);
      handOffRange(tracker, claim, 6, 7);
      tracker.settle('orders', 0, '6', claim.epoch);
      expect(withoutEpoch(tracker.due())).to.deep.equal([{ topic: 'orders', partition: 0, offset: '7' }]);
    });

    it('starts anew a kept partition that another member committed past meanwhile', () => {
      const tracker = owning([0]);
      const old = tracker.claim('orders', 0)!;
      handOffRange(tracker, old, 0, 9);
      settleRange(tracker, old, 0, 3);
      tracker.committed(tracker.due());
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      // We were out of the group long enough for another member to commit 8.
      expect(tracker.start('orders', 0, committedAt('8'))).to.equal(true);
      expect(old.signal.aborted).to.equal(true);
      const claim = tracker.claim('orders', 0)!;
      expect(claim.position).to.equal('8');
      settleRange(tracker, old, 4, 9);
      expect(tracker.due(), 'nothing of ours may go below 8').to.deep.equal([]);
    });

    it('keeps a kept partition whose committed offset is our own last commit', () => {
      const tracker = owning([0]);
      const claim = tracker.claim('orders', 0)!;
      handOffRange(tracker, claim, 0, 9);
      settleRange(tracker, claim, 0, 3);
      tracker.committed(tracker.due());
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      expect(tracker.start('orders', 0, committedAt('4'))).to.equal(false);
      expect(tracker.claim('orders', 0)).to.equal(claim);
      expect(claim.position).to.equal('10');
    });

    it('wakes an intake waiting for the start, and one waiting on a partition that ends', async () => {
      const tracker = new OffsetTracker();
      tracker.assign([{ topic: 'orders', partitions: [0, 1] }]);
      const zero = tracker.claim('orders', 0)!;
      const one = tracker.claim('orders', 1)!;
      const started = Date.now();
      const waits = [tracker.whenConfirmed(zero, 10_000), tracker.whenConfirmed(one, 10_000)];
      tracker.start('orders', 0, fresh());
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      await Promise.all(waits);
      expect(Date.now() - started).to.be.lessThan(5_000);
      expect(tracker.isCurrent(one)).to.equal(false);
    });
  });

  describe('positions', () => {
    it('advances past the last offset handed off, never backwards', () => {
      const tracker = owning([0]);
      const claim = tracker.claim('orders', 0)!;
      tracker.advance(claim, '99');
      expect(claim.position).to.equal('100');
      tracker.advance(claim, '50');
      expect(claim.position).to.equal('100');
      tracker.advance(claim, '9007199254740993');
      expect(claim.position).to.equal('9007199254740994');
    });

    it('follows a batch kafkajs resolved by itself only when it continued the position', () => {
      const tracker = owning([0]);
      const claim = tracker.claim('orders', 0)!;
      tracker.advance(claim, '9');
      tracker.skippedByClient('orders', 0, '12', '20');
      expect(claim.position, 'a batch from past the position is stale').to.equal('10');
      tracker.skippedByClient('orders', 0, '10', '20');
      expect(claim.position).to.equal('21');
      tracker.skippedByClient('orders', 0, null, '21');
      expect(claim.position).to.equal('22');
    });
  });

  describe('committed()', () => {
    it('makes due() empty until the partition progresses again', () => {
      const tracker = owning([0]);
      const claim = tracker.claim('orders', 0)!;
      handOffRange(tracker, claim, 0, 1);
      settleRange(tracker, claim, 0, 1);
      const due = tracker.due();
      expect(withoutEpoch(due)).to.deep.equal([{ topic: 'orders', partition: 0, offset: '2' }]);
      tracker.committed(due);
      expect(tracker.due()).to.deep.equal([]);
      expect(tracker.positions()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '2' }]);
      tracker.handOff(claim, '2');
      expect(tracker.due(), 'a hand-off alone does not move the commit point').to.deep.equal([]);
      tracker.settle('orders', 0, '2', claim.epoch);
      expect(withoutEpoch(tracker.due())).to.deep.equal([{ topic: 'orders', partition: 0, offset: '3' }]);
    });

    it('only clears the partitions that were committed', () => {
      const tracker = owning([0, 1]);
      for (const partition of [0, 1]) {
        const claim = tracker.claim('orders', partition)!;
        handOffRange(tracker, claim, 0, 0);
        settleRange(tracker, claim, 0, 0);
      }
      tracker.committed(tracker.due().filter(({ partition }) => partition === 1));
      expect(withoutEpoch(tracker.due())).to.deep.equal([{ topic: 'orders', partition: 0, offset: '1' }]);
    });

    it('ignores a commit acknowledged for an ownership that has ended since', () => {
      const tracker = owning([0]);
      const old = tracker.claim('orders', 0)!;
      handOffRange(tracker, old, 0, 2);
      settleRange(tracker, old, 0, 2);
      const due = tracker.due();
      tracker.assign([]);
      tracker.assign([{ topic: 'orders', partitions: [0] }]);
      tracker.start('orders', 0, fresh());
      const claim = tracker.claim('orders', 0)!;
      handOffRange(tracker, claim, 0, 0);
      settleRange(tracker, claim, 0, 0);
      tracker.committed(due);
      expect(withoutEpoch(tracker.due()), 'the old commit does not count').to.deep.equal([
        { topic: 'orders', partition: 0, offset: '1' },
      ]);
    });
  });
});

describe('OffsetTracker commit metadata', () => {
  it('commits which offsets above a stuck one finished, and a new owner skips exactly those', () => {
    const tracker = owning([0], committedAt('0'));
    const claim = tracker.claim('orders', 0)!;
    handOffRange(tracker, claim, 0, 9);
    settleRange(tracker, claim, 1, 9);
    tracker.settle('orders', 0, '0', claim.epoch - 1); // another ownership's settle: ignored
    const [due] = tracker.due();
    expect(due!.offset, 'held by the stuck offset 0').to.equal('0');
    expect(due!.metadata).to.equal('mes1:9:');
    tracker.committed([due!]);
    expect(tracker.due(), 'nothing new settled').to.deep.equal([]);

    const next = new OffsetTracker();
    next.assign([{ topic: 'orders', partitions: [0] }]);
    next.start('orders', 0, { committed: '0', earliest: '0', metadata: due!.metadata! });
    const mine = next.claim('orders', 0)!;
    const run = ['0', '1', '5', '9', '10'].filter((offset) => !next.skipFinished(mine, offset));
    expect(run, 'only the unfinished one and what came after').to.deep.equal(['0', '10']);
  });

  it('refreshes the metadata when more settle behind a commit point that does not move', () => {
    const tracker = owning([0], committedAt('0'));
    const claim = tracker.claim('orders', 0)!;
    handOffRange(tracker, claim, 0, 5);
    settleRange(tracker, claim, 1, 2);
    tracker.committed(tracker.due());
    settleRange(tracker, claim, 3, 3);
    const [due] = tracker.due();
    expect(due).to.include({ offset: '0', metadata: 'mes1:5:4,5' });
  });
});
