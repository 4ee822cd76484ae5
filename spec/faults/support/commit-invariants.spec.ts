import { expect } from 'chai';
import { checkCommitInvariants, type CommitObservation, type FinishedAt } from './commit-invariants.js';

const seen = (at: number, committed: Record<number, string>): CommitObservation => ({
  at,
  committed: new Map(Object.entries(committed).map(([partition, offset]) => [Number(partition), offset])),
});

/** Finish times by "partition:offset"; anything not listed never finished. */
const finished =
  (times: Record<string, number>): FinishedAt =>
  (partition, offset) =>
    times[`${partition}:${offset}`];

describe('commit invariants', () => {
  it('finds nothing when commits only move forward over finished work', () => {
    const violations = checkCommitInvariants(
      [seen(100, { 0: '-1', 1: '-1' }), seen(200, { 0: '2', 1: '-1' }), seen(300, { 0: '2', 1: '1' })],
      finished({ '0:0': 150, '0:1': 200, '1:0': 250, '1:5': 999 }),
    );
    expect(violations).to.deep.equal({ backwardMoves: [], pastUnfinished: [] });
  });

  it('reports a committed offset that moves backwards, and one that disappears', () => {
    const violations = checkCommitInvariants(
      [seen(100, { 0: '3', 1: '2' }), seen(200, { 0: '1', 1: '2' }), seen(300, { 0: '3', 1: '-1' })],
      finished({ '0:0': 0, '0:1': 0, '0:2': 0, '1:0': 0, '1:1': 0 }),
    );
    expect(violations.backwardMoves).to.deep.equal([
      { partition: 0, from: '3', to: '1', at: 200 },
      { partition: 1, from: '2', to: '-1', at: 300 },
    ]);
    expect(violations.pastUnfinished).to.deep.equal([]);
  });

  it('reports a commit past a message finished only after it, or never', () => {
    const violations = checkCommitInvariants(
      [seen(100, { 0: '1' }), seen(200, { 0: '4' }), seen(300, { 0: '4' })],
      // 0:1 finished after the commit that covered it was seen; 0:2 never did.
      finished({ '0:0': 90, '0:1': 250, '0:3': 200 }),
    );
    expect(violations.backwardMoves).to.deep.equal([]);
    expect(violations.pastUnfinished).to.deep.equal([
      { partition: 0, offset: '1', committed: '4', at: 200, finishedAt: 250 },
      { partition: 0, offset: '2', committed: '4', at: 200, finishedAt: undefined },
    ]);
  });

  it('judges each offset once, at the first observation covering it, even after a backward move', () => {
    const violations = checkCommitInvariants(
      [seen(100, { 0: '2' }), seen(200, { 0: '1' }), seen(300, { 0: '2' })],
      finished({ '0:0': 50, '0:1': 150 }),
    );
    expect(violations.backwardMoves).to.have.length(1);
    expect(violations.pastUnfinished).to.deep.equal([
      { partition: 0, offset: '1', committed: '2', at: 100, finishedAt: 150 },
    ]);
  });

  it('leaves offsets below judgedFrom alone and allows the clock tolerance', () => {
    const violations = checkCommitInvariants(
      [seen(100, { 0: '12', 1: '1' })],
      finished({ '0:10': 100, '0:11': 104, '1:0': 106 }),
      { judgedFrom: new Map([[0, '10']]), toleranceMs: 5 },
    );
    expect(violations.pastUnfinished).to.deep.equal([
      { partition: 1, offset: '0', committed: '1', at: 100, finishedAt: 106 },
    ]);
  });

  it('walks offsets beyond 2^53 as bigint', () => {
    const base = 2n ** 60n;
    const violations = checkCommitInvariants(
      [seen(100, { 0: String(base + 2n) })],
      finished({ [`0:${base}`]: 10 }),
      { judgedFrom: new Map([[0, String(base)]]) },
    );
    expect(violations.pastUnfinished.map((v) => v.offset)).to.deep.equal([String(base + 1n)]);
  });
});
