import { expect } from 'chai';
import winston from 'winston';
import type { Settlement } from '../../lib/core/handle-message.js';
import { ServiceBase } from '../../lib/service/service-base.js';
import { makeDelivery } from '../operators/support/delivery.js';

/** A service with no broker: its shutdown drains for `timeoutMs`, aborting what is left. */
class BareService extends ServiceBase {
  private readonly unsettled: Settlement[] = [];
  aborted = 0;
  drained: boolean | undefined;
  shutdowns = 0;

  constructor(private readonly timeoutMs: number) {
    super(
      { serviceName: 'bare', workerPoolSize: 2, queueBufferSize: 2 },
      winston.createLogger({ silent: true }),
      undefined,
    );
  }

  /** One message taken in and started, as the source and the stop guard would. */
  take(): Settlement {
    this.gate.tryAcquire();
    const delivery = makeDelivery();
    this.accounting.handedOff(delivery);
    this.accounting.started();
    const settlement: Settlement = { delivery, outcome: 'processed' };
    this.unsettled.push(settlement);
    return settlement;
  }

  running(): number {
    return this.accounting.running;
  }

  protected settle(settlement: Settlement): void {
    this.unsettled.splice(
      this.unsettled.findIndex((s) => s.delivery === settlement.delivery),
      1,
    );
    this.accounting.settled(settlement);
  }

  protected async shutdown(): Promise<void> {
    this.shutdowns += 1;
    this.drained = await this.drain(this.timeoutMs, () => this.abortAll(), 'left for the next run');
  }

  private abortAll(): void {
    this.aborted += 1;
    for (const settlement of [...this.unsettled]) this.settle({ ...settlement, outcome: 'abandoned' });
  }
}

describe('ServiceBase', () => {
  it('shuts down once however often stop() is called', async () => {
    const service = new BareService(100);
    await Promise.all([service.stop(), service.stop()]);
    expect(service.shutdowns).to.equal(1);
    expect(service.drained).to.equal(true);
  });

  it('drains the work that settles within the timeout, aborting nothing', async () => {
    const service = new BareService(1000);
    const settlement = service.take();
    setTimeout(() => (service as unknown as { settle(s: Settlement): void }).settle(settlement), 30);
    await service.stop();
    expect(service.drained).to.equal(true);
    expect(service.aborted).to.equal(0);
    expect(service.running()).to.equal(0);
  });

  it('aborts what did not settle within the timeout, and says it did not drain', async () => {
    const service = new BareService(50);
    service.take();
    await service.stop();
    expect(service.drained).to.equal(false);
    expect(service.aborted).to.equal(1);
  });
});
