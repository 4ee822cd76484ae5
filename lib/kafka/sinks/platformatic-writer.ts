import { Producer, type ClusterMetadata, type ProducerOptions } from '@platformatic/kafka';
import { errorMessage, isRetriable } from '../../core/errors.js';
import { defaultPartitioner } from './key-partitioner.js';
import type { PlatformaticConnectionOptions } from '../platformatic-connection-options.js';
import {
  KafkaWriteError,
  type OutgoingMessage,
  type OutgoingRecord,
  type RecordWriter,
  type WriteAnswer,
} from '../../sinks/record-writer.js';

type Bytes = Buffer | null;
type Client = Producer<Bytes, Bytes, Buffer, Bytes>;
type Options = ProducerOptions<Bytes, Bytes, Buffer, Bytes>;
type Message = NonNullable<Parameters<Client['send']>[0]>['messages'][number];

/** How often and how patiently the client retries a failed request before the write fails. */
export interface WriterRetry {
  retries: number;
  /** Delay before the first retry (ms); it doubles with each one, ±20 %, up to maxRetryTime. */
  initialRetryTime: number;
  maxRetryTime: number;
}

/** kafkajs's defaults, which the kafkajs producer runs with. */
export const KAFKAJS_RETRY: WriterRetry = { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000 };

export interface PlatformaticWriterOptions {
  clientId: string;
  brokers: readonly string[];
  /** The security settings (platformaticConnectionOptions). */
  connection?: PlatformaticConnectionOptions;
  retry?: WriterRetry;
}

/** The producer's options: acks from all in-sync replicas, not idempotent, no topic creation. */
export function platformaticProducerOptions(options: PlatformaticWriterOptions): Options {
  const { retries, initialRetryTime, maxRetryTime } = options.retry ?? KAFKAJS_RETRY;
  return {
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    ...options.connection,
    acks: -1,
    idempotent: false,
    autocreateTopics: false,
    // How long the broker may wait for the in-sync replicas: kafkajs's 30 s, not this client's 5.
    timeout: 30_000,
    retries,
    retryDelay: (_client, _operation, attempt) => {
      const delay = initialRetryTime * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
      return Math.round(Math.min(delay, maxRetryTime));
    },
  };
}

/** A RecordWriter on an @platformatic/kafka producer. */
export function platformaticWriter(options: PlatformaticWriterOptions): PlatformaticWriter {
  return new PlatformaticWriter(new Producer(platformaticProducerOptions(options)));
}

/**
 * Writes with @platformatic/kafka's send. The partition of every record is chosen here, by
 * Kafka's default placement (key-partitioner.ts): this client's own default hashes keys to
 * other partitions than kafkajs and the Java client (without Java's positive mask), and
 * knowing each record's partition lets the caller check the broker's answer.
 */
export class PlatformaticWriter implements RecordWriter {
  private readonly place = defaultPartitioner();

  constructor(private readonly producer: Pick<Client, 'metadata' | 'send' | 'close'>) {}

  /** Reaches a broker, authenticates and reads the cluster's metadata, like kafkajs's connect. */
  async connect(): Promise<void> {
    await this.producer.metadata({ topics: [] });
  }

  disconnect(): Promise<void> {
    return this.producer.close();
  }

  async write(records: readonly OutgoingRecord[]): Promise<WriteAnswer> {
    const leaders = await this.leadersOf(new Set(records.map(({ topic }) => topic)));
    const partitions = records.map(({ topic, message }) =>
      this.place(topic, message.key, leaders.get(topic)!),
    );
    const messages = records.map(({ topic, message }, i) => toMessage(topic, partitions[i]!, message));
    let result;
    try {
      result = await this.producer.send({ messages, acks: -1 });
    } catch (error) {
      throw writeError(error, isRetriablePlatformaticError(error));
    }
    const acknowledged = (result.offsets ?? []).map(({ topic, partition }) => ({ topic, partition }));
    return { partitions, acknowledged };
  }

