import { expect } from 'chai';
import { nextPollMs } from '../../loadtest/service-process.js';

describe('benchmark scrapes of a running service', () => {
  const scrape = (processed: number, dead = 0) =>
    new Map([
      ['events_processed_total', processed],
      ['dlq_messages_total', dead],
    ]);
  const start = { at: 1000, settled: 0 };

  it('waits half the time the target is expected in, by the rate so far', () => {
    // 10,000 settled in 100 ms: 90,000 to go at 100/ms is 900 ms away.
    expect(nextPollMs(start, 1100, scrape(9_000, 1_000), 100_000, Infinity, 50)).to.equal(450);
  });

  it('scrapes every pollMs near the end, and at least once a second', () => {
    expect(nextPollMs(start, 1100, scrape(99_000), 100_000, Infinity, 50)).to.equal(50);
    expect(nextPollMs(start, 1100, scrape(100), 100_000, Infinity, 50)).to.equal(1000);
  });

  it('polls every pollMs while nothing has settled, and stops at maxSeconds', () => {
    expect(nextPollMs(start, 1100, scrape(0), 100_000, Infinity, 50)).to.equal(50);
    // The target is far away, but the window closes 3 s after it began.
    expect(nextPollMs(start, 3800, scrape(1_000), 1_000_000, 3, 50)).to.equal(100);
  });
});
