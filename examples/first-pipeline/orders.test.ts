import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { PermanentError } from 'myeventstream';
import { createTestDriver, type TestDriver } from 'myeventstream/testing';
import orderSchema from './order.schema.json' with { type: 'json' };
import { ordersPipeline, type Customer, type FindCustomer } from './orders.ts';

const gold: Customer = { id: 'c-1', tier: 'gold' };
const order = { id: 'o-1', customerId: 'c-1', amount: 5 };
// What fetch throws while nothing listens at CUSTOMERS_URL.
const refused = new TypeError('fetch failed', {
  cause: Object.assign(new Error(), { code: 'ECONNREFUSED' }),
});

let driver: TestDriver;
/** The pipeline under the test driver (no Kafka, virtual time), with a stub for the lookup. */
const start = (findCustomer: FindCustomer) =>
  (driver = createTestDriver(ordersPipeline(findCustomer), { schema: orderSchema }));
afterEach(() => driver.dispose());

it('routes an order of a gold customer to orders-priority', async () => {
  start(async () => gold);
  driver.send({ key: 'o-1', value: order });
  await driver.settle();
  assert.equal(driver.producedTo('orders-priority').length, 1);
  assert.deepEqual(driver.deadLetters, []);
  assert.deepEqual(driver.committed, { 0: '1' });
});

it('retries while the customer service cannot be reached', async () => {
  const answers = [refused, gold];
  start(async () => {
    const answer = answers.shift()!;
    if (answer instanceof Error) throw answer;
    return answer;
  });
  driver.send({ value: order });
  await driver.advance(100); // virtual ms: the first retry is due after 100
  assert.equal(driver.retries.length, 1);
  assert.equal(driver.producedTo('orders-priority').length, 1);
});

it('dead-letters the order of an unknown customer at once', async () => {
  start(async (id) => {
    throw new PermanentError(`unknown customer ${id}`);
  });
  driver.send({ value: order });
  await driver.settle();
  assert.equal(driver.deadLetters[0]?.headers.error_code, 'PROCESS_REJECTED');
  assert.equal(driver.retries.length, 0);
});
