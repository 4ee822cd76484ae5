import { expect } from 'chai';
import winston from 'winston';
import { Committer } from '../../../lib/kafka/commit/committer.js';
import { OffsetTracker, type TopicPartitionOffset } from '../../../lib/kafka/commit/offset-tracker.js';

const silent = winston.createLogger({ silent: true });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// When commits go out after settles is commitAfterSettles's (spec/core/commit-after-settles.spec.ts).

interface Request {
  offsets: TopicPartitionOffset[];
  ack(): void;
  fail(error: Error): void;
}

/** A broker whose commit requests are answered by the spec, one by one. */
function manualBroker() {
  const requests: Request[] = [];
  return {
    requests,
    commit(offsets: TopicPartitionOffset[]): Promise<void> {
      return new Promise((resolve, reject) => requests.push({ offsets, ack: resolve, fail: reject }));
    },
  };
}

function trackerWith(partitions: number[]) {
  const tracker = new OffsetTracker();
  tracker.assign([{ topic: 't', partitions }]);
  for (const partition of partitions) tracker.start('t', partition, { committed: undefined, earliest: '0' });
  const settle = (partition: number, ...offsets: number[]) => {
    const claim = tracker.claim('t', partition)!;
    for (const offset of offsets) {
      tracker.handOff(claim, String(offset));
      tracker.settle('t', partition, String(offset), claim.epoch);
    }
  };
  return { tracker, settle };
}

describe('Committer', () => {
  it('commits what settled since a commit in flight began, once that one is done', async () => {
    const broker = manualBroker();
    const { tracker, settle } = trackerWith([0]);
    const committer = new Committer({ commit: broker.commit, tracker, logger: silent });
    settle(0, 0, 1);
    const first = committer.commitNow();
    expect(broker.requests.map((r) => r.offsets)).to.deep.equal([
      [{ topic: 't', partition: 0, offset: '2' }],
    ]);

    // Asked again while the first is in flight, after more settled: it must not hand back
    // the first commit, which does not carry offset 4.
    settle(0, 2, 3);
    let secondDone = false;
    const second = committer.commitNow().then((ok) => ((secondDone = true), ok));
    const third = committer.commitNow();
    broker.requests[0]!.ack();
    expect(await first).to.equal(true);
    await sleep(0);
    expect(secondDone).to.equal(false);
    expect(broker.requests).to.have.length(2);
    expect(broker.requests[1]!.offsets).to.deep.equal([{ topic: 't', partition: 0, offset: '4' }]);
    broker.requests[1]!.ack();
    expect(await second).to.equal(true);
    expect(await third, 'callers meanwhile share the follow-up').to.equal(true);
    expect(broker.requests).to.have.length(2);
    expect(tracker.due()).to.deep.equal([]);
  });

  it('records only what the broker acknowledged: a failed commit stays due and says so', async () => {
    const broker = manualBroker();
    const { tracker, settle } = trackerWith([0]);
    const failures: unknown[] = [];
    const committed: TopicPartitionOffset[][] = [];
    const committer = new Committer({
      commit: broker.commit,
      tracker,
      logger: silent,
      onCommitFailed: (error) => failures.push(error),
      onCommitted: (offsets) => committed.push(offsets),
    });
    settle(0, 0);
    const attempt = committer.commitNow();
    broker.requests[0]!.fail(new Error('REBALANCE_IN_PROGRESS'));
    expect(await attempt).to.equal(false);
    expect(failures).to.have.length(1);
    expect(committed).to.deep.equal([]);
    expect(tracker.due().map(({ offset }) => offset)).to.deep.equal(['1']);
  });
});
