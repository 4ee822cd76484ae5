import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import pageviews, { type PageView } from '../../examples/pageviews/pageviews.js';
import routing, { ROUTES } from '../../examples/routing/routing.js';
import type { Pipeline } from '../../lib/pipeline/define-pipeline.js';
import { createTestDriver } from '../../lib/testing/index.js';
import {
  consumerInfo,
  eventually,
  messageCount,
  publishAll,
  readSubject,
  useTestNats,
  type TestStreams,
} from './support/nats.js';

/**
 * The examples' pipelines, unchanged, on NATS JetStream: for the same input they write what
 * the test driver (the Kafka service's message flow, in memory) says they write, and
 * dead-letter the same messages with the same codes.
 */
describe('the example pipelines on NATS JetStream', function () {
  this.timeout(60_000);
  const nats = useTestNats();
  const extraStreams: string[] = [];

  afterEach(async () => {
    for (const name of extraStreams.splice(0)) await nats.jsm.streams.delete(name).catch(() => undefined);
  });

  /** What the test driver writes and dead-letters for `values`. */
  async function driverRun(pipeline: Pipeline, values: string[], outputTopic: string) {
    const driver = createTestDriver(pipeline, { outputTopic, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    try {
      for (const value of values) driver.send({ value });
      await driver.settle();
      return inAnyOrder({
        produced: driver.produced.map(({ topic, value }) => ({ topic, value })),
        codes: driver.deadLetters.map((letter) => String(letter.headers.error_code)),
      });
    } finally {
      driver.dispose();
    }
  }

  async function natsRun(
    pipeline: Pipeline,
    values: string[],
    s: TestStreams,
    written: string[],
    letters: number,
  ) {
    await publishAll(nats.nc, s.subject, values);
    await nats.start(pipeline, s);
    await eventually('every message settled', async () => {
      const info = await consumerInfo(nats.jsm, s);
      return (
        info.num_ack_pending === 0 &&
        info.num_pending === 0 &&
        (await messageCount(nats.jsm, s.dlq)) === letters
      );
    });
    const produced = [];
    for (const subject of written)
      produced.push(
        ...(await readSubject(nats.jsm, subject)).map(({ subject: topic, value }) => ({ topic, value })),
      );
    const codes = (await readSubject(nats.jsm, s.dlq)).map((letter) => String(letter.headers.error_code));
    return inAnyOrder({ produced, codes });
  }

  it('pageviews: the same records and the same dead letters', async () => {
    const s = await nats.streams();
    const view = (overrides: Partial<PageView>): string =>
      JSON.stringify({
        url: 'https://shop.example/p/1?email=x',
        userAgent: 'Firefox/128.0',
        userId: 'u-1',
        at: '2026-11-26T17:45:54.269Z',
        ...overrides,
      });
    const values = [
      view({}),
      view({ userAgent: 'Googlebot/2.1' }),
      view({ url: 'https://exa mple.com/' }),
      view({ url: 'ftp://nope' }),
      '{"broken',
      view({ userId: 'u-2', url: 'https://shop.example/cart' }),
    ];
    const expected = await driverRun(pageviews, values, s.output);
    expect(expected.produced).to.have.length(2);
    expect(await natsRun(pageviews, values, s, [s.output], expected.codes.length)).to.deep.equal(expected);
  });

  it('routing: each event to the subject of its type, unrouted types dead-lettered', async () => {
    const s = await nats.streams();
    // The example writes to fixed subjects; one stream of this run's own takes them.
    const routes = `spec-routes-${randomBytes(6).toString('hex')}`;
    await nats.jsm.streams.add({ name: routes, subjects: ROUTES.map(([, topic]) => topic) });
    extraStreams.push(routes);
    const values = [
      JSON.stringify({ type: 'user.created', id: 1 }),
      JSON.stringify({ type: 'order.placed', id: 2 }),
      JSON.stringify({ type: 'payment.settled', id: 3 }),
      JSON.stringify({ type: 'audit.logged', id: 4 }),
      JSON.stringify({ id: 5 }),
      JSON.stringify({ type: 'order.shipped', id: 6 }),
    ];
    const expected = await driverRun(routing, values, s.output);
    expect(expected.produced).to.have.length(4);
    // The routes' stream read whole (readSubject reads the stream that takes the subject).
    expect(await natsRun(routing, values, s, ['users'], expected.codes.length)).to.deep.equal(expected);
  });
});

/** Both runs work on several messages at once: what they wrote, compared as sets. */
function inAnyOrder(run: { produced: Array<{ topic: string; value: string | null }>; codes: string[] }) {
  const text = (m: { topic: string; value: string | null }) => `${m.topic} ${m.value}`;
  return {
    produced: [...run.produced].sort((a, b) => text(a).localeCompare(text(b))),
    codes: [...run.codes].sort(),
  };
}
