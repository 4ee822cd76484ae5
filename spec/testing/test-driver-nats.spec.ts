import { expect } from 'chai';
import { pipe } from 'rxjs';
import { decodeJson, defaultPipeline, definePipeline, forwardTo, process } from '../../lib/index.js';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';

/** A Promise the test resolves when it wants. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("createTestDriver with broker 'nats'", () => {
  let driver: TestDriver | undefined;
  afterEach(() => {
    driver?.dispose();
    driver = undefined;
  });

  it('delivers as the JetStream source does: stream as topic, partition 0, sequences from 1, subject as key', async () => {
    const seen: Array<{ topic: string; partition: number; offset: string; key: string | undefined }> = [];
    const d = (driver = createTestDriver(
      definePipeline(() =>
        pipe(
          process((_event: unknown, delivery) => {
            seen.push({
              topic: delivery.topic,
              partition: delivery.partition,
              offset: delivery.offset,
              key: delivery.key?.toString(),
            });
          }),
        ),
      ),
      { broker: 'nats', topic: 'ORDERS' },
    ));
    expect(d.broker).to.equal('nats');
    expect(d.send({ key: 'orders.eu', value: '{}' })).to.equal('1');
    expect(d.send({ value: null })).to.equal('2');
    await d.settle();
    expect(seen).to.deep.equal([
      { topic: 'ORDERS', partition: 0, offset: '1', key: 'orders.eu' },
      { topic: 'ORDERS', partition: 0, offset: '2', key: 'ORDERS' },
    ]);
  });

  it('writes what a JetStream publish stores: no key, header values as one line of text, no Nats-* headers', async () => {
    const d = (driver = createTestDriver(defaultPipeline, { broker: 'nats', outputTopic: 'orders.valid' }));
    d.send({
      key: 'orders.eu',
      value: { Id: 'e-1' },
      headers: { trace: 't-1', note: 'two\nlines', 'Nats-Msg-Id': 'm-1', tag: ['a', 'b'] },
    });
    await d.settle();
    expect(d.produced).to.deep.equal([
      {
        topic: 'orders.valid',
        key: null,
        value: '{"Id":"e-1"}',
        headers: {
          trace: 't-1',
          note: 'two lines',
          tag: ['a', 'b'],
          source_topic: 'events',
          source_partition: '0',
          source_offset: '1',
        },
      },
    ]);
  });

  it('dead-letters with the NATS origin headers lib/nats writes: the subject, the stream and the sequence', async () => {
    const d = (driver = createTestDriver(defaultPipeline, {
      broker: 'nats',
      topic: 'ORDERS',
      consumerGroup: 'orders-durable',
    }));
    d.send({ key: 'orders.eu', value: '{"Id": ' });
    await d.settle();
    expect(d.deadLetters).to.have.length(1);
    const [letter] = d.deadLetters;
    expect(letter?.key).to.equal(null);
    expect(letter?.headers).to.deep.include({
      original_topic: 'orders.eu',
      original_stream: 'ORDERS',
      original_partition: '0',
      original_offset: '1',
      error_code: 'INVALID_JSON',
      consumer_group: 'orders-durable',
    });
    expect(d.acked).to.deep.equal(['1']);
  });

  it('acks each message once it settled, without waiting for an earlier one (no watermark)', async () => {
    const gate = deferred();
    const d = (driver = createTestDriver(
      definePipeline((ctx) =>
        pipe(
          decodeJson<{ Id: string }>(),
          process(async (event: { Id: string }) => {
            if (event.Id === 'slow') await gate.promise;
          }),
          forwardTo('out', ctx),
        ),
      ),
      { broker: 'nats' },
    ));
    d.send({ value: { Id: 'slow' } });
    d.send({ value: { Id: 'fast-1' } });
    d.send({ value: { Id: 'fast-2' } });
    await d.advance(10);
    expect(d.acked).to.deep.equal(['2', '3']);
    expect(d.pending).to.equal(1);
    gate.resolve();
    await d.advance(0);
    expect(d.acked).to.deep.equal(['2', '3', '1']);
  });

  it('names the accessor of the other broker: committed on NATS, acked on Kafka', () => {
    const nats = (driver = createTestDriver(defaultPipeline, { broker: 'nats' }));
    expect(() => nats.committed).to.throw(/NATS has no offset commits; read acked/);
    const kafka = (driver = createTestDriver(defaultPipeline));
    expect(kafka.broker).to.equal('kafka');
    expect(() => kafka.acked).to.throw(/read committed/);
  });

  it('refuses more than one partition, a partition other than 0 and a key that is no subject', () => {
    expect(() => createTestDriver(defaultPipeline, { broker: 'nats', partitions: 2 })).to.throw(
      RangeError,
      /partitions must be 1 with broker 'nats'/,
    );
    const d = (driver = createTestDriver(defaultPipeline, { broker: 'nats' }));
    expect(() => d.send({ value: '{}', partition: 1 })).to.throw(
      RangeError,
      /partition must be an integer from 0 to 0/,
    );
    expect(() => d.send({ key: 'has space', value: '{}' })).to.throw(RangeError, /the key is the subject/);
    expect(() => d.send({ key: 'orders.>', value: '{}' })).to.throw(RangeError, /the key is the subject/);
    expect(() => createTestDriver(defaultPipeline, { broker: 'rabbit' as unknown as 'nats' })).to.throw(
      RangeError,
      /broker must be 'kafka' or 'nats'/,
    );
  });
});
