import { expect } from 'chai';
import type { IHeaders } from 'kafkajs';
import { DEAD_LETTER_HEADERS, letterInfo, type DlqRecord } from '../../lib/cli/letter.js';
import { partitionFor, replayedFrom, replayedMessage, targetOf } from '../../lib/cli/replay-message.js';
import { StageError } from '../../lib/core/errors.js';
import { deadLetter } from '../../lib/sinks/dead-letter.js';
import { makeDelivery } from '../operators/support/delivery.js';

const NOW = new Date('2026-12-01T10:00:00.000Z');

/** A dead letter as the replay reads it: what deadLetter() wrote, headers as Buffers. */
function readLetter(overrides: Parameters<typeof makeDelivery>[0] = {}): DlqRecord {
  const error = new StageError('bad', { stage: 'decode', code: 'INVALID_JSON', retriable: false });
  const letter = deadLetter(makeDelivery(overrides), error, { consumerGroup: 'g', maxRetries: 3 });
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(letter.headers ?? {})) {
    headers[name] = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  }
  return {
    partition: 2,
    offset: '41',
    key: letter.key as Buffer | null,
    value: letter.value as Buffer | null,
    headers,
  };
}

describe('replayedMessage', () => {
  it('is the original message: same key and value bytes, same headers, plus the replay headers', () => {
    const key = Buffer.from([0xff, 0xfe, 0x00]);
    const value = Buffer.from([0x7b, 0xc3, 0x28, 0x1b]);
    const headers = { traceparent: Buffer.from('00-abc'), 'x-bin': Buffer.from([0, 255]) };
    const record = readLetter({ key: Buffer.from(key), value: Buffer.from(value), headers });

    const message = replayedMessage(record, 'orders-dlq', NOW, 3);

    expect(Buffer.from(message.key as Buffer).toString('hex')).to.equal(key.toString('hex'));
    expect(Buffer.from(message.value as Buffer).toString('hex')).to.equal(value.toString('hex'));
    expect(message.partition).to.equal(3);
    expect(message.headers).to.deep.equal({
      traceparent: Buffer.from('00-abc'),
      'x-bin': Buffer.from([0, 255]),
      replayed_from: 'orders-dlq/2/41',
      replayed_at: '2026-12-01T10:00:00.000Z',
    });
  });

  it("drops every dead-letter header, and an earlier replay's headers", () => {
    const record = readLetter({
      headers: {
        replayed_from: Buffer.from('old-dlq/0/1'),
        replayed_at: Buffer.from('2020-01-01T00:00:00Z'),
      },
    });
    for (const name of DEAD_LETTER_HEADERS.filter((n) => n !== 'schema_errors')) {
      expect(record.headers, name).to.have.property(name);
    }
    const message = replayedMessage(record, 'dlq', NOW, undefined);
    expect(Object.keys(message.headers ?? {}).sort()).to.deep.equal(['replayed_at', 'replayed_from']);
    expect(message.headers?.replayed_from).to.equal('dlq/2/41');
    expect(message).to.not.have.property('partition');
  });

  it('keeps null keys and values null, and repeated headers as they are', () => {
    const record: DlqRecord = {
      partition: 0,
      offset: '0',
      key: null,
      value: null,
      headers: { tag: [Buffer.from('a'), Buffer.from('b')], error_code: Buffer.from('X') },
    };
    const message = replayedMessage(record, 'dlq', NOW, undefined);
    expect(message.key).to.equal(null);
    expect(message.value).to.equal(null);
    expect(message.headers?.tag).to.deep.equal([Buffer.from('a'), Buffer.from('b')]);
    expect(message.headers).to.not.have.property('error_code');
  });
});

describe('targetOf and partitionFor', () => {
  const info = letterInfo(readLetter({ topic: 'orders', partition: 5 }).headers);

  it('goes back to the original topic and partition while that partition exists', () => {
    const target = targetOf(info, undefined)!;
    expect(target).to.deep.equal({ topic: 'orders', originalPartition: 5 });
    expect(partitionFor(target, 6)).to.equal(5);
    expect(partitionFor(target, 5), 'the topic has fewer partitions now').to.equal(undefined);
  });

  it('leaves the partition to the partitioner with --to', () => {
    const target = targetOf(info, 'orders-retry')!;
    expect(target).to.deep.equal({ topic: 'orders-retry' });
    expect(partitionFor(target, 100)).to.equal(undefined);
  });

  it('has no target for a letter without original_topic unless --to is given', () => {
    expect(targetOf({}, undefined)).to.equal(undefined);
    expect(targetOf({}, 'x')).to.deep.equal({ topic: 'x' });
    expect(targetOf({ originalTopic: 't' }, undefined)).to.deep.equal({ topic: 't' });
  });

  it('names the dead letter as topic/partition/offset', () => {
    expect(replayedFrom('my.dlq_1', { partition: 4, offset: '9223372036854775806' })).to.equal(
      'my.dlq_1/4/9223372036854775806',
    );
  });
});
