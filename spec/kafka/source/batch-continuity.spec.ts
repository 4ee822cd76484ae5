import { expect } from 'chai';
import { continuationOf } from '../../../lib/kafka/source/batch-continuity.js';

const offsets = (...values: string[]) => values.map((offset) => ({ offset }));

describe('continuationOf', () => {
  it('takes a batch fetched exactly at the position from its first message', () => {
    expect(continuationOf('10', '10', offsets('10', '11', '12'))).to.equal(0);
  });

  it('takes a batch fetched at the position whose first records were compacted away', () => {
    expect(continuationOf('10', '10', offsets('14', '15'))).to.equal(0);
  });

  it('skips what was handed off already when the batch was fetched before the position', () => {
    expect(continuationOf('12', '10', offsets('10', '11', '12', '13'))).to.equal(2);
    expect(continuationOf('20', '10', offsets('10', '11')), 'nothing new').to.equal(2);
  });

  it('refuses a batch fetched from past the position: it would leave offsets out', () => {
    expect(continuationOf('10', '11', offsets('11', '12'))).to.equal('gap');
    expect(continuationOf('195', '339', offsets('339'))).to.equal('gap');
  });

  it('compares offsets as numbers beyond 2^53 and across lengths, never as text', () => {
    expect(continuationOf('9', '10', offsets('10'))).to.equal('gap');
    expect(continuationOf('10', '9', offsets('9', '10'))).to.equal(1);
    expect(
      continuationOf('9007199254740993', '9007199254740992', offsets('9007199254740992', '9007199254740993')),
    ).to.equal(1);
    expect(continuationOf('9007199254740992', '9007199254740993', offsets('9007199254740993'))).to.equal(
      'gap',
    );
  });
});
