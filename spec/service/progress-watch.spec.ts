import { expect } from 'chai';
import { Registry } from 'prom-client';
import winston from 'winston';
import Transport from 'winston-transport';
import { CreditGate } from '../../lib/core/credit-gate.js';
import { createMetrics } from '../../lib/observability/metrics.js';
import { Readiness, SERVICE_CONDITIONS, type ServiceCondition } from '../../lib/observability/readiness.js';
import { ProgressWatch } from '../../lib/service/progress-watch.js';
import { SettleAccounting } from '../../lib/service/settle-accounting.js';
import { makeDelivery } from '../operators/support/delivery.js';

class Lines extends Transport {
  readonly messages: string[] = [];
  override log(info: { message: string }, next: () => void): void {
    this.messages.push(info.message);
    next();
  }
}

function watch() {
  const lines = new Lines();
  const logger = winston.createLogger({ transports: [lines] });
  const gate = new CreditGate(4);
  gate.tryAcquire();
  const accounting = new SettleAccounting(gate, createMetrics(new Registry(), 'svc'), logger);
  const readiness = new Readiness<ServiceCondition>(SERVICE_CONDITIONS);
  for (const name of SERVICE_CONDITIONS) if (name !== 'progress') readiness.set(name, true);
  const progress = new ProgressWatch({
    accounting,
    readiness,
    logger,
    stuckAfterMs: 1000,
    stuckMessageMs: 5000,
  });
  return { accounting, readiness, progress, lines };
}

describe('ProgressWatch', () => {
  it('keeps progress ready while what is held settles in time', () => {
    const { accounting, readiness, progress } = watch();
    accounting.handedOff(makeDelivery());
    progress.check(Date.now() + 500);
    expect(readiness.readiness()).to.deep.equal({ ready: true, reasons: [] });
  });

  it('turns progress not ready, naming the oldest message, and logs it once as it turns', () => {
    const { accounting, readiness, progress, lines } = watch();
    accounting.handedOff(makeDelivery({ offset: '41' }));
    progress.check(Date.now() + 2000);
    progress.check(Date.now() + 3000);
    const { ready, reasons } = readiness.readiness();
    expect(ready).to.equal(false);
    expect(reasons).to.have.length(1);
    expect(reasons[0]).to.match(/^progress: no message settled for 1000 ms; the oldest, events\/0 offset 41/);
    expect(lines.messages.filter((m) => m === 'No progress')).to.have.length(1);
  });
});
