import { expect } from 'chai';
import { PermanentError } from '../../lib/index.js';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';
import routing, { topicFor } from './routing.js';

describe('example: routing pipeline', () => {
  let driver: TestDriver;

  beforeEach(() => (driver = createTestDriver(routing)));
  afterEach(() => driver.dispose());

  it('writes each event to the topic of its type, untouched, in order', async () => {
    driver.send({ key: 'u-1', value: { type: 'user.created', name: 'Ada' } });
    driver.send({ key: 'o-1', value: { type: 'order.placed', total: 10 } });
    driver.send({ key: 'u-1', value: { type: 'user.renamed', name: 'Ada L.' }, headers: { trace: 't-9' } });
    driver.send({ key: 'p-1', value: { type: 'payment.settled' } });
    await driver.settle();

    expect(driver.producedTo('users')).to.deep.equal([
      {
        topic: 'users',
        key: 'u-1',
        value: '{"type":"user.created","name":"Ada"}',
        headers: { event_type: 'user.created' },
      },
      {
        topic: 'users',
        key: 'u-1',
        value: '{"type":"user.renamed","name":"Ada L."}',
        headers: { trace: 't-9', event_type: 'user.renamed' },
      },
    ]);
    expect(driver.producedTo('orders').map((m) => m.key)).to.deep.equal(['o-1']);
    expect(driver.producedTo('payments').map((m) => m.key)).to.deep.equal(['p-1']);
    expect(driver.deadLetters).to.deep.equal([]);
    expect(driver.committed).to.deep.equal({ 0: '4' });
  });

  it('dead-letters an event of a type without a route at once', async () => {
    driver.send({ value: { type: 'audit.login' } });
    driver.send({ value: { kind: 'no type at all' } });
    await driver.settle();

    expect(driver.produced).to.deep.equal([]);
    expect(driver.retries).to.deep.equal([]);
    // Dead letters are written as failures happen, not in offset order.
    expect(
      driver.deadLetters.map((l) => [l.headers.error_code, l.headers.error_message]),
    ).to.have.deep.members([
      ['PROCESS_REJECTED', 'process rejected the event on attempt 1: no route for event type "audit.login"'],
      ['SCHEMA_VIOLATION', "event violates schema: / must have required property 'type'"],
    ]);
    expect(driver.committed).to.deep.equal({ 0: '2' });
  });

  it('retries a write that failed, without holding back events of other topics', async () => {
    driver.failProduce('orders', 1);
    driver.send({ key: 'o-1', value: { type: 'order.placed' } });
    driver.send({ key: 'u-1', value: { type: 'user.created' } });

    await driver.advance(0);
    expect(driver.produced.map((m) => m.topic)).to.deep.equal(['users']);
    expect(driver.committed).to.deep.equal({ 0: '0' });

    await driver.advance(100);
    expect(driver.produced.map((m) => m.topic)).to.deep.equal(['users', 'orders']);
    expect(driver.committed).to.deep.equal({ 0: '2' });
  });

  it('routes by type prefix', () => {
    expect(topicFor({ type: 'user.deleted' })).to.equal('users');
    expect(topicFor({ type: 'order.shipped' })).to.equal('orders');
    expect(() => topicFor({ type: 'users.created' })).to.throw(PermanentError);
  });
});
