import { headers as natsHeaders } from '@nats-io/transport-node';
import { expect } from 'chai';
import { withNatsOrigin } from '../../lib/nats/nats-dead-letters.js';
import { deliveryHeaders, publishHeaders } from '../../lib/nats/nats-headers.js';
import type { OutgoingMessage } from '../../lib/sinks/record-writer.js';

describe('NATS headers', () => {
  it('reach the pipeline as Buffers, a repeated header as an array', () => {
    const given = natsHeaders();
    given.set('trace', 't1');
    given.append('tag', 'a');
    given.append('tag', 'b');
    const headers = deliveryHeaders(given);
    expect(headers.trace).to.deep.equal(Buffer.from('t1'));
    expect(headers.tag).to.deep.equal([Buffer.from('a'), Buffer.from('b')]);
    expect(deliveryHeaders(undefined)).to.deep.equal({});
  });

  it('are written on one line each, without the server instructions copied from the message read', () => {
    const written = publishHeaders({
      trace: Buffer.from('t1'),
      tag: ['a', Buffer.from('b')],
      error_message: 'line one\r\nline two',
      'Nats-Msg-Id': 'abc',
      'nats-expected-stream': 'x',
    })!;
    expect(written.get('trace')).to.equal('t1');
    expect(written.values('tag')).to.deep.equal(['a', 'b']);
    expect(written.get('error_message')).to.equal('line one line two');
    expect(written.has('Nats-Msg-Id')).to.equal(false);
    expect(written.has('nats-expected-stream')).to.equal(false);
    expect(publishHeaders({})).to.equal(undefined);
  });

  it("name a dead letter's origin subject and stream", async () => {
    const sent: OutgoingMessage[] = [];
    const { send } = withNatsOrigin((_subject, message) => {
      sent.push(message);
      return Promise.resolve();
    });
    await send('dlq', {
      key: Buffer.from('orders.eu'),
      value: 'x',
      headers: { original_topic: 'ORDERS', original_offset: '7', error_stage: 'decode' },
    });
    expect(sent[0]!.headers).to.deep.equal({
      original_topic: 'orders.eu',
      original_stream: 'ORDERS',
      original_offset: '7',
      error_stage: 'decode',
    });
  });
});
