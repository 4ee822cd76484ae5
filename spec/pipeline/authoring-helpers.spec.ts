import { expect } from 'chai';
import { pipe } from 'rxjs';
import {
  decodeJson,
  definePipeline,
  enrich,
  filterEvents,
  mapEvents,
  PermanentError,
  routeTo,
} from '../../lib/index.js';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';

interface Order {
  Id: string;
  kind: string;
  amount: number;
}

describe('pipeline authoring helpers', () => {
  let driver: TestDriver | undefined;
  afterEach(() => driver?.dispose());

  it('filterEvents drops messages, which still settle and commit', async () => {
    driver = createTestDriver(
      definePipeline((ctx) =>
        pipe(
          decodeJson<Order>(),
          filterEvents<Order>((order) => order.amount > 0),
          routeTo<Order>(() => 'kept', ctx),
        ),
      ),
    );
    driver.send({ key: 'a', value: { Id: 'a', kind: 'x', amount: 5 } });
    driver.send({ key: 'b', value: { Id: 'b', kind: 'x', amount: 0 } });
    await driver.settle();
    expect(driver.producedTo('kept').map((m) => m.key)).to.deep.equal(['a']);
    expect(driver.deadLetters).to.deep.equal([]);
    expect(driver.committed).to.deep.equal({ 0: '2' });
  });

  it('mapEvents replaces the event and dead-letters a projection that throws, without retries', async () => {
    const seen: unknown[] = [];
    driver = createTestDriver(
      definePipeline(() =>
        pipe(
          decodeJson<Order>(),
          mapEvents<Order, { id: string; cents: number }>((order) => {
            if (typeof order.amount !== 'number') throw new TypeError('amount is not a number');
            return { id: order.Id, cents: Math.round(order.amount * 100) };
          }),
          filterEvents((event) => (seen.push(event), true)),
        ),
      ),
    );
    driver.send({ value: { Id: 'a', kind: 'x', amount: 1.5 } });
    driver.send({ value: { Id: 'b', kind: 'x', amount: 'lots' } });
    await driver.settle();
    expect(seen).to.deep.equal([{ id: 'a', cents: 150 }]);
    expect(driver.retries).to.deep.equal([]);
    expect(driver.deadLetters.map((l) => [l.headers.error_code, l.headers.error_message])).to.deep.equal([
      ['PROCESS_REJECTED', 'mapping the event failed: amount is not a number'],
    ]);
  });

  it('enrich merges an async answer, retrying failures and not a PermanentError', async () => {
    const calls = new Map<string, number>();
    const lookup = async (order: Order) => {
      const n = (calls.get(order.Id) ?? 0) + 1;
      calls.set(order.Id, n);
      if (order.Id === 'missing') throw new PermanentError('customer not found');
      if (n === 1) throw new Error('503 from the customer service');
      return { customer: `customer-of-${order.Id}` };
    };
    const enriched: unknown[] = [];
    driver = createTestDriver(
      definePipeline((ctx) =>
        pipe(
          decodeJson<Order>(),
          enrich(lookup, (order, found) => ({ ...order, ...found }), { retry: ctx.retry }),
          filterEvents((event) => (enriched.push(event), true)),
        ),
      ),
    );
    driver.send({ value: { Id: 'a', kind: 'x', amount: 1 } });
    driver.send({ value: { Id: 'missing', kind: 'x', amount: 1 } });
    await driver.advance(0);
    expect(enriched).to.deep.equal([]);
    await driver.advance(100);
    expect(enriched).to.deep.equal([{ Id: 'a', kind: 'x', amount: 1, customer: 'customer-of-a' }]);
    expect(calls.get('missing')).to.equal(1);
    expect(driver.deadLetters.map((l) => l.headers.error_code)).to.deep.equal(['PROCESS_REJECTED']);
  });

  it('routeTo writes each message to the topics chosen for its event, untouched', async () => {
    driver = createTestDriver(
      definePipeline((ctx) =>
        pipe(
          decodeJson<Order>(),
          routeTo<Order>(
            (order) => (order.kind === 'audit' ? ['orders', 'audit'] : `orders-${order.kind}`),
            ctx,
          ),
        ),
      ),
    );
    driver.send({ key: 'k1', value: { Id: '1', kind: 'retail', amount: 1 } });
    driver.send({ key: 'k2', value: { Id: '2', kind: 'audit', amount: 2 } });
    await driver.settle();
    expect(driver.producedTo('orders-retail').map((m) => m.key)).to.deep.equal(['k1']);
    expect(driver.producedTo('orders').map((m) => m.key)).to.deep.equal(['k2']);
    expect(driver.producedTo('audit').map((m) => m.value)).to.deep.equal([
      '{"Id":"2","kind":"audit","amount":2}',
    ]);
    expect(driver.producedTo('audit')[0]!.headers).to.include({ source_offset: '1', source_partition: '0' });
  });

  it('routeTo retries only the topics whose write failed', async () => {
    driver = createTestDriver(
      definePipeline((ctx) =>
        pipe(
          decodeJson<Order>(),
          routeTo<Order>(() => ['a', 'b'], ctx),
        ),
      ),
    );
    driver.failProduce('b', 1);
    driver.send({ key: 'k', value: { Id: '1', kind: 'x', amount: 1 } });
    await driver.settle();
    expect(driver.producedTo('a')).to.have.length(1);
    expect(driver.producedTo('b')).to.have.length(1);
    expect(driver.retries).to.have.length(1);
    expect(driver.deadLetters).to.deep.equal([]);
  });
});
