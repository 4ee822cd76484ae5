import { expect } from 'chai';
import { Registry } from 'prom-client';
import { firstValueFrom, of, toArray } from 'rxjs';
import winston from 'winston';
import { CreditGate } from '../../lib/core/credit-gate.js';
import type { MessageHandler, Settlement } from '../../lib/core/handle-message.js';
import { createMetrics } from '../../lib/observability/metrics.js';
import { SettleAccounting } from '../../lib/service/settle-accounting.js';
import { unlessStopping } from '../../lib/service/stop-guard.js';
import { makeDelivery } from '../operators/support/delivery.js';

const handle: MessageHandler = (delivery) => of({ delivery, outcome: 'processed' as const });

function guarded(stopping: () => boolean) {
  const accounting = new SettleAccounting(
    new CreditGate(4),
    createMetrics(new Registry(), 'svc'),
    winston.createLogger({ silent: true }),
  );
  return { accounting, handle: unlessStopping(stopping, accounting)(handle) };
}

describe('unlessStopping', () => {
  it('starts a message while the service runs, counting it as running', async () => {
    const { accounting, handle } = guarded(() => false);
    const results = await firstValueFrom(handle(makeDelivery()).pipe(toArray()));
    expect(results.map((r) => (r as Settlement).outcome)).to.deep.equal(['processed']);
    expect(accounting.running).to.equal(1);
  });

  it('starts nothing once shutdown began: the message goes back to the broker', async () => {
    const { accounting, handle } = guarded(() => true);
    const results = await firstValueFrom(handle(makeDelivery()).pipe(toArray()));
    expect(results).to.deep.equal([]);
    expect(accounting.running).to.equal(0);
  });

  it('settles a message whose delivery was aborted while it waited as abandoned, without running it', async () => {
    const { accounting, handle } = guarded(() => false);
    const aborted = new AbortController();
    aborted.abort('partition revoked');
    const results = await firstValueFrom(handle(makeDelivery({ signal: aborted.signal })).pipe(toArray()));
    expect(results.map((r) => (r as Settlement).outcome)).to.deep.equal(['abandoned']);
    expect(accounting.running).to.equal(1);
  });
});
