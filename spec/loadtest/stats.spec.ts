import { expect } from 'chai';
import {
  maxOf,
  histogram,
  oneTwoFiveEdges,
  percentile,
  RateSeries,
  Samples,
  summarize,
} from '../../loadtest/stats.js';

describe('loadtest statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1); // 1…100
    expect(percentile(sorted, 50)).to.equal(50);
    expect(percentile(sorted, 90)).to.equal(90);
    expect(percentile(sorted, 99)).to.equal(99);
    expect(percentile(sorted, 100)).to.equal(100);
    expect(percentile(sorted, 0)).to.equal(1);
    expect(percentile([7], 99)).to.equal(7);
    expect(percentile([1, 2, 3, 4], 50)).to.equal(2);
    expect(percentile([1, 2, 3, 4], 51)).to.equal(3);
    expect(Number.isNaN(percentile([], 50))).to.equal(true);
    expect(() => percentile([1], 101)).to.throw(RangeError);
  });

  it('summarizes unsorted samples numerically (not as strings) without changing them', () => {
    const values = [100, 9, 20, 3, 1000];
    const s = summarize(values);
    expect(s).to.deep.equal({ count: 5, min: 3, mean: 226.4, p50: 20, p90: 1000, p99: 1000, max: 1000 });
    expect(values).to.deep.equal([100, 9, 20, 3, 1000]);
    expect(summarize([])).to.deep.equal({
      count: 0,
      min: null,
      mean: null,
      p50: null,
      p90: null,
      p99: null,
      max: null,
    });
  });

  it('finds p99 of a long tail', () => {
    const values = [...Array.from({ length: 990 }, () => 5), ...Array.from({ length: 10 }, () => 500)];
    expect(summarize(values)).to.include({ p50: 5, p90: 5, p99: 5, max: 500 });
    values.push(500);
    expect(summarize(values).p99).to.equal(500);
  });

  it('keeps growing samples in a typed array', () => {
    const samples = new Samples(2);
    for (let i = 0; i < 10; i++) samples.push(i);
    expect(Array.from(samples.values())).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('counts a histogram over ascending edges, the last bucket open-ended', () => {
    const h = histogram([-1, 0, 0.5, 1, 4.9, 5, 99], [0, 1, 5]);
    expect(h).to.deep.equal({ edges: [0, 1, 5], counts: [2, 2, 2], below: 1 });
    expect(() => histogram([1], [1, 1])).to.throw(RangeError);
  });

  it('finds the maximum of a million samples, and -Infinity of none', () => {
    const values = new Float64Array(1_000_000).map((_, i) => i % 1000);
    values[777_777] = 5000;
    expect(maxOf(values)).to.equal(5000);
    expect(maxOf([3, 9, 4])).to.equal(9);
    expect(maxOf([])).to.equal(-Infinity);
  });

  it('makes 1-2-5 edges reaching past the maximum', () => {
    expect(oneTwoFiveEdges(0)).to.deep.equal([0, 1]);
    expect(oneTwoFiveEdges(30)).to.deep.equal([0, 1, 2, 5, 10, 20, 50]);
    expect(oneTwoFiveEdges(50)).to.deep.equal([0, 1, 2, 5, 10, 20, 50, 100]);
  });

  it('buckets events per second, scaling a partial last bucket or dropping a short one', () => {
    const series = new RateSeries(1000, 1000);
    series.add(1000, 10);
    series.add(1999);
    series.add(3500, 5);
    expect(series.buckets()).to.deep.equal([11, 0, 5]);
    expect(series.perSecond()).to.deep.equal([11, 0, 5]);
    expect(series.perSecond(4000)).to.deep.equal([11, 0, 5]);
    expect(series.perSecond(3500)).to.deep.equal([11, 0, 10]);
    expect(series.perSecond(3400)).to.deep.equal([11, 0]);
    series.add(500, 2); // before the start counts into the first bucket
    expect(series.buckets()[0]).to.equal(13);
  });
});
