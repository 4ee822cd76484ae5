import { expect } from 'chai';
import { decodeFinishedAbove, encodeFinishedAbove } from '../../../lib/kafka/commit/commit-metadata.js';

/** The offsets in (committed, upTo] the metadata says finished. */
function finishedOffsets(committed: string, metadata: string | undefined): string[] {
  const above = decodeFinishedAbove(committed, metadata);
  if (!above) return [];
  const finished: string[] = [];
  for (let offset = BigInt(committed) + 1n; offset <= BigInt(above.upTo); offset++) {
    if (!above.unfinished.has(offset.toString())) finished.push(offset.toString());
  }
  return finished;
}

describe('commit metadata: offsets finished above the commit point', () => {
  it('round-trips: everything up to the highest hand-off except what is unfinished', () => {
    const metadata = encodeFinishedAbove('100', '106', ['100', '103', '105']);
    expect(metadata).to.equal('mes1:6:3,5');
    expect(finishedOffsets('100', metadata)).to.deep.equal(['101', '102', '104', '106']);
  });

  it('says nothing when nothing above the commit point finished', () => {
    expect(encodeFinishedAbove('100', '100', ['100'])).to.equal(undefined);
    expect(encodeFinishedAbove('101', '100', [])).to.equal(undefined);
    expect(decodeFinishedAbove('100', undefined)).to.equal(undefined);
  });

  it('works beyond 2^53', () => {
    const base = '9007199254740993';
    const metadata = encodeFinishedAbove(base, '9007199254740996', [base, '9007199254740995']);
    expect(finishedOffsets(base, metadata)).to.deep.equal(['9007199254740994', '9007199254740996']);
  });

  it('claims less, never more, when the unfinished offsets do not fit', () => {
    const unfinished = Array.from({ length: 2000 }, (_, i) => String(1000 + 2 * i));
    const metadata = encodeFinishedAbove('1000', '5000', unfinished, 200)!;
    expect(metadata.length).to.be.at.most(200);
    const finished = finishedOffsets('1000', metadata);
    expect(finished.length).to.be.greaterThan(10);
    const unfinishedSet = new Set(unfinished);
    expect(finished.filter((offset) => unfinishedSet.has(offset))).to.deep.equal([]);
    // It stops right before the first unfinished offset it could not name.
    const upTo = decodeFinishedAbove('1000', metadata)!.upTo;
    expect(unfinishedSet.has(String(Number(upTo) + 1))).to.equal(true);
  });

  it('ignores metadata it did not write, or that is damaged', () => {
    for (const other of ['', 'hello', 'mes1:', 'mes1:x:1', 'mes1:5:1,,2', 'mes1:0:'])
      expect(decodeFinishedAbove('10', other), other).to.equal(undefined);
  });
});
