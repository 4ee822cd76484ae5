import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { connectTestNats, jetstreamManager } from '../../integration/support/nats.js';
import type { ServiceProcess } from '../../integration/support/service-process.js';
import { sleep } from '../../integration/support/topic-reader.js';

/**
 * The independent reader of the NATS fault specs: whole streams read with an ordered consumer
 * of the spec's own, messages found by a key header the spec publishes them with, and a log of
 * every acknowledgement the service's durable consumer received, kept by the server.
 */

/** What a NATS fault scenario runs with: one connection, and what it started and made. */
export interface NatsFaultRun {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The service processes started: SIGKILLed after each test if still running. */
  services: ServiceProcess[];
  /** The streams made: deleted after each test. */
  streams: string[];
}

/**
 * The hooks of a describe of NATS fault scenarios: a connection to the suite's nats-server for
 * the whole describe and, after each test, no service process and no stream left behind.
 */
export function useNatsFaultRun(): NatsFaultRun {
  const run = { services: [], streams: [] } as unknown as NatsFaultRun;
  before(async () => {
    run.nc = await connectTestNats();
    run.js = jetstream(run.nc);
    run.jsm = await jetstreamManager(run.nc);
  });
  afterEach(async () => {
    for (const service of run.services) service.kill('SIGKILL');
    await Promise.all(run.services.map((service) => service.exited));
    run.services.length = 0;
    for (const name of run.streams.splice(0)) await run.jsm.streams.delete(name).catch(() => undefined);
  });
  after(() => run.nc.close());
  return run;
}

/** The header that names a published message, copied by the service to its output and dead letter. */
export const KEY_HEADER = 'event-key';

/** A message as a stream stored it. */
export interface StoredMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  /** When the stream stored it, nanoseconds since the epoch (the server's clock). */
  storedNanos: bigint;
}

export function keyOf(message: Pick<StoredMessage, 'headers' | 'seq'>): string {
  return message.headers?.get(KEY_HEADER) || `(no key, seq ${message.seq})`;
}

/**
 * Every message the stream taking `subject` holds, in order, read with an ordered consumer up
 * to the last sequence the stream had when the read began. `visit` sees each message (for
 * streams too large to hold); without it the messages are returned.
 */
export async function readStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  subject: string,
  visit?: (message: StoredMessage) => void,
): Promise<StoredMessage[]> {
  return readStreamNamed(js, jsm, await jsm.streams.find(subject), visit);
}

/** Every message of the stream named `stream` (see readStream). */
export async function readStreamNamed(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  visit?: (message: StoredMessage) => void,
): Promise<StoredMessage[]> {
  const { state } = await jsm.streams.info(stream);
  const messages: StoredMessage[] = [];
  if (state.messages === 0) return messages;
  const consumer = await js.consumers.get(stream);
  const iterator = await consumer.consume();
  try {
    for await (const message of iterator) {
      const stored = storedOf(message);
      if (visit) visit(stored);
      else messages.push(stored);
      if (message.seq >= state.last_seq) break;
    }
  } finally {
    iterator.stop();
  }
  return messages;
}

function storedOf(message: JsMsg): StoredMessage {
  return {
    seq: message.seq,
    subject: message.subject,
    data: message.data,
    headers: message.headers,
    storedNanos: message.timestampNanos,
  };
}

/** Messages by key header, in stream order. */
export function byKey(messages: StoredMessage[]): Map<string, StoredMessage[]> {
  const grouped = new Map<string, StoredMessage[]>();
  for (const message of messages) {
    const key = keyOf(message);
    grouped.set(key, [...(grouped.get(key) ?? []), message]);
  }
  return grouped;
}

/** What the durable consumer must be, as the service's start-up makes it (ensureDurable). */
export interface DurableSpec {
  stream: string;
  durable: string;
  ackWaitMs: number;
  /** QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE of the service. */
  maxAckPending: number;
}

/** One acknowledgement the consumer received: which message, at which delivery, and when. */
export interface AckRecord {
  streamSeq: number;
  deliveries: number;
  /** When the server took the ack, nanoseconds since the epoch. */
  atNanos: bigint;
}

/**
 * The acknowledgements of the durable consumer, as the server saw them: the spec creates the
 * durable before the service starts, as the service's start-up would (whose update keeps this),
 * but with every ack sampled (sample_freq 100%), and a stream of its own stores the sample the
 * server publishes for each ack ($JS.EVENT.METRIC.CONSUMER.ACK.<stream>.<durable>). A message
 * acked is in the log once; one handed back (nak) or never acked is not.
 */
export class AckLog {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly streamName: string,
  ) {}

  static async create(js: JetStreamClient, jsm: JetStreamManager, spec: DurableSpec): Promise<AckLog> {
    const streamName = `${spec.stream}-acks`;
    await jsm.streams.add({
      name: streamName,
      subjects: [`$JS.EVENT.METRIC.CONSUMER.ACK.${spec.stream}.${spec.durable}`],
    });
    await jsm.consumers.add(spec.stream, {
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: spec.ackWaitMs * 1_000_000,
      max_ack_pending: spec.maxAckPending,
      sample_freq: '100%',
    });
    return new AckLog(js, jsm, streamName);
  }

  /** Every ack so far, in the order the server took them. */
  async read(): Promise<AckRecord[]> {
    const records: AckRecord[] = [];
    const stored = await readStreamNamed(this.js, this.jsm, this.streamName);
    for (const { data } of stored) {
      const sample = JSON.parse(new TextDecoder().decode(data)) as {
        stream_seq: number;
        deliveries: number;
        timestamp: string;
      };
      records.push({
        streamSeq: sample.stream_seq,
        deliveries: sample.deliveries,
        atNanos: nanosOf(sample.timestamp),
      });
    }
    return records;
  }
}

/** An RFC 3339 time with up to nine fractional digits as nanoseconds since the epoch. */
export function nanosOf(time: string): bigint {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!match) throw new Error(`not an RFC 3339 time: ${time}`);
  const [, whole, fraction = '', zone] = match;
  const seconds = Date.parse(`${whole}${zone}`);
  if (Number.isNaN(seconds)) throw new Error(`not an RFC 3339 time: ${time}`);
  return BigInt(seconds) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** The consumer holds nothing: no message undelivered or unacked, the ack floor at `lastSeq`. */
export function settled(info: ConsumerInfo, lastSeq: number): boolean {
  return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq === lastSeq;
}

/** Polls until `condition` holds, or fails after `timeoutMs` naming what was awaited and what was seen. */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs: number,
  seen: () => Promise<string> | string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${await seen()}`);
    await sleep(100);
  }
}
