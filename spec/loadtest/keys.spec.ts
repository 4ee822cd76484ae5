import { expect } from 'chai';
import { keyChooser, parseKeySpec, sampleCdf, zipfCdf } from '../../loadtest/keys.js';
import { seededRandom } from '../../loadtest/random.js';

function counts(spec: string, draws: number, seed = 11): Map<string | null, number> {
  const next = keyChooser(parseKeySpec(spec), seededRandom(seed));
  const seen = new Map<string | null, number>();
  for (let i = 0; i < draws; i++) {
    const key = next();
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

describe('loadtest key distributions', () => {
  it('parses none, uniform:N and zipf:N:s, and refuses anything else', () => {
    expect(parseKeySpec('none')).to.deep.equal({ kind: 'none' });
    expect(parseKeySpec('uniform:10')).to.deep.equal({ kind: 'uniform', n: 10 });
    expect(parseKeySpec('zipf:100:1.2')).to.deep.equal({ kind: 'zipf', n: 100, s: 1.2 });
    for (const bad of [
      '',
      'uniform',
      'uniform:0',
      'uniform:1.5',
      'zipf:10',
      'zipf:10:0',
      'zipf:10:-1',
      'hash:3',
      'none:1',
    ]) {
      expect(() => parseKeySpec(bad), bad).to.throw(/--keys must be/);
    }
  });

  it('gives no key with none', () => {
    expect([...counts('none', 10).keys()]).to.deep.equal([null]);
  });

  it('spreads uniform keys evenly over key-1 … key-N', () => {
    const seen = counts('uniform:10', 50_000);
    expect([...seen.keys()].sort()).to.deep.equal(
      Array.from({ length: 10 }, (_, i) => `key-${i + 1}`).sort(),
    );
    for (const n of seen.values()) expect(n).to.be.within(4500, 5500);
  });

  it('makes zipf ranks follow 1/k^s: key-1 hottest, key-2 about half as often at s = 1', () => {
    const seen = counts('zipf:100:1', 100_000);
    const harmonic = Array.from({ length: 100 }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b);
    const expectedFirst = 100_000 / harmonic; // about 19,300
    expect(seen.get('key-1')).to.be.within(expectedFirst * 0.95, expectedFirst * 1.05);
    const ratio = seen.get('key-1')! / seen.get('key-2')!;
    expect(ratio).to.be.within(1.85, 2.15);
    expect(seen.get('key-1')!).to.be.greaterThan(seen.get('key-10')!);
    for (const key of seen.keys()) expect(Number(key!.slice(4))).to.be.within(1, 100);
  });

  it('builds a zipf CDF ending at exactly 1 and samples it by binary search', () => {
    const cdf = zipfCdf(4, 1);
    expect(cdf[3]).to.equal(1);
    expect(cdf[0]).to.be.closeTo(1 / (1 + 1 / 2 + 1 / 3 + 1 / 4), 1e-12);
    expect(sampleCdf(cdf, 0)).to.equal(0);
    expect(sampleCdf(cdf, cdf[0]! - 1e-9)).to.equal(0);
    expect(sampleCdf(cdf, cdf[0]!)).to.equal(1);
    expect(sampleCdf(cdf, 0.999999)).to.equal(3);
  });
});
