import { expect } from 'chai';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';
import { acknowledged, BROKERS, writtenKey } from '../support/brokers.js';
import { orderPipeline, orderTotal, type Customer, type HttpGet, type Order } from './orders.js';

const ada: Customer = { id: 'c-1', name: 'Ada Lovelace', tier: 'gold' };

const order: Order = {
  orderId: 'ord-1001',
  customerId: 'c-1',
  currency: 'EUR',
  items: [
    { sku: 'BOOK-1', quantity: 2, unitPrice: 12.5 },
    { sku: 'PEN-3', quantity: 3, unitPrice: 0.1 },
  ],
};

/** What the stub answers: a status code, a customer (200), or an error to throw (network failure). */
type Answer = number | Customer | Error;

/**
 * A stubbed customer service: per customer id, the answers in order (the last one repeats).
 * Records each call's URL and virtual time.
 */
function customerService(answers: Record<string, Answer[]>, now: () => number) {
  const calls: Array<{ url: string; at: number }> = [];
  const httpGet: HttpGet = async (url) => {
    calls.push({ url, at: now() });
    const id = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
    const queue = answers[id] ?? [404];
    const answer = (queue.length > 1 ? queue.shift() : queue[0]) as Answer;
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'number') return { status: answer, json: async () => ({ status: answer }) };
    return { status: 200, json: async () => answer };
  };
  return { httpGet, calls };
}

for (const broker of BROKERS) {
  describe(`example: orders pipeline on ${broker}`, () => {
    let driver: TestDriver;
    let calls: Array<{ url: string; at: number }>;

    /** A driver over the orders pipeline with the customer service answering `answers`. */
    function start(answers: Record<string, Answer[]>): TestDriver {
      const service = customerService(answers, () => driver.now);
      calls = service.calls;
      driver = createTestDriver(
        orderPipeline({ customersUrl: 'http://customers.test', httpGet: service.httpGet }),
        { broker, outputTopic: 'orders-enriched' },
      );
      return driver;
    }

    afterEach(() => driver.dispose());

    it('writes the order with its customer and total, keyed by order id where messages have keys', async () => {
      const d = start({ 'c-1': [ada] });
      const offset = d.send({ key: 'c-1', value: order, headers: { trace: 'abc' } });
      await d.settle();

      expect(calls.map((c) => c.url)).to.deep.equal(['http://customers.test/customers/c-1']);
      expect(d.produced).to.have.length(1);
      const [written] = d.produced;
      expect(written?.topic).to.equal('orders-enriched');
      expect(written?.key).to.equal(writtenKey(broker, 'ord-1001'));
      expect(JSON.parse(written?.value as string)).to.deep.equal({ ...order, customer: ada, total: 25.3 });
      expect(written?.headers).to.deep.equal({
        trace: 'abc',
        source_topic: 'events',
        source_partition: '0',
        source_offset: offset,
      });
      expect(acknowledged(d)).to.deep.equal([offset]);
    });

    it('retries while the customer service answers 503, after 100 then 200 ms', async () => {
      const d = start({ 'c-1': [503, 503, ada] });
      const offset = d.send({ value: order });

      await d.advance(299);
      expect(calls.map((c) => c.at)).to.deep.equal([0, 100]);
      expect(d.produced).to.deep.equal([]);
      expect(acknowledged(d)).to.deep.equal([]);

      await d.advance(1);
      expect(calls.map((c) => c.at)).to.deep.equal([0, 100, 300]);
      expect(d.produced).to.have.length(1);
      expect(d.retries.map((r) => (r.error as Error).message)).to.deep.equal([
        'customer service answered 503',
        'customer service answered 503',
      ]);
      expect(acknowledged(d)).to.deep.equal([offset]);
    });

    it('retries when the customer service cannot be reached', async () => {
      const d = start({ 'c-1': [new TypeError('fetch failed'), ada] });
      d.send({ value: order });
      await d.settle();
      expect(calls).to.have.length(2);
      expect(d.produced).to.have.length(1);
    });

    it('dead-letters an order whose customer does not exist (404) at once, without retrying', async () => {
      const d = start({ 'c-1': [ada] });
      const offset = d.send({ value: { ...order, customerId: 'c-404' } });
      await d.settle();

      expect(calls).to.have.length(1);
      expect(d.produced).to.deep.equal([]);
      expect(d.deadLetters).to.have.length(1);
      expect(d.deadLetters[0]?.headers).to.deep.include({
        error_stage: 'process',
        error_code: 'PROCESS_REJECTED',
        error_message: 'process rejected the event on attempt 1: customer c-404 does not exist',
        retry_attempts: '0',
      });
      // The dead letter carries the order as it came, not the enriched one.
      expect(JSON.parse(d.deadLetters[0]?.value as string)).to.deep.equal({ ...order, customerId: 'c-404' });
      expect(acknowledged(d)).to.deep.equal([offset]);
    });

    it('dead-letters the order once the retries run out while the service stays unavailable', async () => {
      const d = start({ 'c-1': [503] });
      d.send({ value: order });
      await d.settle();

      expect(calls.map((c) => c.at)).to.deep.equal([0, 100, 300, 700]);
      expect(d.deadLetters[0]?.headers).to.deep.include({
        error_code: 'PROCESS_FAILED',
        error_message: 'process failed after 4 attempts: customer service answered 503',
        retry_attempts: '3',
      });
    });

    it('dead-letters an order the schema rejects without calling the customer service', async () => {
      const d = start({ 'c-1': [ada] });
      d.send({
        value: { ...order, currency: 'BTC', items: [{ sku: 'BOOK-1', quantity: 0, unitPrice: 12.5 }] },
      });
      await d.settle();

      expect(calls).to.deep.equal([]);
      const headers = d.deadLetters[0]?.headers;
      expect(headers?.error_code).to.equal('SCHEMA_VIOLATION');
      expect(JSON.parse(headers?.schema_errors as string)).to.have.deep.members([
        { path: '/currency', keyword: 'enum', message: 'must be equal to one of the allowed values' },
        { path: '/items/0/quantity', keyword: 'minimum', message: 'must be >= 1' },
      ]);
    });

    it('retries a failed write without looking the customer up again', async () => {
      const d = start({ 'c-1': [ada] });
      d.failProduce('orders-enriched', 1);
      d.send({ value: order });
      await d.settle();

      expect(calls).to.have.length(1);
      expect(d.retries.map((r) => r.at)).to.deep.equal([0]);
      expect(d.produced).to.have.length(1);
      expect(d.now).to.equal(100);
    });

    it('totals in cents', () => {
      expect(orderTotal(order)).to.equal(25.3);
      expect(orderTotal({ ...order, items: [{ sku: 'A', quantity: 3, unitPrice: 0.1 }] })).to.equal(0.3);
    });
  });
}
