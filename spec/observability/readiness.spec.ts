import { expect } from 'chai';
import { Readiness, SERVICE_CONDITIONS } from '../../lib/observability/readiness.js';

describe('Readiness', () => {
  it('is not ready while a condition has not been reported', () => {
    const readiness = new Readiness(SERVICE_CONDITIONS);
    readiness.set('consumer', true);
    readiness.set('producer', true);
    readiness.set('dlq', true);
    expect(readiness.readiness()).to.deep.equal({ ready: false, reasons: ['progress: not reported yet'] });
  });

  it('is ready once every condition is ok', () => {
    const readiness = new Readiness(SERVICE_CONDITIONS);
    for (const name of SERVICE_CONDITIONS) readiness.set(name, true);
    expect(readiness.readiness()).to.deep.equal({ ready: true, reasons: [] });
  });

  it('reports each failing condition with its reason, and recovers when it is ok again', () => {
    const readiness = new Readiness(['producer', 'dlq']);
    readiness.set('producer', false, 'disconnected');
    readiness.set('dlq', false);
    expect(readiness.readiness()).to.deep.equal({
      ready: false,
      reasons: ['producer: disconnected', 'dlq: not ready'],
    });
    readiness.set('producer', true);
    readiness.set('dlq', true);
    expect(readiness.readiness()).to.deep.equal({ ready: true, reasons: [] });
  });

  it('rejects a condition it was not told about, so a typo cannot go unnoticed', () => {
    const readiness = new Readiness<string>(['dlq']);
    expect(() => readiness.set('dql', true)).to.throw(/Unknown readiness condition: dql/);
  });
});
