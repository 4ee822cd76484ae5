import { expect } from 'chai';
import type { Pipeline } from '../../lib/pipeline/define-pipeline.js';
import { createTestDriver, type TestDriver } from '../../lib/testing/index.js';

/**
 * The load generator's pipeline (plain JavaScript over the compiled library, so it lives with
 * the specs that run after the build). It must fail an event exactly as many attempts as the
 * event asks for, with the service's settings: PROCESS_TIMEOUT_MS is set by default, and then
 * each attempt gets a fresh copy of the delivery.
 */
describe('loadtest pipeline', () => {
  let driver: TestDriver | undefined;
  afterEach(() => driver?.dispose());

  async function loadtestPipeline(): Promise<Pipeline> {
    const url = new URL('../../loadtest/pipelines/loadtest-pipeline.js', import.meta.url);
    const module = (await import(url.href)) as { default: Pipeline };
    return module.default;
  }

  for (const attemptTimeoutMs of [undefined, 60_000]) {
    it(`fails an event only the attempts it asks for (attemptTimeoutMs ${attemptTimeoutMs ?? 'unset'})`, async () => {
      driver = createTestDriver(await loadtestPipeline(), {
        outputTopic: 'out',
        retry: { maxAttempts: 3, attemptTimeoutMs },
      });
      driver.send({ value: { Id: 'once', loadtest_fail: 1 } });
      driver.send({ value: { Id: 'twice', loadtest_fail: 2 } });
      driver.send({ value: { Id: 'never' } });
      await driver.settle();

      expect(driver.deadLetters).to.have.length(0);
      expect(
        driver.producedTo('out').map((m) => (JSON.parse(m.value!) as { Id: string }).Id),
      ).to.have.members(['once', 'twice', 'never']);
      expect(driver.retries.map((r) => [r.offset, r.attempt])).to.deep.equal([
        ['0', 1],
        ['1', 1],
        ['1', 2],
      ]);
    });
  }
});
