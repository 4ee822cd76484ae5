import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Pipeline } from '../../../lib/pipeline/define-pipeline.js';
import { NatsEventService, type NatsServiceSettings } from '../../../lib/nats/nats-service.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { ensureDurable, prepareStreams } from '../../../lib/nats/streams.js';

/** The NATS server with JetStream the specs run against; NATS_URL overrides the local one. */
export function natsUrl(): string {
  return process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
}

export function connectTestNats(): Promise<NatsConnection> {
  return connect({ servers: natsUrl(), name: 'spec' });
}

/** A stream, output and dead-letter subject of their own per test, so runs never collide. */
export interface TestStreams {
  stream: string;
  /** The subject messages are published on (inside `stream`). */
  subject: string;
  output: string;
  dlq: string;
  durable: string;
  /** Every stream made for the test, deleted by `deleteStreams`. */
  created: string[];
}

/** Creates the streams the service's start-up creates with CREATE_TOPICS=true, and the durable. */
export async function createTestStreams(
  jsm: JetStreamManager,
  { ackWaitMs = 30_000, maxAckPending = 1010 } = {},
): Promise<TestStreams> {
  const id = randomBytes(6).toString('hex');
  const stream = `spec-${id}`;
  const names = {
    stream,
    subject: `${stream}.events.a`,
    output: `spec-out-${id}.valid`,
    dlq: `spec-dlq-${id}.dead`,
    durable: `durable-${id}`,
  };
  const created = await prepareStreams(jsm, {
    servers: [natsUrl()],
    stream,
    subject: '',
    durable: names.durable,
    ackWaitMs,
    outputSubject: names.output,
    dlqSubject: names.dlq,
    createStreams: true,
  });
  await ensureDurable(jsm, { stream, durable: names.durable, subject: '', ackWaitMs, maxAckPending });
  return { ...names, created };
}

export async function deleteStreams(jsm: JetStreamManager, streams: TestStreams | undefined): Promise<void> {
  for (const name of streams?.created ?? []) await jsm.streams.delete(name).catch(() => undefined);
}

export interface StoredMessage {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  value: string;
}

/** Every message of the stream that takes `subject`, in order. */
export async function readSubject(jsm: JetStreamManager, subject: string): Promise<StoredMessage[]> {
  const stream = await jsm.streams.find(subject);
  const { state } = await jsm.streams.info(stream);
  const messages: StoredMessage[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const stored = await jsm.streams.getMessage(stream, { seq });
    if (!stored) continue;
    const headers: Record<string, string> = {};
    for (const name of stored.header?.keys() ?? []) headers[name] = stored.header.get(name);
    messages.push({ subject: stored.subject, seq, headers, value: new TextDecoder().decode(stored.data) });
  }
  return messages;
}

export async function messageCount(jsm: JetStreamManager, subject: string): Promise<number> {
  const stream = await jsm.streams.find(subject);
  return (await jsm.streams.info(stream)).state.messages;
}

export function consumerInfo(jsm: JetStreamManager, streams: TestStreams): Promise<ConsumerInfo> {
  return jsm.consumers.info(streams.stream, streams.durable);
}

export async function publishAll(nc: NatsConnection, subject: string, values: string[]): Promise<void> {
  const js = jetstream(nc);
  for (const value of values) await js.publish(subject, value);
}

/** Polls until `condition` holds, or fails after `timeoutMs` naming what was awaited. */
export async function eventually(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The service inside the spec's process on its own connection; logs dropped. */
export function natsService(
  connection: NatsConnection,
  pipeline: Pipeline,
  streams: TestStreams,
  settings: Partial<NatsServiceSettings> = {},
): NatsEventService {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  return new NatsEventService({
    connection,
    pipeline,
    logger: createLogger({ level: 'warn', serviceName: 'spec', stream: quiet }),
    settings: {
      serviceName: 'spec',
      stream: streams.stream,
      durable: streams.durable,
      ackWaitMs: 30_000,
      dlqSubject: streams.dlq,
      outputSubject: streams.output,
      workerPoolSize: 10,
      queueBufferSize: 1000,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 100, multiplier: 2, jitter: 0.2 },
      shutdownTimeoutMs: 10_000,
      schema: { type: 'object', required: ['Id'], properties: { Id: { type: 'string', minLength: 1 } } },
      ...settings,
    },
  });
}

/** What useTestNats gives a describe. */
export interface TestNats {
  /** The describe's own connection, for publishing and reading. */
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /** Streams of the test's own (createTestStreams), deleted after it. */
  streams(options?: Parameters<typeof createTestStreams>[1]): Promise<TestStreams>;
  /** The service on a connection of its own, started; stopped and its connection closed after the test. */
  start(
    ...args: Parameters<typeof natsService> extends [unknown, ...infer R] ? R : never
  ): Promise<NatsEventService>;
}

/**
 * The NATS side of a describe, kept by mocha hooks of the describe that calls it: one
 * connection and its JetStream manager for all its tests, and after each test, the services it
 * started stopped and the streams it made deleted, so the next test starts clean.
 */
export function useTestNats(): TestNats {
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  const made: TestStreams[] = [];
  const services: NatsEventService[] = [];
  const connections: NatsConnection[] = [];
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useTestNats: used outside a test of its describe');
    return value;
  };

  before(async () => {
    nc = await connectTestNats();
    jsm = await jetstreamManager(nc);
  });
  after(() => nc?.close());
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop().catch(() => undefined)));
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
    for (const streams of made.splice(0)) await deleteStreams(ready(jsm), streams);
  });

  return {
    get nc() {
      return ready(nc);
    },
    get jsm() {
      return ready(jsm);
    },
    async streams(options) {
      const streams = await createTestStreams(ready(jsm), options);
      made.push(streams);
      return streams;
    },
    async start(...args) {
      const connection = await connectTestNats();
      connections.push(connection);
      const service = natsService(connection, ...args);
      services.push(service);
      await service.start();
      return service;
    },
  };
}

export { jetstreamManager };
