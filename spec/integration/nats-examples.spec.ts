import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import pageviews, { type PageView } from '../../examples/pageviews/pageviews.js';
import routing, { ROUTES } from '../../examples/routing/routing.js';
import type { NatsEventService } from '../../lib/nats/nats-service.js';
import type { Pipeline } from '../../lib/pipeline/define-pipeline.js';
import { createTestDriver } from '../../lib/testing/index.js';
import {
  connectTestNats,
  consumerInfo,
  createTestStreams,
  deleteStreams,
  eventually,
  jetstreamManager,
  messageCount,
  natsService,
  publishAll,
  readSubject,
  type TestStreams,
} from './support/nats.js';

/**
 * The examples' pipelines, unchanged, on NATS JetStream: for the same input they write what
 * the test driver with its `nats` broker (the service's message flow, in memory) says they
 * write, headers and all, and dead-letter the same messages with the same headers (but the
 * times).
 */
describe('the example pipelines on NATS JetStream', function () {
  this.timeout(60_000);
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let streams: TestStreams | undefined;
  const extraStreams: string[] = [];
  let service: NatsEventService | undefined;
  let serviceConnection: NatsConnection | undefined;

  before(async () => {
    nc = await connectTestNats();
    jsm = await jetstreamManager(nc);
  });
  after(() => nc.close());
  afterEach(async () => {
    await service?.stop();
    await serviceConnection?.close();
    service = serviceConnection = undefined;
    await deleteStreams(jsm, streams);
    for (const name of extraStreams.splice(0)) await jsm.streams.delete(name).catch(() => undefined);
    streams = undefined;
  });

  /** What the test driver, modelling NATS, writes and dead-letters for `values` published on `s.subject`. */
  async function driverRun(pipeline: Pipeline, values: string[], s: TestStreams) {
    const driver = createTestDriver(pipeline, {
      broker: 'nats',
      topic: s.stream,
      consumerGroup: s.durable,
      outputTopic: s.output,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 100 },
    });
    try {
      for (const value of values) driver.send({ key: s.subject, value });
      await driver.settle();
      expect(driver.acked).to.have.length(values.length);
      return inAnyOrder({
        produced: driver.produced.map(({ topic, value, headers }) => ({
          topic,
          value,
          headers: firstValues(headers),
        })),
        letters: driver.deadLetters.map(({ value, headers }) => ({
          value,
          headers: withoutTimes(firstValues(headers)),
        })),
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
    letterCount: number,
  ) {
    await publishAll(nc, s.subject, values);
    serviceConnection = await connectTestNats();
    service = natsService(serviceConnection, pipeline, s);
    await service.start();
    await eventually('every message settled', async () => {
      const info = await consumerInfo(jsm, s);
      return (
        info.num_ack_pending === 0 &&
        info.num_pending === 0 &&
        (await messageCount(jsm, s.dlq)) === letterCount
      );
    });
    const produced = [];
    for (const subject of written)
      produced.push(
        ...(await readSubject(jsm, subject)).map(({ subject: topic, value, headers }) => ({
          topic,
          value,
          headers,
        })),
      );
    const letters = (await readSubject(jsm, s.dlq)).map(({ value, headers }) => ({
      value,
      headers: withoutTimes(headers),
    }));
    return inAnyOrder({ produced, letters });
  }

  it('pageviews: the same records and the same dead letters', async () => {
    const s = (streams = await createTestStreams(jsm));
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
    const expected = await driverRun(pageviews, values, s);
    expect(expected.produced).to.have.length(2);
    expect(expected.letters).to.have.length(3);
    expect(await natsRun(pageviews, values, s, [s.output], expected.letters.length)).to.deep.equal(expected);
  });

  it('routing: each event to the subject of its type, unrouted types dead-lettered', async () => {
    const s = (streams = await createTestStreams(jsm));
    // The example writes to fixed subjects; one stream of this run's own takes them.
    const routes = `spec-routes-${randomBytes(6).toString('hex')}`;
    await jsm.streams.add({ name: routes, subjects: ROUTES.map(([, topic]) => topic) });
    extraStreams.push(routes);
    const values = [
      JSON.stringify({ type: 'user.created', id: 1 }),
      JSON.stringify({ type: 'order.placed', id: 2 }),
      JSON.stringify({ type: 'payment.settled', id: 3 }),
      JSON.stringify({ type: 'audit.logged', id: 4 }),
      JSON.stringify({ id: 5 }),
      JSON.stringify({ type: 'order.shipped', id: 6 }),
    ];
    const expected = await driverRun(routing, values, s);
    expect(expected.produced).to.have.length(4);
    expect(expected.letters).to.have.length(2);
    // The routes' stream read whole (readSubject reads the stream that takes the subject).
    expect(await natsRun(routing, values, s, ['users'], expected.letters.length)).to.deep.equal(expected);
  });
});

interface Written {
  topic?: string;
  value: string | null;
  headers: Record<string, string>;
}

/** Both runs work on several messages at once: what they wrote, compared as sets. */
function inAnyOrder(run: { produced: Written[]; letters: Written[] }) {
  const text = (m: Written) => JSON.stringify([m.topic, m.value, m.headers]);
  return {
    produced: [...run.produced].sort((a, b) => text(a).localeCompare(text(b))),
    letters: [...run.letters].sort((a, b) => text(a).localeCompare(text(b))),
  };
}

/** The first value of each header, as the NATS reader of the specs gives them. */
function firstValues(headers: Record<string, string | string[]>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value[0]! : value]),
  );
}

/** Dead-letter headers without the times: the driver's are virtual. */
function withoutTimes(headers: Record<string, string>): Record<string, string> {
  const { timestamp: _at, original_timestamp: _stored, ...rest } = headers;
  return rest;
}
