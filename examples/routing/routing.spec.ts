import { expect } from 'chai';
import { PermanentError } from '../../lib/index.js';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';
import { acknowledged, BROKERS, writtenKey } from '../support/brokers.js';
import routing, { topicFor } from './routing.js';

for (const broker of BROKERS) {
  describe(`example: routing pipeline on ${broker}`, () => {
    let driver: TestDriver;

    beforeEach(() => (driver = createTestDriver(routing, { broker })));
    afterEach(() => driver.dispose());

    it('writes each event to the topic of its type, untouched, in order', async () => {
      const offsets = [
        driver.send({ key: 'u-1', value: { type: 'user.created', name: 'Ada' } }),
        driver.send({ key: 'o-1', value: { type: 'order.placed', total: 10 } }),
        driver.send({
          key: 'u-1',
          value: { type: 'user.renamed', name: 'Ada L.' },
          headers: { trace: 't-9' },
        }),
        driver.send({ key: 'p-1', value: { type: 'payment.settled' } }),
      ];
      await driver.settle();

      expect(driver.producedTo('users')).to.deep.equal([
        {
          topic: 'users',
          key: writtenKey(broker, 'u-1'),
          value: '{"type":"user.created","name":"Ada"}',
          headers: { event_type: 'user.created' },
        },
        {
          topic: 'users',
          key: writtenKey(broker, 'u-1'),
          value: '{"type":"user.renamed","name":"Ada L."}',
          headers: { trace: 't-9', event_type: 'user.renamed' },
        },
      ]);
      expect(driver.producedTo('orders').map((m) => m.key)).to.deep.equal([writtenKey(broker, 'o-1')]);
      expect(driver.producedTo('payments').map((m) => m.key)).to.deep.equal([writtenKey(broker, 'p-1')]);
      expect(driver.deadLetters).to.deep.equal([]);
      expect(acknowledged(driver)).to.deep.equal(offsets);
    });

    it('dead-letters an event of a type without a route at once', async () => {
      const offsets = [
        driver.send({ value: { type: 'audit.login' } }),
        driver.send({ value: { kind: 'no type at all' } }),
      ];
      await driver.settle();

      expect(driver.produced).to.deep.equal([]);
      expect(driver.retries).to.deep.equal([]);
      // Dead letters are written as failures happen, not in offset order.
      expect(
        driver.deadLetters.map((l) => [l.headers.error_code, l.headers.error_message]),
      ).to.have.deep.members([
        [
          'PROCESS_REJECTED',
          'process rejected the event on attempt 1: no route for event type "audit.login"',
        ],
        ['SCHEMA_VIOLATION', "event violates schema: / must have required property 'type'"],
      ]);
      expect(acknowledged(driver)).to.deep.equal(offsets);
    });

    it('retries a write that failed, without holding back events of other topics', async () => {
      driver.failProduce('orders', 1);
      const order = driver.send({ key: 'o-1', value: { type: 'order.placed' } });
      const user = driver.send({ key: 'u-1', value: { type: 'user.created' } });

      await driver.advance(0);
      expect(driver.produced.map((m) => m.topic)).to.deep.equal(['users']);
      // Kafka commits no offset past the order still retrying; NATS acks the user event already.
      expect(acknowledged(driver)).to.deep.equal(broker === 'kafka' ? [] : [user]);

      await driver.advance(100);
      expect(driver.produced.map((m) => m.topic)).to.deep.equal(['users', 'orders']);
      expect(acknowledged(driver)).to.deep.equal([order, user]);
    });

    it('routes by type prefix', () => {
      expect(topicFor({ type: 'user.deleted' })).to.equal('users');
      expect(topicFor({ type: 'order.shipped' })).to.equal('orders');
      expect(() => topicFor({ type: 'users.created' })).to.throw(PermanentError);
    });
  });
}
