import { expect } from 'chai';
import { EndTracker, Pacer } from '../../lib/cli/progress.js';

describe('EndTracker', () => {
  it('counts a partition with nothing between its start and end as finished from the start', () => {
    const tracker = new EndTracker([
      { partition: 0, from: 0n, end: 0n },
      { partition: 1, from: 7n, end: 7n },
    ]);
    expect(tracker.allDone()).to.equal(true);
  });

  it('hands out records from the start to before the end, and finishes at the last', () => {
    const tracker = new EndTracker([
      { partition: 0, from: 2n, end: 5n },
      { partition: 1, from: 0n, end: 1n },
    ]);
    expect(tracker.wanted(0, 1n)).to.equal('before');
    expect(tracker.wanted(0, 2n)).to.equal('wanted');
    expect(tracker.wanted(0, 4n)).to.equal('wanted');
    expect(tracker.wanted(0, 5n)).to.equal('past-end');
    expect(tracker.readUpTo(0, 3n)).to.equal(false);
    expect(tracker.readUpTo(0, 4n)).to.equal(true);
    expect(tracker.allDone()).to.equal(false);
    expect(tracker.donePartitions()).to.deep.equal([0]);
    expect(tracker.readUpTo(1, 0n)).to.equal(true);
    expect(tracker.allDone()).to.equal(true);
  });

  it('finishes a partition when a record past the end (a control record, say) is seen', () => {
    const tracker = new EndTracker([{ partition: 0, from: 0n, end: 10n }]);
    expect(tracker.readUpTo(0, 12n)).to.equal(true);
  });

  it('wants nothing of a partition outside the plan', () => {
    const tracker = new EndTracker([{ partition: 0, from: 0n, end: 1n }]);
    expect(tracker.wanted(3, 0n)).to.equal('past-end');
    expect(tracker.isDone(3)).to.equal(true);
  });

  it('works with offsets beyond 2^53', () => {
    const end = 9007199254740995n;
    const tracker = new EndTracker([{ partition: 0, from: end - 3n, end }]);
    expect(tracker.readUpTo(0, end - 3n)).to.equal(false);
    expect(tracker.readUpTo(0, end - 1n)).to.equal(true);
  });
});

describe('Pacer', () => {
  it('never waits without a rate', () => {
    const pacer = new Pacer(undefined);
    expect([pacer.delay(0), pacer.delay(0), pacer.delay(0)]).to.deep.equal([0, 0, 0]);
  });

  it('spaces messages 1/rate seconds apart', () => {
    const pacer = new Pacer(4);
    expect([pacer.delay(1000), pacer.delay(1000), pacer.delay(1000)]).to.deep.equal([0, 250, 500]);
  });

  it('counts the time already spent, and does not burst after a slow stretch', () => {
    const pacer = new Pacer(10);
    expect(pacer.delay(0)).to.equal(0);
    expect(pacer.delay(60)).to.equal(40);
    // Sent at 100; the next one is asked for long after: no catching up.
    expect(pacer.delay(5000)).to.equal(0);
    expect(pacer.delay(5000)).to.equal(100);
  });
});
