import { expect } from 'chai';
import type { MessageHeaders } from '../../lib/core/headers.js';
import { StageError } from '../../lib/core/errors.js';
import {
  natsReplayedHeaders,
  replayDurableName,
  replayMessageId,
} from '../../lib/cli/nats-replay-message.js';
import { withNatsOrigin } from '../../lib/nats/nats-dead-letters.js';
import { deadLetter } from '../../lib/sinks/dead-letter.js';
import type { OutgoingMessage } from '../../lib/sinks/batching-producer.js';
import { makeDelivery } from '../operators/support/delivery.js';

const NOW = new Date('2026-12-01T10:00:00.000Z');

/** The headers of the dead letter the NATS service writes for a message with `headers`. */
async function natsLetterHeaders(headers: MessageHeaders): Promise<MessageHeaders> {
  const error = new StageError('bad', { stage: 'validate', code: 'SCHEMA_VIOLATION', retriable: false });
  const delivery = makeDelivery({ topic: 'ORDERS', key: Buffer.from('orders.eu'), headers });
  let written: OutgoingMessage | undefined;
  const sink = withNatsOrigin(async (_subject, message) => {
    written = message;
  });
  await sink.send('orders.dlq', deadLetter(delivery, error, { consumerGroup: 'g', maxRetries: 3 }));
  return written!.headers!;
}

describe('natsReplayedHeaders', () => {
  it("keeps the original message's own headers, drops every dead-letter header and adds the replay's", async () => {
    const own = { trace: Buffer.from('t-1'), tenant: 'eu' };
    const letter = await natsLetterHeaders(own);
    expect(letter).to.include.keys('error_code', 'original_topic', 'original_stream', 'original_offset');

    const replayed = natsReplayedHeaders(letter, 'orders.dlq/0/7', NOW);

    expect(replayed).to.deep.equal({
      ...own,
      replayed_from: 'orders.dlq/0/7',
      replayed_at: NOW.toISOString(),
    });
  });

  it('replaces the replay headers of an earlier replay', () => {
    const replayed = natsReplayedHeaders(
      { replayed_from: 'orders.dlq/0/1', replayed_at: '2026-01-01T00:00:00.000Z', a: 'b' },
      'orders.dlq/0/9',
      NOW,
    );
    expect(replayed).to.deep.equal({
      a: 'b',
      replayed_from: 'orders.dlq/0/9',
      replayed_at: NOW.toISOString(),
    });
  });
});

describe('replayMessageId and replayDurableName', () => {
  it('give one message id per dead letter, so a second publish of it is a duplicate', () => {
    expect(replayMessageId('orders.dlq/0/7')).to.equal(replayMessageId('orders.dlq/0/7'));
    expect(replayMessageId('orders.dlq/0/7')).to.not.equal(replayMessageId('orders.dlq/0/8'));
  });

  it('make a replay group a valid durable name', () => {
    expect(replayDurableName('myeventstream-dlq-replay')).to.equal('myeventstream-dlq-replay');
    expect(replayDurableName('team.a replay*>')).to.equal('team_a_replay__');
  });
});
