import { expect } from 'chai';
import type { IHeaders } from 'kafkajs';
import type { DlqRecord } from '../../lib/cli/letter.js';
import { bucketStart, MISSING, renderSummary, SummaryBuilder } from '../../lib/cli/summary.js';

let nextOffset = 0;
function record(headers: IHeaders, overrides: Partial<DlqRecord> = {}): DlqRecord {
  return {
    partition: 0,
    offset: String(nextOffset++),
    key: null,
    value: Buffer.from('{}'),
    headers,
    ...overrides,
  };
}

function letter(
  code: string,
  stage: string,
  topic: string,
  timestamp: string,
  overrides: Partial<DlqRecord> = {},
) {
  return record(
    {
      error_code: Buffer.from(code),
      error_stage: Buffer.from(stage),
      original_topic: Buffer.from(topic),
      original_partition: Buffer.from('1'),
      original_offset: Buffer.from('99'),
      error_message: Buffer.from(`${code} happened`),
      timestamp: Buffer.from(timestamp),
    },
    overrides,
  );
}

const PARTITIONS = [
  { partition: 0, startOffset: '0', endOffset: '6', messages: 6, firstRead: '0', lastRead: '5' },
];

describe('SummaryBuilder', () => {
  it('counts by code, stage, original topic and hour, largest count first', () => {
    const builder = new SummaryBuilder({ samples: 0, bucket: 'hour' });
    builder.add(letter('INVALID_JSON', 'decode', 'orders', '2026-01-10T08:59:59.999Z'));
    builder.add(letter('INVALID_JSON', 'decode', 'orders', '2026-01-10T09:00:00.000Z'));
    builder.add(letter('SCHEMA_VIOLATION', 'validate', 'orders', '2026-01-10T09:30:00.000Z'));
    builder.add(letter('PROCESS_FAILED', 'process', 'payments', '2026-01-10T07:10:00.000Z'));
    builder.add(letter('INVALID_JSON', 'decode', 'payments', '2026-01-10T09:59:00.000Z'));
    builder.add(record({}));

    const summary = builder.result('dlq', PARTITIONS);

    expect(summary.total).to.equal(6);
    expect(Object.entries(summary.byCode)).to.deep.equal([
      ['INVALID_JSON', 3],
      [MISSING, 1],
      ['PROCESS_FAILED', 1],
      ['SCHEMA_VIOLATION', 1],
    ]);
    expect(summary.byStage).to.deep.equal({ decode: 3, [MISSING]: 1, process: 1, validate: 1 });
    expect(Object.entries(summary.byOriginalTopic)).to.deep.equal([
      ['orders', 3],
      ['payments', 2],
      [MISSING, 1],
    ]);
    expect(summary.byTime).to.deep.equal({
      bucket: 'hour',
      counts: {
        '2026-01-10T07:00:00.000Z': 1,
        '2026-01-10T08:00:00.000Z': 1,
        '2026-01-10T09:00:00.000Z': 3,
      },
      withoutTimestamp: 1,
    });
    expect(Object.keys(summary.byTime.counts)).to.deep.equal(Object.keys(summary.byTime.counts).sort());
    expect(summary.oldest).to.equal('2026-01-10T07:10:00.000Z');
    expect(summary.newest).to.equal('2026-01-10T09:59:00.000Z');
    expect(summary.samples).to.deep.equal([]);
    expect(summary.partitions).to.deep.equal(PARTITIONS);
  });

  it('buckets by UTC day when asked', () => {
    const builder = new SummaryBuilder({ samples: 0, bucket: 'day' });
    builder.add(letter('INVALID_JSON', 'decode', 'o', '2026-01-10T23:59:59.999+00:00'));
    builder.add(letter('INVALID_JSON', 'decode', 'o', '2026-01-11T00:30:00+01:00'));
    builder.add(letter('INVALID_JSON', 'decode', 'o', '2026-01-11T00:00:00Z'));
    expect(builder.result('dlq', []).byTime.counts).to.deep.equal({
      '2026-01-10T00:00:00.000Z': 2,
      '2026-01-11T00:00:00.000Z': 1,
    });
    expect(bucketStart(Date.parse('2026-01-10T09:59:59.999Z'), 'hour')).to.equal(
      Date.parse('2026-01-10T09:00:00Z'),
    );
  });

  it('samples the first letters of each code in turn, so a rare code is shown too', () => {
    const builder = new SummaryBuilder({ samples: 4, bucket: 'hour' });
    // 50 INVALID_JSON first, then one EMPTY_VALUE and one PROCESS_FAILED, in a mixed order.
    for (let i = 49; i >= 0; i--) {
      builder.add(
        letter('INVALID_JSON', 'decode', 'o', '2026-01-10T08:00:00Z', { partition: 1, offset: String(i) }),
      );
    }
    builder.add(
      letter('PROCESS_FAILED', 'process', 'o', '2026-01-10T08:00:00Z', { partition: 2, offset: '7' }),
    );
    builder.add(letter('EMPTY_VALUE', 'decode', 'o', '2026-01-10T08:00:00Z', { partition: 0, offset: '3' }));

    const samples = builder.result('dlq', []).samples;

    expect(samples.map((s) => `${s.errorCode}@${s.partition}/${s.offset}`)).to.deep.equal([
      'EMPTY_VALUE@0/3',
      'INVALID_JSON@1/0',
      'INVALID_JSON@1/1',
      'PROCESS_FAILED@2/7',
    ]);
    expect(samples[0]).to.deep.include({
      errorStage: 'decode',
      errorMessage: 'EMPTY_VALUE happened',
      timestamp: '2026-01-10T08:00:00.000Z',
      original: { topic: 'o', partition: 1, offset: '99' },
    });
  });

  it('keeps a bounded number of sample candidates however many letters it sees', () => {
    const builder = new SummaryBuilder({ samples: 2, bucket: 'hour', maxSampleCodes: 3 });
    for (let i = 0; i < 1000; i++)
      builder.add(letter(`CODE_${i % 10}`, 'decode', 'o', '2026-01-10T08:00:00Z'));
    const candidates = (builder as unknown as { candidates: Map<string, unknown[]> }).candidates;
    expect(candidates.size).to.equal(3);
    for (const list of candidates.values()) expect(list).to.have.length(2);
    expect(builder.result('dlq', []).samples).to.have.length(2);
  });
});

