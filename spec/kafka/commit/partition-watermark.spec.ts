import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PartitionWatermark } from '../../../lib/kafka/commit/partition-watermark.js';

/** Deterministic PRNG (mulberry32) so a failing property run can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/**
 * The reference model: the handed-off offsets not yet settled, in hand-off order (so ascending).
 * The commit point is the first of them, or one past the last offset when none is left.
 */
class NaiveWatermark {
  private readonly unsettled: bigint[] = [];
  private last: bigint | undefined;

  add(offset: bigint): void {
    this.unsettled.push(offset);
    this.last = offset;
  }

  settle(offset: bigint): void {
    const index = this.unsettled.indexOf(offset);
    if (index >= 0) this.unsettled.splice(index, 1);
  }

  get pending(): number {
    return this.unsettled.length;
  }

  commitPoint(): string | undefined {
    const lowest = this.unsettled[0];
    if (lowest !== undefined) return lowest.toString();
    return this.last === undefined ? undefined : (this.last + 1n).toString();
  }
}

/** The heap in use after full collections, so only what is still reachable counts. */
function retainedHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function watermarkWith(...offsets: string[]): PartitionWatermark {
  const watermark = new PartitionWatermark();
  for (const offset of offsets) watermark.add(offset);
  return watermark;
}

describe('PartitionWatermark', () => {
  it('has no commit point before the first hand-off', () => {
    expect(new PartitionWatermark().commitPoint()).to.equal(undefined);
  });

  it('commits at the first handed-off offset while nothing is settled', () => {
    expect(watermarkWith('4', '5').commitPoint()).to.equal('4');
  });

  it('commits at the lowest unsettled offset', () => {
    const watermark = watermarkWith('0', '1', '2', '3');
    expect(watermark.settle('0')).to.equal(true);
    expect(watermark.commitPoint()).to.equal('1');
    expect(watermark.settle('2')).to.equal(true);
    expect(watermark.commitPoint()).to.equal('1');
  });

  it('never moves past an earlier offset that is still running, however many later ones finished', () => {
    const watermark = watermarkWith('4', '5', '6', '7');
    for (const offset of ['5', '6', '7']) {
      watermark.settle(offset);
      expect(watermark.commitPoint(), `after settling ${offset}`).to.equal('4');
    }
    watermark.settle('4');
    expect(watermark.commitPoint()).to.equal('8');
  });

  it('commits one past the last offset when everything is settled', () => {
    const watermark = watermarkWith('10', '11', '12');
    for (const offset of ['12', '10', '11']) watermark.settle(offset);
    expect(watermark.commitPoint()).to.equal('13');
  });

  it('picks up again at the next hand-off after everything was settled', () => {
    const watermark = watermarkWith('0', '1');
    watermark.settle('0');
    watermark.settle('1');
    watermark.add('2');
    expect(watermark.commitPoint()).to.equal('2');
    watermark.settle('2');
    expect(watermark.commitPoint()).to.equal('3');
  });

  it('returns false for an offset it never saw, and that settle changes nothing', () => {
    const watermark = watermarkWith('3', '4');
    expect(watermark.settle('99')).to.equal(false);
    expect(watermark.settle('2')).to.equal(false);
    expect(watermark.commitPoint()).to.equal('3');
    expect(new PartitionWatermark().settle('0')).to.equal(false);
  });

  it('ignores a second hand-off of the same offset', () => {
    const watermark = watermarkWith('7', '7', '8');
    watermark.settle('7');
    expect(watermark.commitPoint()).to.equal('8');
  });

  it('ignores a hand-off of an offset that already settled: the commit point never goes back', () => {
    const watermark = watermarkWith('7', '8');
    watermark.settle('7');
    watermark.add('7');
    expect(watermark.commitPoint()).to.equal('8');
    watermark.settle('8');
    expect(watermark.commitPoint()).to.equal('9');
  });

  it('counts as pending only the offsets not settled yet', () => {
    const watermark = watermarkWith('0', '1', '2', '3');
    watermark.settle('2');
    watermark.settle('3');
    expect(watermark.pending).to.equal(2);
    watermark.settle('0');
    expect(watermark.pending).to.equal(1);
  });

  describe('one offset that never settles', () => {
    it('keeps only the unsettled offsets while 100,000 later ones settle', () => {
      const watermark = watermarkWith('5');
      for (let offset = 6; offset < 100_006; offset += 1) {
        watermark.add(String(offset));
        watermark.settle(String(offset));
      }
      watermark.add('100006');
      expect(watermark.pending).to.equal(2);
      expect(watermark.commitPoint()).to.equal('5');
      watermark.settle('5');
      expect(watermark.commitPoint()).to.equal('100006');
      watermark.settle('100006');
      expect(watermark.commitPoint()).to.equal('100007');
    });

    it('holds on to no heap for the offsets settled behind it (200,000 settles)', () => {
      const watermark = watermarkWith('9007199254740993');
      // Offsets made in the loop and dropped after, as kafkajs's are once a message settled.
      const first = 9007199254740994n;
      const before = retainedHeap();
      for (let i = 0n; i < 200_000n; i += 1n) {
        const offset = (first + i).toString();
        watermark.add(offset);
        watermark.settle(offset);
      }
      const grown = retainedHeap() - before;
      // Kept per settled offset, 200,000 of them take some 20 MB; unsettled ones only, a few KB.
      expect(grown, `heap grew by ${grown} bytes`).to.be.below(2 * 1024 * 1024);
      expect(watermark.commitPoint()).to.equal('9007199254740993');
    });

    for (const seed of [21, 22, 23]) {
      it(`matches the naive model while one early offset stays unsettled until the end (seed ${seed})`, () => {
        const next = random(seed);
        const watermark = new PartitionWatermark();
        const naive = new NaiveWatermark();
        const stuck = 9007199254740000n;
        watermark.add(stuck.toString());
        naive.add(stuck);
        const unsettled: bigint[] = [];
        let nextOffset = stuck + 1n;
        for (let step = 0; step < 20_000; step += 1) {
          if (unsettled.length === 0 || (unsettled.length < 1010 && next() < 0.5)) {
            watermark.add(nextOffset.toString());
            naive.add(nextOffset);
            unsettled.push(nextOffset);
            nextOffset += BigInt(1 + Math.floor(next() * 2));
          } else {
            const [offset] = unsettled.splice(Math.floor(next() * unsettled.length), 1) as [bigint];
            expect(watermark.settle(offset.toString())).to.equal(true);
            naive.settle(offset);
          }
          if (watermark.commitPoint() !== naive.commitPoint() || watermark.pending !== naive.pending) {
            expect([watermark.commitPoint(), watermark.pending], `at step ${step}`).to.deep.equal([
              naive.commitPoint(),
              naive.pending,
            ]);
          }
        }
        expect(watermark.commitPoint()).to.equal(stuck.toString());
        for (const offset of [...unsettled, stuck]) {
          watermark.settle(offset.toString());
          naive.settle(offset);
        }
        expect(watermark.commitPoint()).to.equal(naive.commitPoint());
        expect(watermark.pending).to.equal(0);
      });
    }
  });

  describe('offsets beyond 2^53', () => {
    it('adds one exactly to 9007199254740993 (Number would round it)', () => {
      const watermark = watermarkWith('9007199254740993');
      watermark.settle('9007199254740993');
      expect(watermark.commitPoint()).to.equal('9007199254740994');
      // The same arithmetic in Number gives a different answer, so this test can tell them apart.
      expect(String(Number('9007199254740993') + 1)).not.to.equal('9007199254740994');
    });

    it('adds one exactly next to the largest int64', () => {
      const watermark = watermarkWith('9223372036854775806');
      watermark.settle('9223372036854775806');
      expect(watermark.commitPoint()).to.equal('9223372036854775807');
    });

    it('keeps neighbouring large offsets apart when they settle out of order', () => {
      const watermark = watermarkWith('9007199254740992', '9007199254740993', '9007199254740994');
      expect(watermark.settle('9007199254740993')).to.equal(true);
      expect(watermark.commitPoint()).to.equal('9007199254740992');
      watermark.settle('9007199254740992');
      expect(watermark.commitPoint()).to.equal('9007199254740994');
      watermark.settle('9007199254740994');
      expect(watermark.commitPoint()).to.equal('9007199254740995');
    });
  });

  describe('gaps in offsets (compacted topics)', () => {
    it('commits at the next handed-off offset, not at the missing ones', () => {
      const watermark = watermarkWith('10', '12', '15');
      watermark.settle('12');
      expect(watermark.commitPoint()).to.equal('10');
      watermark.settle('10');
      expect(watermark.commitPoint()).to.equal('15');
      watermark.settle('15');
      expect(watermark.commitPoint()).to.equal('16');
    });
  });

  describe('compaction of the settled prefix', () => {
    it('stays right when one settle releases more than 1024 offsets at once', () => {
      const watermark = new PartitionWatermark();
      for (let offset = 0; offset < 2048; offset += 1) watermark.add(String(offset));
      for (let offset = 2047; offset >= 1; offset -= 1) watermark.settle(String(offset));
      expect(watermark.commitPoint()).to.equal('0');
      watermark.settle('0');
      expect(watermark.commitPoint()).to.equal('2048');
      watermark.add('2048');
      watermark.add('2049');
      watermark.add('2050');
      watermark.settle('2049');
      expect(watermark.commitPoint()).to.equal('2048');
      watermark.settle('2048');
      expect(watermark.commitPoint()).to.equal('2050');
      expect(watermark.settle('1000'), 'an offset dropped with the prefix').to.equal(false);
    });

    for (const seed of [1, 2, 3]) {
      it(`matches the naive lowest-unsettled after every settle, 5000 offsets in random order (seed ${seed})`, () => {
        const next = random(seed);
        const watermark = new PartitionWatermark();
        const naive = new NaiveWatermark();
        const offsets = Array.from({ length: 5000 }, (_, i) => BigInt(i));
        for (const offset of offsets) {
          watermark.add(offset.toString());
          naive.add(offset);
        }
        for (const offset of shuffle(offsets, next)) {
          expect(watermark.settle(offset.toString())).to.equal(true);
          naive.settle(offset);
          const expected = naive.commitPoint();
          const actual = watermark.commitPoint();
          if (actual !== expected) expect(actual, `after settling ${offset}`).to.equal(expected);
        }
        expect(watermark.commitPoint()).to.equal('5000');
      });
    }

    for (const seed of [11, 12, 13]) {
      it(`matches the naive model with hand-offs and settles interleaved, gaps and large offsets (seed ${seed})`, () => {
        const next = random(seed);
        const watermark = new PartitionWatermark();
        const naive = new NaiveWatermark();
        const unsettled: bigint[] = [];
        let nextOffset = 9007199254730000n;
        let lastAdded = 0n;
        let added = 0;
        let settled = 0;
        while (added < 5000 || unsettled.length > 0) {
          // Alternate add-heavy and settle-heavy phases: windows of thousands of unsettled
          // offsets open up and then settle in long runs, so compaction runs many times.
          const addBias = Math.floor((added + settled) / 700) % 2 === 0 ? 0.75 : 0.3;
          const addNow = added < 5000 && (unsettled.length === 0 || next() < addBias);
          if (addNow) {
            watermark.add(nextOffset.toString());
            naive.add(nextOffset);
            unsettled.push(nextOffset);
            lastAdded = nextOffset;
            nextOffset += BigInt(1 + Math.floor(next() * 3));
            added += 1;
          } else {
            const index = Math.floor(next() * unsettled.length);
            const [offset] = unsettled.splice(index, 1) as [bigint];
            expect(watermark.settle(offset.toString())).to.equal(true);
            naive.settle(offset);
            settled += 1;
          }
          const expected = naive.commitPoint();
          const actual = watermark.commitPoint();
          if (actual !== expected || watermark.pending !== naive.pending) {
            expect(
              [actual, watermark.pending],
              `after ${added} hand-offs and ${settled} settles`,
            ).to.deep.equal([expected, naive.pending]);
          }
        }
        expect(settled).to.equal(5000);
        expect(watermark.commitPoint()).to.equal((lastAdded + 1n).toString());
      });
    }
  });
});