  /** The leader of each partition of each topic, from the client's metadata (cached a while). */
  private async leadersOf(topics: Set<string>): Promise<Map<string, number[]>> {
    let metadata: ClusterMetadata;
    try {
      metadata = await this.producer.metadata({ topics: [...topics] });
    } catch (error) {
      throw writeError(error, isRetriablePlatformaticError(error, { lookup: true }));
    }
    const leaders = new Map<string, number[]>();
    for (const topic of topics) {
      const { partitions } = metadata.topics.get(topic)!;
      // A partition missing from the metadata counts as one without a leader.
      const leaderIds = Array.from(partitions, (partition) => partition?.leader ?? -1);
      leaders.set(topic, leaderIds);
    }
    return leaders;
  }
}

function toMessage(topic: string, partition: number, { key, value, headers }: OutgoingMessage): Message {
  const message: Message = { topic, partition, key: bytes(key), value: bytes(value) };
  if (headers) message.headers = headerMap(headers);
  return message;
}

function bytes(data: Buffer | string | null | undefined): Bytes {
  if (data === null || data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data) : data;
}

/**
 * Headers as this client takes them. A name with several values (an array, as kafkajs has
 * them) becomes one header per value, in order: each gets a key object of its own, so the map
 * holds them all. An undefined value is written as null, as kafkajs does.
 */
function headerMap(headers: NonNullable<OutgoingMessage['headers']>): Map<Buffer, Bytes> {
  const map = new Map<Buffer, Bytes>();
  for (const name of Object.keys(headers)) {
    const values = headers[name];
    if (!Array.isArray(values)) {
      map.set(headerName(name), bytes(values));
      continue;
    }
    for (const [i, value] of values.entries()) {
      map.set(i === 0 ? headerName(name) : Buffer.from(name), bytes(value));
    }
  }
  return map;
}

/** Header names seen, at most this many, each encoded once (see headerName). */
const HEADER_NAMES_KEPT = 256;
const headerNames = new Map<string, Buffer>();

/**
 * The UTF-8 bytes of a header name. Every forwarded message carries the same few names, and
 * encoding them anew was a buffer per header per message; the client only reads a name's bytes
 * into the request, so one buffer serves every message. Names beyond the first
 * HEADER_NAMES_KEPT are encoded each time, so arbitrary names cannot grow the cache.
 */
function headerName(name: string): Buffer {
  let encoded = headerNames.get(name);
  if (encoded === undefined) {
    encoded = Buffer.from(name);
    if (headerNames.size < HEADER_NAMES_KEPT) headerNames.set(name, encoded);
  }
  return encoded;
}

interface PlatformaticError extends Error {
  code?: unknown;
  canRetry?: unknown;
  apiId?: unknown;
}

/** The errors under this client's aggregates (a request retried, several brokers written). */
function leafErrors(error: unknown): unknown[] {
  if (error instanceof AggregateError) return error.errors.flatMap(leafErrors);
  return [error];
}

/**
 * Whether this client's failure may go away, by the same rules as kafkajs's errors (see
 * isRetriableKafkajsError): a broker's error code counts as Kafka's protocol says (both
 * clients carry the same table), a lost connection or a timeout is retriable, refused
 * credentials are not. This client stops retrying at the first permanent error among those
 * it collected, and so does this.
 *
 * A topic the brokers do not know comes out of a metadata lookup as a user error ("Unknown
 * topic"), which is what the lookup's user errors are: Kafka counts UNKNOWN_TOPIC_OR_PARTITION
 * as retriable (the topic may be created), and so does kafkajs; `lookup` says the error is one.
 */
export function isRetriablePlatformaticError(error: unknown, { lookup = false } = {}): boolean {
  return leafErrors(error).every((leaf) => {
    const { code, canRetry } = (leaf ?? {}) as PlatformaticError;
    switch (code) {
      case 'PLT_KFK_NETWORK':
        return true;
      case 'PLT_KFK_USER':
        return lookup;
      case 'PLT_KFK_AUTHENTICATION':
        return false;
      default:
        if (typeof code === 'string' && code.startsWith('PLT_KFK_')) return canRetry !== false;
        return isRetriable(leaf);
    }
  });
}

/** One line for the failure: the distinct reasons under the client's wrappers. */
function writeError(error: unknown, retriable: boolean): KafkaWriteError {
  const reasons = leafErrors(error).map((leaf) => {
    const { apiId } = (leaf ?? {}) as PlatformaticError;
    return typeof apiId === 'string' ? `${apiId}: ${errorMessage(leaf)}` : errorMessage(leaf);
  });
  return new KafkaWriteError([...new Set(reasons)].join('; '), retriable, { cause: error });
}
