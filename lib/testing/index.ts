/**
 * `myeventstream/testing`: test a pipeline without Kafka, under virtual time.
 *
 * ```ts
 * import { createTestDriver } from 'myeventstream/testing';
 * import pipeline from './my-pipeline.js';
 *
 * const driver = createTestDriver(pipeline, { outputTopic: 'orders-valid' });
 * driver.send({ key: 'o-1', value: { Id: 'o-1' } });
 * await driver.settle();
 * // driver.produced, driver.deadLetters, driver.committed, driver.retries…
 * driver.dispose();
 * ```
 *
 * A separate entry point from `myeventstream`, so the service never loads it.
 */
export {
  createTestDriver,
  type RetryRecord,
  type SettledMessage,
  type SettleOptions,
  type TestDriver,
  type TestDriverOptions,
} from './test-driver.js';
export type {
  DeadLetterMessage,
  ProducedMessage,
  TestHeaderValue,
  TestMessage,
  TestValue,
  WrittenMessage,
} from './messages.js';
