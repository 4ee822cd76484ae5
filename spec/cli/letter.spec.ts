import { expect } from 'chai';
import { DEAD_LETTER_HEADERS, headerText, letterInfo } from '../../lib/cli/letter.js';
import { StageError } from '../../lib/core/errors.js';
import { deadLetter } from '../../lib/sinks/dead-letter.js';
import { makeDelivery } from '../operators/support/delivery.js';

describe('DEAD_LETTER_HEADERS', () => {
  it('are exactly the headers deadLetter() adds to a message', () => {
    const original = { traceparent: '00-abc', 'x-bin': Buffer.from([0, 255]) };
    const error = new StageError('schema', {
      stage: 'validate',
      code: 'SCHEMA_VIOLATION',
      retriable: false,
      violations: [{ path: '/Id', keyword: 'required', message: 'must have Id' }],
    });
    const letter = deadLetter(makeDelivery({ headers: original }), error, {
      consumerGroup: 'g',
      maxRetries: 3,
    });
    const added = Object.keys(letter.headers ?? {}).filter((name) => !(name in original));
    expect([...DEAD_LETTER_HEADERS].sort()).to.deep.equal(added.sort());
  });
});

describe('letterInfo', () => {
  it('reads what deadLetter() wrote', () => {
    const error = new StageError('value is not JSON', {
      stage: 'decode',
      code: 'INVALID_JSON',
      retriable: false,
    });
    const delivery = makeDelivery({ topic: 'orders', partition: 7, offset: '9223372036854775806' });
    const now = new Date('2026-11-26T17:45:54.269Z');
    const { headers } = deadLetter(delivery, error, { consumerGroup: 'g', maxRetries: 3, now: () => now });
    // kafkajs hands headers to a consumer as Buffers.
    const asRead = Object.fromEntries(
      Object.entries(headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))]),
    );

    expect(letterInfo(asRead)).to.deep.equal({
      code: 'INVALID_JSON',
      stage: 'decode',
      originalTopic: 'orders',
      originalPartition: 7,
      originalOffset: '9223372036854775806',
      errorMessage: 'value is not JSON',
      deadLetteredAt: now,
    });
  });

  it('leaves out missing and malformed headers instead of throwing', () => {
    expect(letterInfo(undefined)).to.deep.equal({});
    expect(
      letterInfo({
        error_code: '',
        original_partition: '-1',
        original_offset: '12abc',
        timestamp: 'yesterday',
        original_topic: Buffer.from('orders'),
      }),
    ).to.deep.equal({ originalTopic: 'orders' });
    expect(letterInfo({ timestamp: '1' })).to.deep.equal({});
    expect(letterInfo({ timestamp: '2026-99-99T10:00:00Z' })).to.deep.equal({});
  });

  it('reads the replayed_from header a replay adds', () => {
    expect(letterInfo({ replayed_from: Buffer.from('dlq/2/40') })).to.deep.equal({
      replayedFrom: 'dlq/2/40',
    });
  });

  it('takes the first value of a repeated header', () => {
    expect(headerText({ error_code: [Buffer.from('A'), Buffer.from('B')] }, 'error_code')).to.equal('A');
    expect(headerText({}, 'error_code')).to.equal(undefined);
  });
});
