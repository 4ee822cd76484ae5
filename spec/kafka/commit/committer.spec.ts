import { expect } from 'chai';
import winston from 'winston';
import { Committer } from '../../../lib/kafka/commit/committer.js';
import { OffsetTracker, type TopicPartitionOffset } from '../../../lib/kafka/commit/offset-tracker.js';

const silent = winston.createLogger({ silent: true });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    const committer = new Committer({ commit: broker.commit, tracker, logger: silent, minIntervalMs: 10 });
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
      minIntervalMs: 10,
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
    committer.stop();
  });

  it('commits soon after messages settle, one commit in flight, no closer than minIntervalMs', async () => {
    const broker = manualBroker();
    const { tracker, settle } = trackerWith([0]);
    const committer = new Committer({ commit: broker.commit, tracker, logger: silent, minIntervalMs: 50 });
    settle(0, 0);
    committer.settled();
    await sleep(20);
    expect(broker.requests, 'the first commit goes out at once').to.have.length(1);
    const firstAt = Date.now();
    for (let offset = 1; offset < 100; offset++) {
      settle(0, offset);
      committer.settled();
    }
    await sleep(80);
    expect(broker.requests, 'nothing more while one is in flight').to.have.length(1);
    broker.requests[0]!.ack();
    while (broker.requests.length < 2) await sleep(5);
    expect(Date.now() - firstAt).to.be.at.least(45);
    expect(broker.requests[1]!.offsets).to.deep.equal([{ topic: 't', partition: 0, offset: '100' }]);
    broker.requests[1]!.ack();
    await sleep(100);
    expect(broker.requests, 'nothing due, nothing sent').to.have.length(2);
    committer.stop();
  });

  it('tries a failed commit again by itself, after retryAfterMs', async () => {
    const broker = manualBroker();
    const { tracker, settle } = trackerWith([0]);
    const committer = new Committer({
      commit: broker.commit,
      tracker,
      logger: silent,
      minIntervalMs: 10,
      retryAfterMs: 60,
    });
    settle(0, 0);
    committer.settled();
    while (broker.requests.length < 1) await sleep(5);
    const failedAt = Date.now();
    broker.requests[0]!.fail(new Error('NOT_COORDINATOR'));
    while (broker.requests.length < 2) await sleep(5);
    expect(Date.now() - failedAt).to.be.at.least(50);
    broker.requests[1]!.ack();
    await sleep(10);
    expect(tracker.due()).to.deep.equal([]);
    committer.stop();
  });

  it('sends nothing after stop() but still commits when asked', async () => {
    const broker = manualBroker();
    const { tracker, settle } = trackerWith([0]);
    const committer = new Committer({ commit: broker.commit, tracker, logger: silent, minIntervalMs: 10 });
    committer.stop();
    settle(0, 0);
    committer.settled();
    await sleep(40);
    expect(broker.requests).to.have.length(0);
    const last = committer.commitNow();
    broker.requests[0]!.ack();
    expect(await last).to.equal(true);
  });
});
