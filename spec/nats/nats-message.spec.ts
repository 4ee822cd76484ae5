import { expect } from 'chai';
import {
  deliveryOfStored,
  headersOfLines,
  publishedHeaderLines,
  publishedMessage,
} from '../../lib/nats/nats-message.js';

const NO_HOOKS = { onRetry: () => undefined, onRetryExhausted: () => undefined };

describe('the client-free NATS mapping', () => {
  it('delivers a stored message with the stream as topic, partition 0, the sequence as offset and the subject as key', () => {
    const data = new Uint8Array([0x00, 0x7b, 0x7d, 0x00]).subarray(1, 3);
    const delivery = deliveryOfStored(
      {
        stream: 'ORDERS',
        sequence: 42,
        subject: 'orders.eu',
        data,
        headers: { trace: Buffer.from('t') },
        timestampMs: '1700000000000',
      },
      new AbortController().signal,
      NO_HOOKS,
    );
    expect(delivery).to.deep.include({
      topic: 'ORDERS',
      partition: 0,
      offset: '42',
      key: Buffer.from('orders.eu'),
      value: Buffer.from('{}'),
      headers: { trace: Buffer.from('t') },
      timestamp: '1700000000000',
      generation: 0,
    });
  });

  it('reads header lines as Buffers, a repeated name as an array, __proto__ as an own header', () => {
    const headers = headersOfLines([
      ['a', '1'],
      ['tag', 'x'],
      ['tag', 'y'],
      ['__proto__', 'p'],
    ]);
    expect(headers.a).to.deep.equal(Buffer.from('1'));
    expect(headers.tag).to.deep.equal([Buffer.from('x'), Buffer.from('y')]);
    expect(Object.keys(headers)).to.include('__proto__');
    expect(Object.getPrototypeOf(headers)).to.equal(Object.prototype);
  });

  it('publishes header values as one line of text each, without Nats-* headers', () => {
    expect(
      publishedHeaderLines({
        a: 'one\r\ntwo',
        tag: ['x', Buffer.from('y')],
        'NATS-Msg-Id': 'm',
        empty: undefined,
      }),
    ).to.deep.equal([
      ['a', 'one two'],
      ['tag', 'x'],
      ['tag', 'y'],
    ]);
  });

  it('stores a published message without its key', () => {
    const stored = publishedMessage({ key: Buffer.from('k'), value: 'v', headers: { a: 'b' } });
    expect(stored).to.deep.equal({ key: null, value: 'v', headers: { a: Buffer.from('b') } });
  });
});
