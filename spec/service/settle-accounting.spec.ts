import { expect } from 'chai';
import { Registry } from 'prom-client';
import winston from 'winston';
import { CreditGate } from '../../lib/core/credit-gate.js';
import { PermanentError } from '../../lib/core/errors.js';
import { createMetrics } from '../../lib/observability/metrics.js';
import { SettleAccounting } from '../../lib/service/settle-accounting.js';
import { makeDelivery } from '../operators/support/delivery.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** An accounting over a gate that has handed out `taken` credits, with real metrics. */
function accountingWith(taken: number) {
  const registry = new Registry();
  const gate = new CreditGate(10);
  for (let i = 0; i < taken; i++) gate.tryAcquire();
  const accounting = new SettleAccounting(
    gate,
    createMetrics(registry, 'svc'),
    winston.createLogger({ silent: true }),
  );
  return { accounting, gate, registry };
}

describe('SettleAccounting', () => {
  it('counts a processed settle: the work is done, its credit returned, the outcome counted', async () => {
    const { accounting, gate, registry } = accountingWith(1);
    const delivery = makeDelivery();
    accounting.handedOff(delivery);
    accounting.started();
    expect(accounting.running).to.equal(1);
    const before = Date.now();
    expect(accounting.settled({ delivery, outcome: 'processed' })).to.equal(true);
    expect(accounting.running).to.equal(0);
    expect(gate.held).to.equal(0);
    expect(accounting.lastSettleAt).to.be.at.least(before);
    expect(accounting.oldestUnsettled()).to.equal(undefined);
    const text = await registry.metrics();
    expect(sample(text, 'events_ingested_total{service="svc"}')).to.equal(1);
    expect(sample(text, 'events_processed_total{service="svc"}')).to.equal(1);
    expect(sample(text, 'dlq_messages_total{service="svc"}')).to.equal(0);
  });

  it('counts a dead-lettered settle as dead-lettered, not processed', async () => {
    const { accounting, registry } = accountingWith(1);
    const delivery = makeDelivery();
    accounting.handedOff(delivery);
    accounting.started();
    const error = new PermanentError('bad value');
    expect(accounting.settled({ delivery, outcome: 'dead-lettered', error })).to.equal(true);
    const text = await registry.metrics();
    expect(sample(text, 'events_processed_total{service="svc"}')).to.equal(0);
    expect(sample(text, 'dlq_messages_total{service="svc"}')).to.equal(1);
  });

  it('returns the credit of an abandoned message but counts no outcome: it is not done', async () => {
    const { accounting, gate, registry } = accountingWith(1);
    const delivery = makeDelivery();
    accounting.handedOff(delivery);
    accounting.started();
    expect(accounting.settled({ delivery, outcome: 'abandoned' })).to.equal(false);
    expect(accounting.running).to.equal(0);
    expect(gate.held).to.equal(0);
    expect(accounting.oldestUnsettled()).to.equal(undefined);
    const text = await registry.metrics();
    expect(sample(text, 'events_processed_total{service="svc"}')).to.equal(0);
    expect(sample(text, 'dlq_messages_total{service="svc"}')).to.equal(0);
  });

  it('names the oldest unsettled message, the next one once it settles', () => {
    const { accounting } = accountingWith(2);
    const first = makeDelivery({ offset: '7' });
    const second = makeDelivery({ offset: '8' });
    accounting.handedOff(first);
    accounting.handedOff(second);
    expect(accounting.oldestUnsettled()).to.include({ topic: 'events', partition: 0, offset: '7' });
    expect(accounting.held).to.equal(2);
    accounting.settled({ delivery: first, outcome: 'processed' });
    expect(accounting.oldestUnsettled()).to.include({ offset: '8' });
    expect(accounting.oldestUnsettledAgeSeconds()).to.be.within(0, 1);
  });

  it('reports an age of 0 with nothing unsettled', () => {
    expect(accountingWith(0).accounting.oldestUnsettledAgeSeconds()).to.equal(0);
  });
});