describe('renderSummary', () => {
  it('prints counts with shares, and escapes everything taken from the topic', () => {
    const builder = new SummaryBuilder({ samples: 5, bucket: 'hour' });
    builder.add(
      letter('INVALID_JSON', 'decode', 'orders', '2026-01-10T08:15:00Z', { key: Buffer.from([0xff, 0x1b]) }),
    );
    builder.add(letter('INVALID_JSON', 'decode', 'orders', '2026-01-10T08:20:00Z'));
    builder.add(
      record(
        {
          error_code: Buffer.from('EVIL\u001b[2J'),
          error_message: Buffer.from('boom\u001b]0;pwned\u0007\nsecond line'),
          original_topic: Buffer.from('t\u202eopic'),
          timestamp: Buffer.from('2026-01-10T09:00:00Z'),
        },
        { value: Buffer.from('{"a":"\u009b31m"}'), partition: 1, offset: '0' },
      ),
    );

    const text = renderSummary(
      builder.result('the-dlq', [
        { partition: 0, startOffset: '0', endOffset: '3', messages: 3, firstRead: '0', lastRead: '2' },
        { partition: 1, startOffset: '0', endOffset: '0', messages: 0, firstRead: null, lastRead: null },
      ]),
    );

    expect(text).to.include('Dead-letter topic the-dlq: 3 dead letters');
    // The range is the offsets read, both ends included: never "0 to 3" for three records.
    expect(text).to.include('  partition 0: 3 read, offsets 0 to 2 (inclusive)\n  partition 1: 0 read\n');
    expect(text).to.match(/^ {2}INVALID_JSON\s+2\s+66\.7 %$/m);
    expect(text).to.match(/^ {2}EVIL\\u001b\[2J\s+1\s+33\.3 %$/m);
    expect(text).to.match(/^ {2}2026-01-10 08:00\s+2\s+66\.7 %$/m);
    expect(text).to.include('error: boom\\u001b]0;pwned\\u0007\\nsecond line');
    expect(text).to.include('from t\\u202eopic[?]@?');
    expect(text).to.include('key:   <binary 2 bytes: ff 1b>');
    expect(text).to.include('value: "{\\"a\\":\\"\\u009b31m\\"}"');
    // eslint-disable-next-line no-control-regex
    expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(text)).to.equal(false);
  });

  it('says so when the topic is empty', () => {
    const text = renderSummary(new SummaryBuilder().result('dlq', []));
    expect(text).to.equal('Dead-letter topic dlq: 0 dead letters\n');
  });
});
