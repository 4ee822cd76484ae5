import { expect } from 'chai';
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
  type ClusterMetadata,
  type MetadataOptions,
  type ProduceResult,
  type SendOptions,
} from '@platformatic/kafka';
import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  Partitioners,
  type PartitionerArgs,
} from 'kafkajs';
import { isRetriableKafkajsError } from '../../../lib/kafka/sinks/kafkajs-writer.js';
import {
  isRetriablePlatformaticError,
  KAFKAJS_RETRY,
  PlatformaticWriter,
  platformaticProducerOptions,
} from '../../../lib/kafka/sinks/platformatic-writer.js';
import { KafkaWriteError, type OutgoingRecord } from '../../../lib/sinks/record-writer.js';
import { kafkajsProtocolError, retriesExceeded } from './support/kafkajs-errors.js';

type Send = SendOptions<Buffer | null, Buffer | null, Buffer, Buffer | null>;

/** The produce answer's error for one partition, as this client reports it. */
const produceRefused = (code: number) =>
  new MultipleErrors('Producing messages failed.', [
    new ResponseError(0, 11, { '/responses/0/partitionResponses/0': [code, null] }, {}),
  ]);

/**
 * A producer whose topics have the given partition leaders (a negative one: no leader); it
 * acknowledges every partition a send writes to, unless told to fail.
 */
function fakeProducer(leaders: Record<string, number[]>) {
  const sends: Send[] = [];
  const lookups: MetadataOptions[] = [];
  let failure: { lookup?: Error; send?: Error } = {};
  let closed = 0;
  const producer = {
    async metadata(options: MetadataOptions): Promise<ClusterMetadata> {
      lookups.push(options);
      if (failure.lookup) throw failure.lookup;
      const topics = new Map(
        (options.topics ?? []).map((topic) => {
          const partitions = leaders[topic]!.map((leader) => ({
            leader,
            leaderEpoch: 0,
            replicas: [],
            isr: [],
            offlineReplicas: [],
          }));
          return [topic, { id: topic, partitions, partitionsCount: partitions.length, lastUpdate: 0 }];
        }),
      );
      return { id: 'cluster', brokers: new Map(), controllerId: 1, topics, lastUpdate: 0 };
    },
    async send(options: Send): Promise<ProduceResult> {
      sends.push(options);
      if (failure.send) throw failure.send;
      const written = new Set(options.messages.map(({ topic, partition }) => `${topic}:${partition}`));
      return {
        offsets: [...written].map((entry) => {
          const [topic, partition] = entry.split(':');
          return { topic: topic!, partition: Number(partition), offset: 0n };
        }),
      };
    },
    async close() {
      closed += 1;
    },
  };
  return {
    producer,
    sends,
    lookups,
    fail: (next: { lookup?: Error; send?: Error }) => (failure = next),
    closed: () => closed,
  };
}

/** kafkajs's default partitioner over `count` partitions, all with a leader. */
function kafkajsPlacement(count: number) {
  const pick = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
  return (key: Buffer | string) =>
    pick({ topic: 't', partitionMetadata, message: { key, value: null } } as PartitionerArgs);
}

describe('platformaticProducerOptions', () => {
  it('asks for acks from all replicas, no idempotence, no topic creation, and waits up to 30 s for the replicas', () => {
    const options = platformaticProducerOptions({ clientId: 'svc', brokers: ['k1:9092', 'k2:9093'] });
    expect(options).to.include({
      clientId: 'svc',
      acks: -1,
      idempotent: false,
      autocreateTopics: false,
      timeout: 30_000,
      retries: KAFKAJS_RETRY.retries,
    });
    expect(options.bootstrapBrokers).to.deep.equal(['k1:9092', 'k2:9093']);
  });

  it("passes the security options on and retries with kafkajs's backoff: doubling from 300 ms, ±20 %, at most 30 s", () => {
    const sasl = { mechanism: 'SCRAM-SHA-512' as const, username: 'u', password: 'p' };
    const options = platformaticProducerOptions({
      clientId: 'svc',
      brokers: ['k1:9092'],
      connection: { tls: { rejectUnauthorized: true }, tlsServerName: true, sasl },
    });
    expect(options).to.deep.include({ tls: { rejectUnauthorized: true }, tlsServerName: true, sasl });
    const delay = options.retryDelay as (client: object, operation: string, attempt: number) => number;
    for (let i = 0; i < 50; i++) {
      expect(delay({}, 'produce', 1)).to.be.within(240, 360);
      expect(delay({}, 'produce', 3)).to.be.within(960, 1440);
      expect(delay({}, 'produce', 12)).to.equal(30_000);
    }
  });
});

