import { expect } from 'chai';
import { backoffDelay, DEFAULT_BACKOFF_POLICY, resolveBackoffPolicy } from '../../lib/core/backoff.js';

const middle = () => 0.5;

describe('backoffDelay', () => {
  it('grows from 100 ms by ×2 with the defaults (random 0.5 = no jitter)', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, {}, middle));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1600]);
  });

  it('applies the policy it is given', () => {
    const policy = { baseDelayMs: 50, multiplier: 3, maxDelayMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy))).to.deep.equal([50, 150, 450, 1000]);
  });

  it('caps at maxDelayMs: base 1000, max 1500 gives 1000, 1500, 1500', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 1500 };
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, policy, middle))).to.deep.equal([
      1000, 1500, 1500,
    ]);
  });

  it('reaches the cap instead of Infinity or NaN for huge attempt numbers', () => {
    expect(backoffDelay(10_000, {}, middle)).to.equal(10_000);
    expect(backoffDelay(10_000, { baseDelayMs: 0 }, middle)).to.equal(0);
  });

  it('keeps a constant delay with multiplier 1', () => {
    expect([1, 5, 50].map((attempt) => backoffDelay(attempt, { multiplier: 1 }, middle))).to.deep.equal([
      100, 100, 100,
    ]);
  });

  it('spreads uniformly over ±jitter of the delay', () => {
    expect(backoffDelay(1, {}, () => 0)).to.equal(80);
    expect(backoffDelay(1, {}, () => 0.25)).to.equal(90);
    expect(backoffDelay(1, {}, () => 0.75)).to.be.closeTo(110, 1e-9);
    expect(backoffDelay(1, {}, () => 1)).to.be.closeTo(120, 1e-9);
    for (let i = 0; i < 1000; i++) {
      const delay = backoffDelay(3, {});
      expect(delay).to.be.within(320, 480);
    }
  });

  it('never exceeds maxDelayMs, jitter included', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 1500, jitter: 0.5 };
    expect(backoffDelay(2, policy, () => 1)).to.equal(1500);
    expect(backoffDelay(2, policy, () => 0)).to.equal(750);
    expect(backoffDelay(1, policy, () => 1)).to.equal(1500);
  });

  it('is never negative, even with full jitter or a misbehaving random source', () => {
    expect(backoffDelay(1, { jitter: 1 }, () => 0)).to.equal(0);
    expect(backoffDelay(1, { jitter: 1 }, () => -5)).to.equal(0);
    expect(backoffDelay(1, {}, () => Number.NaN)).to.equal(80);
    expect(backoffDelay(1, {}, () => 7)).to.be.closeTo(120, 1e-9);
  });

  it('uses Math.random when no source is given', () => {
    const original = Math.random;
    Math.random = () => 0;
    try {
      expect(backoffDelay(1)).to.equal(80);
    } finally {
      Math.random = original;
    }
  });

  it('rejects attempt numbers that are not integers >= 1', () => {
    for (const attempt of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => backoffDelay(attempt), String(attempt)).to.throw(RangeError, /attempt/);
    }
  });

  it('rejects an invalid policy', () => {
    expect(() => backoffDelay(1, { baseDelayMs: -1 })).to.throw(RangeError, /baseDelayMs/);
    expect(() => backoffDelay(1, { multiplier: 0.5 })).to.throw(RangeError, /multiplier/);
    expect(() => backoffDelay(1, { maxDelayMs: Number.NaN })).to.throw(RangeError, /maxDelayMs/);
    expect(() => backoffDelay(1, { jitter: 1.5 })).to.throw(RangeError, /jitter/);
    expect(() => backoffDelay(1, { jitter: -0.1 })).to.throw(RangeError, /jitter/);
  });
});

describe('resolveBackoffPolicy', () => {
  it('fills the defaults: 100 ms, ×2, cap 10 s, jitter 0.2', () => {
    expect(resolveBackoffPolicy()).to.deep.equal({
      baseDelayMs: 100,
      multiplier: 2,
      maxDelayMs: 10_000,
      jitter: 0.2,
    });
    expect(resolveBackoffPolicy({ maxDelayMs: 5 })).to.deep.equal({
      ...DEFAULT_BACKOFF_POLICY,
      maxDelayMs: 5,
    });
  });

  it('treats undefined fields as absent', () => {
    expect(resolveBackoffPolicy({ jitter: undefined })).to.deep.equal(DEFAULT_BACKOFF_POLICY);
  });
});
