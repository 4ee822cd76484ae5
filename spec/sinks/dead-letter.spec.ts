import { expect } from 'chai';
import { StageError, type SchemaViolation } from '../../lib/core/errors.js';
import { classify, deadLetter, type DeadLetterContext } from '../../lib/sinks/dead-letter.js';
import { makeDelivery } from '../operators/support/delivery.js';

const NOW = new Date('2024-05-01T12:34:56.789Z');
const context: DeadLetterContext = { consumerGroup: 'event-processors', maxRetries: 3, now: () => NOW };

/** Asserts a Buffer holds exactly `expected` byte for byte (and is a Buffer, not a string). */
function expectBytes(actual: Buffer | string | null, expected: Buffer): void {
  expect(Buffer.isBuffer(actual), 'a Buffer, not a decoded string').to.equal(true);
  expect((actual as Buffer).toString('hex')).to.equal(expected.toString('hex'));
}

describe('deadLetter', () => {
  it('keeps the key and value bytes identical, invalid UTF-8 included', () => {
    const key = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const value = Buffer.from([0x7b, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x82, 0x7d]);
    const delivery = makeDelivery({ key: Buffer.from(key), value: Buffer.from(value) });

    const letter = deadLetter(delivery, new Error('bad'), context);

    expectBytes(letter.key, key);
    expectBytes(letter.value, value);
  });

  it('keeps a null value and a null key as null', () => {
    const letter = deadLetter(makeDelivery({ key: null, value: null }), new Error('empty'), context);
    expect(letter.key).to.equal(null);
    expect(letter.value).to.equal(null);
  });

  it('keeps the original headers, binary ones included, next to the failure headers', () => {
    const binary = Buffer.from([0x00, 0xff]);
    const delivery = makeDelivery({ headers: { traceparent: '00-abc-def-01', 'x-bin': binary } });

    const headers = deadLetter(delivery, new Error('bad'), context).headers ?? {};

    expect(headers.traceparent).to.equal('00-abc-def-01');
    expectBytes(headers['x-bin'] as Buffer, binary);
    expect(headers.original_topic).to.equal(delivery.topic);
  });

  it('describes the failure and where the message came from in headers', () => {
    const delivery = makeDelivery({
      topic: 'orders',
      partition: 7,
      offset: '9223372036854775806',
      timestamp: '1714566896000',
      headers: { source: 'checkout' },
    });
    const error = new StageError('value is not JSON', {
      stage: 'decode',
      code: 'INVALID_JSON',
      retriable: false,
      attempts: 4,
    });

    const letter = deadLetter(delivery, error, { consumerGroup: 'billing', maxRetries: 5, now: () => NOW });

    expect(letter.headers).to.deep.equal({
      source: 'checkout',
      original_topic: 'orders',
      original_partition: '7',
      original_offset: '9223372036854775806',
      retry_attempts: '3',
      max_retries: '5',
      error_message: 'value is not JSON',
      timestamp: '2024-05-01T12:34:56.789Z',
      error_stage: 'decode',
      error_code: 'INVALID_JSON',
      original_timestamp: '1714566896000',
      consumer_group: 'billing',
    });
  });

  it('takes the timestamp from the injected clock at the time of the call', () => {
    let calls = 0;
    const now = () => new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6 + calls++));
    const delivery = makeDelivery();
    const first = deadLetter(delivery, new Error('x'), { ...context, now });
    const second = deadLetter(delivery, new Error('x'), { ...context, now });
    expect(first.headers?.timestamp).to.equal('2030-01-02T03:04:05.006Z');
    expect(second.headers?.timestamp).to.equal('2030-01-02T03:04:05.007Z');
  });

  it('falls back to the wall clock without an injected one', () => {
    const before = Date.now();
    const letter = deadLetter(makeDelivery(), new Error('x'), { consumerGroup: 'g', maxRetries: 0 });
    const stamped = Date.parse(String(letter.headers?.timestamp));
    expect(stamped).to.be.within(before, Date.now());
    expect(new Date(stamped).toISOString()).to.equal(letter.headers?.timestamp);
  });

  it('adds schema_errors as JSON for a StageError with violations', () => {
    const violations: SchemaViolation[] = [
      { path: '/amount', keyword: 'type', message: 'must be number' },
      { path: '', keyword: 'required', message: "must have required property 'id'" },
    ];
    const error = new StageError('schema violation', {
      stage: 'validate',
      code: 'SCHEMA_VIOLATION',
      retriable: false,
      violations,
    });

    const headers = deadLetter(makeDelivery(), error, context).headers ?? {};

    expect(JSON.parse(String(headers.schema_errors))).to.deep.equal(violations);
    expect(headers.error_stage).to.equal('validate');
    expect(headers.error_code).to.equal('SCHEMA_VIOLATION');
    expect(headers.retry_attempts).to.equal('0');
  });

  it('has no schema_errors header for failures without violations', () => {
    const stageError = new StageError('bad json', {
      stage: 'decode',
      code: 'INVALID_JSON',
      retriable: false,
    });
    for (const error of [stageError, new Error('plain')]) {
      expect(deadLetter(makeDelivery(), error, context).headers).not.to.have.property('schema_errors');
    }
  });

  it('describes a plain Error as a process failure on the first attempt', () => {
    const headers = deadLetter(makeDelivery(), new TypeError('x is undefined'), context).headers ?? {};
    expect(headers.error_stage).to.equal('process');
    expect(headers.error_code).to.equal('PROCESS_FAILED');
    expect(headers.error_message).to.equal('x is undefined');
    expect(headers.retry_attempts).to.equal('0');
    expect(headers.max_retries).to.equal('3');
  });

  it('describes a thrown non-Error by its string form', () => {
    const headers = deadLetter(makeDelivery(), 'gave up', context).headers ?? {};
    expect(headers.error_message).to.equal('gave up');
    expect(headers.error_code).to.equal('PROCESS_FAILED');
  });

  it('lets the failure headers win over original headers of the same name', () => {
    const delivery = makeDelivery({
      topic: 'orders',
      headers: { original_topic: 'older-topic', error_code: 'EMPTY_VALUE', keep: 'me' },
    });
    const headers = deadLetter(delivery, new Error('again'), context).headers ?? {};
    expect(headers.original_topic).to.equal('orders');
    expect(headers.error_code).to.equal('PROCESS_FAILED');
    expect(headers.keep).to.equal('me');
  });

  it('does not change the delivery’s own headers', () => {
    const delivery = makeDelivery({ headers: { a: '1' } });
    deadLetter(delivery, new Error('x'), context);
    expect(delivery.headers).to.deep.equal({ a: '1' });
  });
});

describe('classify', () => {
  it('takes stage, code and attempts from a StageError', () => {
    const error = new StageError('nope', {
      stage: 'process',
      code: 'PROCESS_REJECTED',
      retriable: false,
      attempts: 2,
    });
    expect(classify(error)).to.deep.equal({ stage: 'process', code: 'PROCESS_REJECTED', attempts: 2 });
  });

  it('counts anything else as a process failure on one attempt', () => {
    for (const error of [new Error('x'), new RangeError('y'), 'string', undefined]) {
      expect(classify(error)).to.deep.equal({ stage: 'process', code: 'PROCESS_FAILED', attempts: 1 });
    }
  });
});