describe('PlatformaticWriter', () => {
  it('connects by reading the cluster metadata, and closes the producer on disconnect', async () => {
    const fake = fakeProducer({});
    const writer = new PlatformaticWriter(fake.producer);
    await writer.connect();
    expect(fake.lookups).to.deep.equal([{ topics: [] }]);
    await writer.disconnect();
    expect(fake.closed()).to.equal(1);
  });

  it('asks for acks from all replicas on every request', async () => {
    const fake = fakeProducer({ out: [1, 1, 1] });
    const writer = new PlatformaticWriter(fake.producer);
    await writer.write([{ topic: 'out', message: { key: 'a', value: '1' } }]);
    await writer.write([{ topic: 'out', message: { key: null, value: '2' } }]);
    expect(fake.sends.map((send) => send.acks)).to.deep.equal([-1, -1]);
  });

  it("puts each keyed record on the partition kafkajs's default partitioner picks, and says so in the answer", async () => {
    for (const count of [1, 3, 6, 7, 24]) {
      const fake = fakeProducer({ out: Array<number>(count).fill(1) });
      const writer = new PlatformaticWriter(fake.producer);
      const kafkajs = kafkajsPlacement(count);
      const keys = [
        ...Array.from({ length: 100 }, (_, i) => `key-${i}`),
        ...Array.from({ length: 50 }, (_, i) => Buffer.from([i, i * 7, 255 - i])),
      ];
      const records = keys.map((key) => ({ topic: 'out', message: { key, value: 'v' } }));
      const answer = await writer.write(records);
      const expected = keys.map((key) => kafkajs(key));
      expect(
        fake.sends[0]!.messages.map((m) => m.partition),
        `${count} partitions`,
      ).to.deep.equal(expected);
      expect(answer.partitions).to.deep.equal(expected);
      expect(answer.acknowledged).to.have.deep.members(
        [...new Set(expected)].map((partition) => ({ topic: 'out', partition })),
      );
    }
  });

  it('spreads records without a key over the partitions that have a leader', async () => {
    const fake = fakeProducer({ out: [1, -1, 2, -1] });
    const writer = new PlatformaticWriter(fake.producer);
    const records = Array.from({ length: 20 }, () => ({ topic: 'out', message: { key: null, value: 'v' } }));
    const { partitions } = await writer.write(records);
    expect(new Set(partitions)).to.deep.equal(new Set([0, 2]));
  });

  it('hands the client bytes: text as UTF-8, null kept, each value of a repeated header its own header', async () => {
    const fake = fakeProducer({ a: [1, 1], b: [1] });
    const writer = new PlatformaticWriter(fake.producer);
    const records: OutgoingRecord[] = [
      {
        topic: 'a',
        message: {
          key: 'clé',
          value: Buffer.from([0, 1, 2]),
          headers: { trace: 'abc', seen: ['x', Buffer.from('y')], gone: undefined },
        },
      },
      { topic: 'b', message: { key: null, value: null } },
    ];
    await writer.write(records);
    const [first, second] = fake.sends[0]!.messages;
    expect(first).to.include({ topic: 'a' });
    expect(first!.key).to.deep.equal(Buffer.from('clé', 'utf8'));
    expect(first!.value).to.deep.equal(Buffer.from([0, 1, 2]));
    const headers = [...(first!.headers as Map<Buffer, Buffer | null>)].map(([name, value]) => [
      name.toString(),
      value?.toString() ?? null,
    ]);
    expect(headers).to.deep.equal([
      ['trace', 'abc'],
      ['seen', 'x'],
      ['seen', 'y'],
      ['gone', null],
    ]);
    expect(second).to.deep.equal({ topic: 'b', partition: 0, key: null, value: null });
  });

  it('names every header right across many messages and more distinct names than it keeps encoded', async () => {
    const fake = fakeProducer({ a: [1] });
    const writer = new PlatformaticWriter(fake.producer);
    const records: OutgoingRecord[] = Array.from({ length: 600 }, (_, i) => ({
      topic: 'a',
      message: { key: null, value: 'v', headers: { [`name-${i}`]: `${i}`, shared: ['s', 't'] } },
    }));
    await writer.write(records);
    const written = fake.sends[0]!.messages.map((message) =>
      [...(message.headers as Map<Buffer, Buffer | null>)].map(([name, value]) => [
        name.toString(),
        value?.toString(),
      ]),
    );
    expect(written).to.deep.equal(
      Array.from({ length: 600 }, (_, i) => [
        [`name-${i}`, `${i}`],
        ['shared', 's'],
        ['shared', 't'],
      ]),
    );
  });

  it('looks up only the topics of the request', async () => {
    const fake = fakeProducer({ a: [1], b: [1], c: [1] });
    const writer = new PlatformaticWriter(fake.producer);
    await writer.write([
      { topic: 'b', message: { key: null, value: '1' } },
      { topic: 'a', message: { key: null, value: '2' } },
      { topic: 'b', message: { key: null, value: '3' } },
    ]);
    expect(fake.lookups.map(({ topics }) => topics)).to.deep.equal([['b', 'a']]);
  });

  it("fails a write with a KafkaWriteError naming the broker's reasons", async () => {
    const fake = fakeProducer({ out: [1] });
    const writer = new PlatformaticWriter(fake.producer);
    const write = () =>
      writer.write([{ topic: 'out', message: { key: null, value: 'x' } }]).catch((error: unknown) => error);

    fake.fail({ send: produceRefused(10) });
    const tooLarge = await write();
    expect(tooLarge).to.be.instanceOf(KafkaWriteError);
    expect(tooLarge).to.include({ retriable: false });
    expect((tooLarge as Error).message).to.match(/^MESSAGE_TOO_LARGE: The request included a message larger/);
    expect((tooLarge as Error).cause).to.be.instanceOf(MultipleErrors);

    fake.fail({
      send: new MultipleErrors('produce failed 6 times.', [produceRefused(6), produceRefused(6)]),
    });
    const notLeader = await write();
    expect(notLeader).to.include({ retriable: true });
    expect((notLeader as Error).message, 'each reason once').to.match(/^NOT_LEADER_OR_FOLLOWER: [^;]+$/);

    fake.fail({ lookup: new UserError('Unknown topic out.') });
    const unknown = await write();
    expect(unknown).to.include({ retriable: true, message: 'Unknown topic out.' });
  });
});

