import { expect } from 'chai';
import { OffsetTracker } from '../../lib/commit/offset-tracker.js';

const byPartition = (a: { topic: string; partition: number }, b: { topic: string; partition: number }) =>
  a.topic.localeCompare(b.topic) || a.partition - b.partition;

function handOffRange(
  tracker: OffsetTracker,
  topic: string,
  partition: number,
  from: number,
  to: number,
  generation: number,
): void {
  for (let offset = from; offset <= to; offset += 1)
    tracker.handOff(topic, partition, String(offset), generation);
}

function settleRange(
  tracker: OffsetTracker,
  topic: string,
  partition: number,
  from: number,
  to: number,
  generation: number,
): void {
  for (let offset = from; offset <= to; offset += 1)
    tracker.settle(topic, partition, String(offset), generation);
}

describe('OffsetTracker', () => {
  it('starts at generation 0 with nothing owned and nothing due', () => {
    const tracker = new OffsetTracker();
    expect(tracker.generation).to.equal(0);
    expect(tracker.ownedPartitions()).to.deep.equal([]);
    expect(tracker.due()).to.deep.equal([]);
  });

  describe('due()', () => {
    it('lists the commit point of each owned partition that has progressed', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [
        { topic: 'orders', partitions: [0, 1] },
        { topic: 'users', partitions: [3] },
      ]);
      handOffRange(tracker, 'orders', 0, 0, 4, 1);
      settleRange(tracker, 'orders', 0, 0, 2, 1);
      handOffRange(tracker, 'users', 3, 100, 101, 1);
      settleRange(tracker, 'users', 3, 100, 101, 1);
      expect(tracker.due().sort(byPartition)).to.deep.equal([
        { topic: 'orders', partition: 0, offset: '3' },
        { topic: 'users', partition: 3, offset: '102' },
      ]);
    });

    it('leaves out owned partitions that had no hand-off yet', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0, 1] }]);
      handOffRange(tracker, 'orders', 1, 7, 7, 1);
      tracker.settle('orders', 1, '7', 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 1, offset: '8' }]);
    });

    it('never lists a partition this member does not own, whatever is handed off or settled there', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 1, 0, 3, 1);
      settleRange(tracker, 'orders', 1, 0, 3, 1);
      handOffRange(tracker, 'other', 0, 0, 3, 1);
      settleRange(tracker, 'other', 0, 0, 3, 1);
      handOffRange(tracker, 'orders', 0, 0, 0, 1);
      tracker.settle('orders', 0, '0', 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '1' }]);
    });

    it('holds the commit point at the lowest unsettled offset of the partition', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 10, 13, 1);
      settleRange(tracker, 'orders', 0, 11, 13, 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '10' }]);
      tracker.settle('orders', 0, '10', 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '14' }]);
    });
  });

  describe('generations', () => {
    it('never lets settles from an older generation move a newer generation’s watermark', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 0, 4, 1);
      tracker.assign(2, [{ topic: 'orders', partitions: [0] }]);
      expect(tracker.generation).to.equal(2);

      settleRange(tracker, 'orders', 0, 0, 4, 1);
      expect(tracker.due(), 'late gen-1 settles before any gen-2 hand-off').to.deep.equal([]);

      // Generation 2 refetches from the committed offset; the old settles must not count.
      handOffRange(tracker, 'orders', 0, 0, 4, 2);
      settleRange(tracker, 'orders', 0, 0, 4, 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '0' }]);

      tracker.settle('orders', 0, '0', 2);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '1' }]);
    });

    it('ignores hand-offs stamped with an older generation', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      tracker.assign(2, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 5, 6, 1);
      expect(tracker.due()).to.deep.equal([]);
      handOffRange(tracker, 'orders', 0, 5, 6, 2);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '5' }]);
    });

    it('returns the revoked partitions from assign() and never lists them as due again', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [
        { topic: 'orders', partitions: [0, 1, 2] },
        { topic: 'users', partitions: [0] },
      ]);
      handOffRange(tracker, 'orders', 0, 0, 2, 1);
      handOffRange(tracker, 'users', 0, 0, 2, 1);

      const revoked = tracker.assign(2, [{ topic: 'orders', partitions: [1, 3] }]);
      expect(revoked.sort(byPartition)).to.deep.equal([
        { topic: 'orders', partition: 0 },
        { topic: 'orders', partition: 2 },
        { topic: 'users', partition: 0 },
      ]);
      expect(tracker.ownedPartitions().sort(byPartition)).to.deep.equal([
        { topic: 'orders', partition: 1 },
        { topic: 'orders', partition: 3 },
      ]);

      // In-flight work of the revoked partitions finishes late, in either generation's name.
      settleRange(tracker, 'orders', 0, 0, 2, 1);
      settleRange(tracker, 'users', 0, 0, 2, 1);
      handOffRange(tracker, 'orders', 0, 3, 4, 2);
      settleRange(tracker, 'orders', 0, 3, 4, 2);
      expect(tracker.due()).to.deep.equal([]);

      handOffRange(tracker, 'orders', 1, 0, 0, 2);
      tracker.settle('orders', 1, '0', 2);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 1, offset: '1' }]);
    });

    it('revokes nothing when the assignment is unchanged', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0, 1] }]);
      expect(tracker.assign(2, [{ topic: 'orders', partitions: [1, 0] }])).to.deep.equal([]);
    });
  });

  describe('committed()', () => {
    it('makes due() empty until the partition progresses again', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 0, 1, 1);
      settleRange(tracker, 'orders', 0, 0, 1, 1);
      const due = tracker.due();
      expect(due).to.deep.equal([{ topic: 'orders', partition: 0, offset: '2' }]);

      tracker.committed(due, 1);
      expect(tracker.due()).to.deep.equal([]);

      // A hand-off alone does not move the commit point: still nothing due.
      tracker.handOff('orders', 0, '2', 1);
      expect(tracker.due()).to.deep.equal([]);

      tracker.settle('orders', 0, '2', 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '3' }]);
    });

    it('only clears the partitions that were committed', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0, 1] }]);
      for (const partition of [0, 1]) {
        tracker.handOff('orders', partition, '0', 1);
        tracker.settle('orders', partition, '0', 1);
      }
      tracker.committed([{ topic: 'orders', partition: 1, offset: '1' }], 1);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '1' }]);
    });

    it('ignores a commit recorded under an older generation', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 0, 2, 1);
      settleRange(tracker, 'orders', 0, 0, 2, 1);
      const due = tracker.due();
      tracker.assign(2, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 3, 3, 2);

      tracker.committed(due, 1);
      expect(tracker.due(), 'a gen-1 commit must not count for gen 2').to.deep.equal([
        { topic: 'orders', partition: 0, offset: '3' },
      ]);

      tracker.committed([{ topic: 'orders', partition: 0, offset: '3' }], 2);
      expect(tracker.due()).to.deep.equal([]);
    });

    it('carries the last commit across a generation that keeps the partition', () => {
      const tracker = new OffsetTracker();
      tracker.assign(1, [{ topic: 'orders', partitions: [0] }]);
      handOffRange(tracker, 'orders', 0, 0, 2, 1);
      settleRange(tracker, 'orders', 0, 0, 2, 1);
      tracker.committed(tracker.due(), 1);
      tracker.assign(2, [{ topic: 'orders', partitions: [0] }]);
      // Refetched from the committed offset: nothing new to commit until it settles.
      tracker.handOff('orders', 0, '3', 2);
      expect(tracker.due()).to.deep.equal([]);
      tracker.settle('orders', 0, '3', 2);
      expect(tracker.due()).to.deep.equal([{ topic: 'orders', partition: 0, offset: '4' }]);
    });
  });
});
