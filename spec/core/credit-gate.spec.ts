import { expect } from 'chai';
import { CreditGate } from '../../lib/core/credit-gate.js';

/** Which comes first: the promise, or `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  try {
    return await Promise.race([promise.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function fullGate(capacity: number): CreditGate {
  const gate = new CreditGate(capacity);
  for (let i = 0; i < capacity; i += 1) expect(gate.tryAcquire()).to.equal(true);
  return gate;
}

describe('CreditGate', function () {
  this.timeout(1000);

  describe('credit accounting', () => {
    it('hands out exactly `capacity` credits and refuses the next one', () => {
      const gate = new CreditGate(3);
      expect(gate.capacity).to.equal(3);
      expect([gate.tryAcquire(), gate.tryAcquire(), gate.tryAcquire()]).to.deep.equal([true, true, true]);
      expect(gate.held).to.equal(3);
      expect(gate.tryAcquire()).to.equal(false);
      expect(gate.held, 'a refused acquire takes nothing').to.equal(3);
    });

    it('gives a credit back on release, which can then be taken again', () => {
      const gate = fullGate(2);
      gate.release();
      expect(gate.held).to.equal(1);
      expect(gate.tryAcquire()).to.equal(true);
      expect(gate.tryAcquire()).to.equal(false);
    });

    it('throws on a release without a matching acquire, and stays usable', () => {
      const gate = new CreditGate(1);
      expect(() => gate.release()).to.throw(/without a matching acquire/);
      expect(gate.held).to.equal(0);
      expect(gate.tryAcquire()).to.equal(true);
      gate.release();
      expect(() => gate.release()).to.throw(/without a matching acquire/);
    });

    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      it(`rejects a capacity of ${capacity}`, () => {
        expect(() => new CreditGate(capacity)).to.throw(RangeError);
      });
    }
  });

  describe('waitForRelease', () => {
    it('waits for as many free credits as asked for, capped at the capacity', async () => {
      const gate = fullGate(4);
      const waiting = gate.waitForRelease(500, 2);
      gate.release();
      expect(await within(waiting, 10), 'one credit free, two wanted').to.equal('timed out');
      gate.release();
      expect(await within(waiting, 20)).to.deep.equal({ value: undefined });
      const all = fullGate(2);
      const capped = all.waitForRelease(500, 10);
      all.release();
      all.release();
      expect(await within(capped, 20), 'ten wanted, capacity two').to.deep.equal({ value: undefined });
    });

    it('resolves at once while a credit is free', async () => {
      const gate = new CreditGate(2);
      gate.tryAcquire();
      expect(await within(gate.waitForRelease(500), 20)).to.deep.equal({ value: undefined });
    });

    it('waits while the gate is full and wakes when a credit is released', async () => {
      const gate = fullGate(1);
      const started = Date.now();
      const waiting = gate.waitForRelease(500);
      expect(await within(waiting, 10), 'nothing released yet').to.equal('timed out');
      gate.release();
      expect(await within(waiting, 50)).to.deep.equal({ value: undefined });
      expect(Date.now() - started, 'woken by the release, not by its timeout').to.be.below(400);
      expect(gate.tryAcquire()).to.equal(true);
    });

    it('wakes every waiter on one release', async () => {
      const gate = fullGate(1);
      const waiters = [gate.waitForRelease(500), gate.waitForRelease(500), gate.waitForRelease(500)];
      gate.release();
      expect(await within(Promise.all(waiters), 50)).to.not.equal('timed out');
    });

    it('resolves after the timeout when nothing is released, without freeing a credit', async () => {
      const gate = fullGate(2);
      const started = Date.now();
      await gate.waitForRelease(15);
      expect(Date.now() - started).to.be.at.least(10);
      expect(gate.held).to.equal(2);
      expect(gate.tryAcquire()).to.equal(false);
    });
  });
});
