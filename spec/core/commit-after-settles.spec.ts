import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { commitAfterSettles } from '../../lib/core/commit-after-settles.js';
import type { Settlement } from '../../lib/core/handle-message.js';
import { makeDelivery } from '../operators/support/delivery.js';

const settlements: Record<string, Settlement> = {
  p: { delivery: makeDelivery(), outcome: 'processed' },
  d: { delivery: makeDelivery(), outcome: 'dead-lettered', error: new Error('bad') },
  a: { delivery: makeDelivery(), outcome: 'abandoned' },
};

interface Run {
  /** Marbles of the settlements: p processed, d dead-lettered, a abandoned. */
  settles: string;
  /** One cold marble per commit, in order: t acknowledged, f not; later ones answer (t|). */
  answers?: string[];
  minIntervalMs?: number;
  retryAfterMs?: number;
  /** Unsubscribe marble (as for expectObservable). */
  unsubscribe?: string;
  /** The acknowledged commits the operator emits (t), as a marble. */
  expected: string;
}

/** Runs commitAfterSettles in virtual time; returns the frames at which commits started. */
function run({ settles, answers = [], minIntervalMs = 50, retryAfterMs = 60, unsubscribe, expected }: Run) {
  const starts: number[] = [];
  const scheduler = new TestScheduler((actual, wanted) => {
    expect(actual).to.deep.equal(wanted);
  });
  scheduler.run(({ cold, hot, expectObservable }) => {
    const commits = answers.map((marbles) => cold(marbles, { t: true, f: false }));
    const output = (hot(settles, settlements) as Observable<Settlement>).pipe(
      commitAfterSettles({
        commitNow: () => {
          starts.push(scheduler.now());
          return commits[starts.length - 1] ?? cold('(t|)', { t: true });
        },
        minIntervalMs,
        retryAfterMs,
      }),
    );
    expectObservable(output, unsubscribe).toBe(expected, { t: true });
  });
  return starts;
}

describe('commitAfterSettles (the commit subscriber)', () => {
  it('commits at once after the first settle, and once more for what settled during the interval', () => {
    const starts = run({ settles: 'p 9ms pp 9ms p', expected: 't 49ms t' });
    expect(starts).to.deep.equal([0, 50]);
  });

  it('asks for one commit for messages settled together', () => {
    expect(run({ settles: '(ppdp)', expected: 't' })).to.deep.equal([0]);
  });

  it('keeps one commit in flight: the next starts once it is acknowledged', () => {
    const starts = run({ settles: 'p 9ms p', answers: ['100ms (t|)'], expected: '100ms (tt)' });
    expect(starts).to.deep.equal([0, 100]);
  });

  it('never starts two commits closer than the interval', () => {
    const starts = run({
      settles: 'p 19ms p 19ms p 19ms p 19ms p',
      minIntervalMs: 30,
      expected: 't 29ms t 29ms t 29ms t',
    });
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).to.be.at.least(30);
    expect(starts).to.have.length(4);
  });

  it('counts a dead-lettered message as settled, an abandoned one as nothing to commit', () => {
    expect(run({ settles: 'd', expected: 't' })).to.deep.equal([0]);
    expect(run({ settles: 'a 9ms a', expected: '' })).to.deep.equal([]);
  });

  it('tries a commit the broker did not acknowledge again after retryAfterMs', () => {
    const starts = run({
      settles: 'p',
      answers: ['5ms (f|)', '5ms (f|)'],
      retryAfterMs: 60,
      expected: '130ms t',
    });
    expect(starts).to.deep.equal([0, 65, 130]);
  });

  it('asks for nothing more once unsubscribed', () => {
    const starts = run({ settles: 'p 59ms p 9ms p', unsubscribe: '^ 30ms !', expected: 't' });
    expect(starts).to.deep.equal([0]);
  });
});
