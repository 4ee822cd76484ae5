import { expect } from 'chai';
import { waitUntil } from '../../lib/service/wait-until.js';

describe('waitUntil', () => {
  it('resolves true at once when the condition already holds', async () => {
    expect(await waitUntil(() => true, 0)).to.equal(true);
  });

  it('resolves true once the condition comes to hold', async () => {
    let done = false;
    setTimeout(() => (done = true), 30);
    expect(await waitUntil(() => done, 1000)).to.equal(true);
  });

  it('resolves false after the timeout when the condition never holds', async () => {
    const started = Date.now();
    expect(await waitUntil(() => false, 60)).to.equal(false);
    expect(Date.now() - started).to.be.at.least(60);
  });
});