describe('isRetriablePlatformaticError', () => {
  it('follows the protocol: a moved leader, missing replicas or a broker timeout are retriable, a refusal is not', () => {
    expect(isRetriablePlatformaticError(produceRefused(6)), 'NOT_LEADER_OR_FOLLOWER').to.equal(true);
    expect(isRetriablePlatformaticError(produceRefused(19)), 'NOT_ENOUGH_REPLICAS').to.equal(true);
    expect(isRetriablePlatformaticError(produceRefused(7)), 'REQUEST_TIMED_OUT').to.equal(true);
    expect(isRetriablePlatformaticError(produceRefused(10)), 'MESSAGE_TOO_LARGE').to.equal(false);
    expect(isRetriablePlatformaticError(produceRefused(18)), 'RECORD_LIST_TOO_LARGE').to.equal(false);
    expect(isRetriablePlatformaticError(produceRefused(29)), 'TOPIC_AUTHORIZATION_FAILED').to.equal(false);
  });

  it('counts request timeouts and lost connections as retriable, this client closed included', () => {
    expect(isRetriablePlatformaticError(new TimeoutError('Request timed out', { canRetry: true }))).to.equal(
      true,
    );
    // This client marks a timeout of its own making not retriable unless told otherwise.
    expect(isRetriablePlatformaticError(new TimeoutError('Connection timed out'))).to.equal(true);
    const refused = new NetworkError('Connection to k1:9092 failed.', { cause: new Error('ECONNREFUSED') });
    expect(
      isRetriablePlatformaticError(
        new MultipleErrors('metadata failed 3 times.', [
          new MultipleErrors('Cannot connect to any broker.', [refused]),
        ]),
      ),
    ).to.equal(true);
    expect(isRetriablePlatformaticError(new NetworkError('Client is closed.', { canRetry: false }))).to.equal(
      true,
    );
  });

  it('stops at the first permanent error among several, as the client stops retrying', () => {
    const mixed = new MultipleErrors('produce failed 2 times.', [produceRefused(6), produceRefused(10)]);
    expect(isRetriablePlatformaticError(mixed)).to.equal(false);
  });

  it("counts an unknown topic as retriable only where it is one: a metadata lookup's user error", () => {
    const unknown = new UserError('Unknown topic out.');
    expect(isRetriablePlatformaticError(unknown, { lookup: true })).to.equal(true);
    expect(isRetriablePlatformaticError(new UserError('Failed to serialize a message.'))).to.equal(false);
  });

  it('counts refused credentials and programming errors as permanent', () => {
    expect(isRetriablePlatformaticError(new AuthenticationError('SASL authentication failed.'))).to.equal(
      false,
    );
    expect(isRetriablePlatformaticError(new TypeError('x is not a function'))).to.equal(false);
    expect(isRetriablePlatformaticError(new ProtocolError('UNSUPPORTED_VERSION'))).to.equal(false);
  });

  it('judges each situation as the kafkajs writer judges kafkajs’s report of it', () => {
    const Timeout = KafkaJSRequestTimeoutError as unknown as new (message: string) => Error;
    const SaslRefused = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
    const situations: Array<[string, Error, Error, { lookup?: boolean }?]> = [
      [
        'leader moved',
        retriesExceeded(kafkajsProtocolError('NOT_LEADER_FOR_PARTITION', 6, true)),
        produceRefused(6),
      ],
      ['not enough replicas', kafkajsProtocolError('NOT_ENOUGH_REPLICAS', 19, true), produceRefused(19)],
      [
        'request timed out',
        retriesExceeded(new Timeout('Request Produce(key: 0) timed out')),
        new MultipleErrors('produce failed 6 times.', [
          new TimeoutError('Request timed out', { canRetry: true }),
        ]),
      ],
      [
        'broker unreachable',
        retriesExceeded(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')),
        new MultipleErrors('Cannot connect to any broker.', [
          new NetworkError('Connection to k1:9092 failed.'),
        ]),
      ],
      [
        'unknown topic',
        retriesExceeded(kafkajsProtocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true)),
        new UserError('Unknown topic out.'),
        { lookup: true },
      ],
      [
        'producer closed',
        new KafkaJSError('The producer is disconnected'),
        new NetworkError('Client is closed.'),
      ],
      ['message too large', kafkajsProtocolError('MESSAGE_TOO_LARGE', 10, false), produceRefused(10)],
      ['not authorized', kafkajsProtocolError('TOPIC_AUTHORIZATION_FAILED', 29, false), produceRefused(29)],
      [
        'credentials refused',
        new SaslRefused('SASL SCRAM SHA512 authentication failed'),
        new AuthenticationError('x'),
      ],
    ];
    for (const [situation, kafkajs, platformatic, options] of situations) {
      expect(isRetriablePlatformaticError(platformatic, options), situation).to.equal(
        isRetriableKafkajsError(kafkajs),
      );
    }
  });
});
