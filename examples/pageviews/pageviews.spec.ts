import { expect } from 'chai';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';
import { acknowledged, BROKERS, writtenKey } from '../support/brokers.js';
import pageviews, { isCrawler, toRecord, type PageView } from './pageviews.js';

const view = (overrides: Partial<PageView> = {}): PageView => ({
  url: 'https://shop.example/products/42?ref=newsletter&email=ada%40example.org',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
  userId: 'u-7',
  at: '2026-11-26T17:45:54.269Z',
  ...overrides,
});

for (const broker of BROKERS) {
  describe(`example: page views pipeline on ${broker}`, () => {
    let driver: TestDriver;

    beforeEach(() => (driver = createTestDriver(pageviews, { broker, outputTopic: 'pageviews' })));
    afterEach(() => driver.dispose());

    it('writes host and path of a view, without its query string, keyed by user where messages have keys', async () => {
      driver.send({ value: view() });
      await driver.settle();

      expect(driver.produced).to.deep.equal([
        {
          topic: 'pageviews',
          key: writtenKey(broker, 'u-7'),
          value: JSON.stringify({ host: 'shop.example', path: '/products/42', user: 'u-7', at: view().at }),
          headers: {},
        },
      ]);
    });

    it('drops views of crawlers, and still acknowledges them', async () => {
      const offsets = [
        driver.send({ value: view({ userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }) }),
        driver.send({ value: view({ userId: undefined }) }),
        driver.send({ value: view({ userAgent: 'HeadlessChrome/120.0' }) }),
      ];
      await driver.settle();

      expect(driver.produced.map((m) => m.key)).to.deep.equal([null]);
      expect(driver.settled.map((s) => s.outcome)).to.deep.equal(['processed', 'processed', 'processed']);
      expect(driver.deadLetters).to.deep.equal([]);
      expect(acknowledged(driver)).to.deep.equal(offsets);
    });

    it('dead-letters a view whose URL does not parse, as a process failure', async () => {
      const offset = driver.send({ value: view({ url: 'https://exa mple.com/' }) });
      await driver.settle();

      expect(driver.produced).to.deep.equal([]);
      expect(driver.deadLetters[0]?.headers).to.deep.include({
        error_stage: 'process',
        error_code: 'PROCESS_FAILED',
        error_message: 'Invalid URL',
        retry_attempts: '0',
      });
      expect(acknowledged(driver)).to.deep.equal([offset]);
    });

    it('tells crawlers from people and strips the query string', () => {
      expect(isCrawler(view({ userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0)' }))).to.equal(true);
      expect(isCrawler(view())).to.equal(false);
      expect(toRecord(view()).path).to.equal('/products/42');
    });
  });
}
