import convict from 'convict';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** SASL mechanisms as kafkajs spells them; KAFKA_SASL_MECHANISM is read in any case. */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
export const PROCESSING_ORDERS = ['unordered', 'key', 'partition'] as const;
export type ProcessingOrder = (typeof PROCESSING_ORDERS)[number];
/** Client libraries of the producer (lib/kafka/sinks/*-writer.ts). */
export const PRODUCER_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type ProducerClient = (typeof PRODUCER_CLIENTS)[number];
/** The broker the service consumes from and writes to (BROKER). */
export const BROKERS_KINDS = ['kafka', 'nats'] as const;
export type BrokerKind = (typeof BROKERS_KINDS)[number];

/** One setting of the schema. */
export interface Setting<T = unknown> extends convict.SchemaObj<T> {
  doc: string;
  env: string;
  default: T;
  /** Completes "<ENV> must be ..." in error messages. */
  accepts: string;
  /** Set to a blank value, the variable is an error instead of meaning "unset". */
  blankIsError?: boolean;
}

/** The values convict holds, before loadConfig resolves brokers and paths. */
export interface RawConfig {
  serviceName: string;
  broker: BrokerKind;
  /** Used with BROKER=nats only (lib/nats/). */
  nats: {
    url: string;
    stream: string;
    /** Empty: every subject of the stream. */
    subject: string;
    durable: string;
    ackWaitMs: number;
  };
  kafka: {
    brokers: string;
    topic: string;
    groupId: string;
    clientId: string;
    createTopics: boolean;
    topicPartitions: number;
    sessionTimeoutMs: number;
    recoveryTimeoutMs: number;
    fetchMaxBytes: number;
    fetchMaxPartitionBytes: number;
    producerClient: ProducerClient;
    ssl: {
      enabled: boolean;
      /** PEM file paths; empty when unset. */
      ca: string;
      cert: string;
      key: string;
      rejectUnauthorized: boolean;
    };
    sasl: {
      /** Empty: no SASL authentication. */
      mechanism: SaslMechanism | '';
      username: string;
      password: string;
    };
  };
  dlq: { topic: string; brokers: string };
  output: { topic: string };
  pipeline: {
    workerPoolSize: number;
    queueBufferSize: number;
    schemaPath: string;
    module: string;
    order: ProcessingOrder;
  };
  retry: {
    maxAttempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
    multiplier: number;
    /** PROCESS_TIMEOUT_MS: 0 means no limit. */
    attemptTimeoutMs: number;
  };
  http: { port: number };
  readiness: { stuckMessageMs: number };
  log: { level: LogLevel };
  shutdown: { timeoutMs: number };
  commit: { intervalMs: number };
}

// kafkajs splits a broker on ':', so IPv6 literals cannot be used and are not accepted.
const HOST_PORT = /^[A-Za-z0-9_][A-Za-z0-9._-]*:(\d{1,5})$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// A JetStream stream or durable consumer name: no whitespace, ".", "*", ">" or path separators.
const NATS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const NATS_SERVER = /^((nats|tls|ws|wss):\/\/)?[A-Za-z0-9_][A-Za-z0-9._-]*(?::(?<port>\d{1,5}))?$/;

/** The entries of a NATS_URL list (nats://host:port, host:port or host); undefined when one is not. */
export function splitNatsServers(value: string): string[] | undefined {
  const entries = value.split(',').map((entry) => entry.trim());
  const valid = entries.every((entry) => {
    const match = NATS_SERVER.exec(entry);
    const port = match?.groups?.['port'];
    return match !== null && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
  });
  return valid ? entries : undefined;
}

/**
 * A NATS subject: tokens separated by ".", none empty, no whitespace. With `wildcards` (a
 * filter), a token may be "*" and the last may be ">".
 */
export function isNatsSubject(value: string, wildcards = false): boolean {
  if (value.length > 255) return false;
  const tokens = value.split('.');
  return tokens.every((token, i) => {
    if (token === '*' || token === '>') return wildcards && (token === '*' || i === tokens.length - 1);
    return /^[^\s*>.]+$/.test(token);
  });
}

/** The entries of a KAFKA_BROKERS-like list; undefined when one is not host:port. */
export function splitBrokers(value: string): string[] | undefined {
  if (value === '') return [];
  const entries = value.split(',').map((entry) => entry.trim());
  const valid = entries.every((entry) => {
    const port = Number(HOST_PORT.exec(entry)?.[1]);
    return port >= 1 && port <= 65535;
  });
  return valid ? entries : undefined;
}

function check(ok: boolean, schema: convict.SchemaObj): void {
  if (!ok) throw new Error(`must be ${String(schema.accepts)}`);
}

function inRange(x: number, schema: convict.SchemaObj): boolean {
  return x >= (schema.min as number) && (schema.max === undefined || x <= (schema.max as number));
}

// Convict's own coercions read "12abc" as 12 and "nope" as true; these leave such strings as
// they are, so validation rejects them.
function numberFrom(pattern: RegExp) {
  return (v: unknown): unknown => (typeof v === 'string' && pattern.test(v.trim()) ? Number(v) : v);
}

convict.addFormats({
  'strict-int': {
    coerce: numberFrom(INTEGER),
    validate: (x, s) => check(Number.isSafeInteger(x) && inRange(x, s), s),
  },
  'strict-number': {
    coerce: numberFrom(DECIMAL),
    validate: (x, s) => check(typeof x === 'number' && Number.isFinite(x) && inRange(x, s), s),
  },
  'strict-boolean': {
    coerce: (v: unknown) => {
      const word = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
      return word === 'true' || word === 'false' ? word === 'true' : v;
    },
    validate: (x, s) => check(typeof x === 'boolean', s),
  },
  'non-empty-string': { validate: (x, s) => check(typeof x === 'string' && x.trim() !== '', s) },
  'kafka-topic': {
    validate: (x, s) =>
      check(
        typeof x === 'string' && (x === '' ? s.optional === true : TOPIC.test(x) && !/^\.\.?$/.test(x)),
        s,
      ),
  },
  'broker-list': { validate: (x, s) => check(typeof x === 'string' && splitBrokers(x) !== undefined, s) },
  'file-path': { validate: (x, s) => check(typeof x === 'string', s) },
  'any-string': { validate: (x, s) => check(typeof x === 'string', s) },
  // NATS (BROKER=nats): server URLs, stream and consumer names, subject filters.
  'nats-servers': {
    validate: (x, s) => check(typeof x === 'string' && splitNatsServers(x) !== undefined, s),
  },
  'nats-name': { validate: (x, s) => check(typeof x === 'string' && NATS_NAME.test(x), s) },
  'nats-subject': {
    validate: (x, s) => check(typeof x === 'string' && (x === '' || isNatsSubject(x, true)), s),
  },
  'sasl-mechanism': {
    coerce: (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
    validate: (x, s) => check(x === '' || (SASL_MECHANISMS as readonly unknown[]).includes(x), s),
  },
});

type Base<T> = Pick<Setting<T>, 'doc' | 'env' | 'default'>;

function int(base: Base<number>, min: number, max?: number): Setting<number> {
  const accepts = max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  return { ...base, format: 'strict-int', min, max, accepts };
}

const port = (base: Base<number>): Setting<number> => ({
  ...int(base, 0, 65535),
  accepts: 'a port from 0 to 65535',
});

const text = (base: Base<string>): Setting<string> => ({
  ...base,
  format: 'non-empty-string',
  accepts: 'a non-empty string',
});

const TOPIC_RULE = 'a Kafka topic name (up to 249 letters, digits, ".", "_" or "-")';
const topic = (base: Base<string>, optional = false): Setting<string> => ({
  ...base,
  format: 'kafka-topic',
  optional,
  accepts: optional ? `empty or ${TOPIC_RULE}` : TOPIC_RULE,
});

const filePath = (base: Base<string>): Setting<string> => ({
  ...base,
  format: 'file-path',
  accepts: 'a file path',
});

const BROKERS = 'a comma-separated list of host:port';

const flag = (base: Base<boolean>): Setting<boolean> => ({
  ...base,
  format: 'strict-boolean',
  accepts: 'true or false',
});

const pemFile = (base: Base<string>): Setting<string> => ({
  ...base,
  format: 'file-path',
  accepts: 'empty or the path of a PEM file',
});

export const configSchema: convict.Schema<RawConfig> = {
  serviceName: text({ doc: 'Name in logs and metrics.', env: 'SERVICE_NAME', default: 'myeventstream' }),
  broker: {
    doc: 'Broker consumed and written to: kafka (KAFKA_*), or nats (NATS_*, JetStream).',
    env: 'BROKER',
    default: 'kafka',
    format: [...BROKERS_KINDS],
    accepts: `one of ${BROKERS_KINDS.join(', ')}`,
  },
  // With BROKER=nats, OUTPUT_TOPIC and DLQ_TOPIC name subjects, CREATE_TOPICS creates streams.
  nats: {
    url: {
      doc: 'NATS servers (BROKER=nats).',
      env: 'NATS_URL',
      default: 'nats://127.0.0.1:4222',
      format: 'nats-servers',
      accepts: 'a comma-separated list of nats://host:port',
    },
    stream: {
      doc: 'JetStream stream consumed (BROKER=nats).',
      env: 'NATS_STREAM',
      default: 'events',
      format: 'nats-name',
      accepts: 'a stream name (up to 255 letters, digits, "_" or "-")',
    },
    subject: {
      doc: 'Subject filter of the consumer; empty takes every subject of NATS_STREAM (BROKER=nats).',
      env: 'NATS_SUBJECT',
      default: '',
      format: 'nats-subject',
      accepts: 'empty or a NATS subject (tokens separated by ".", "*" or a final ">" as wildcards)',
    },
    durable: {
      doc: 'Durable pull consumer of NATS_STREAM (BROKER=nats).',
      env: 'NATS_DURABLE',
      default: 'myeventstream',
      format: 'nats-name',
      accepts: 'a consumer name (up to 255 letters, digits, "_" or "-")',
    },
    ackWaitMs: int(
      {
        doc: "The consumer's ack wait: an unacknowledged message is delivered again after it (ms; BROKER=nats).",
        env: 'NATS_ACK_WAIT_MS',
        default: 30000,
      },
      1000,
      3600000,
    ),
  },
  kafka: {
    brokers: {
      doc: 'Kafka bootstrap brokers; unset, `npm start` starts the local broker (the image stops instead).',
      env: 'KAFKA_BROKERS',
      default: '',
      format: 'broker-list',
      accepts: BROKERS,
      // Only an absent variable means "local broker"; an empty one is most likely a mistake.
      blankIsError: true,
    },
    topic: topic({ doc: 'Topic consumed.', env: 'KAFKA_TOPIC', default: 'events' }),
    groupId: text({ doc: 'Consumer group id.', env: 'KAFKA_GROUP_ID', default: 'myeventstream-consumer' }),
    clientId: text({ doc: 'Kafka client id.', env: 'KAFKA_CLIENT_ID', default: 'myeventstream' }),
    createTopics: {
      doc: 'Create missing topics at start-up when KAFKA_BROKERS is set.',
      env: 'CREATE_TOPICS',
      default: false,
      format: 'strict-boolean',
      accepts: 'true or false',
    },
    topicPartitions: int(
      { doc: 'Partitions of the topics the service creates.', env: 'TOPIC_PARTITIONS', default: 6 },
      1,
      10000,
    ),
    // The broker's group.min.session.timeout.ms is 6000.
    sessionTimeoutMs: int(
      { doc: 'Consumer session timeout (ms).', env: 'KAFKA_SESSION_TIMEOUT_MS', default: 30000 },
      6000,
      300000,
    ),
    recoveryTimeoutMs: int(
      {
        doc: 'How long a crashed consumer may fail to rejoin its group before the service exits (ms).',
        env: 'KAFKA_RECOVERY_TIMEOUT_MS',
        default: 60000,
      },
      1000,
      3600000,
    ),
    // A fetch is decoded all at once and held until the pipeline's credits take it in: far
    // beyond what QUEUE_BUFFER_SIZE holds, it only grows the heap (with the backlog) and blocks
    // the event loop while it is decoded. A record batch larger than either still comes whole.
    fetchMaxBytes: int(
      {
        doc: 'Most bytes one fetch returns, all partitions together.',
        env: 'KAFKA_FETCH_MAX_BYTES',
        default: 1048576,
      },
      1024,
      1073741824,
    ),
    fetchMaxPartitionBytes: int(
      {
        doc: 'Most bytes one fetch returns per partition.',
        env: 'KAFKA_FETCH_MAX_PARTITION_BYTES',
        default: 262144,
      },
      1024,
      1073741824,
    ),
    // kafkajs stays the consumer either way (it consumed faster than @platformatic/kafka's
    // stream). For the writes @platformatic/kafka is the default: on a quiet machine the
    // forwarding service reached 1.57 and 1.75 times its rate with the kafkajs producer, at
    // about 40 % less CPU per message (README, Performance).
    producerClient: {
      doc: 'Producer client for OUTPUT_TOPIC and dead-letter writes (platformatic: @platformatic/kafka).',
      env: 'KAFKA_PRODUCER_CLIENT',
      default: 'platformatic',
      format: [...PRODUCER_CLIENTS],
      accepts: `one of ${PRODUCER_CLIENTS.join(', ')}`,
    },
    // The security settings apply to every connection: the consumer, the producers, the admin
    // client, and the dead-letter client of DLQ_BROKERS.
    ssl: {
      enabled: flag({ doc: 'Connect to the brokers over TLS.', env: 'KAFKA_SSL', default: false }),
      ca: pemFile({
        doc: "CA certificates (PEM) trusted for the brokers' certificates; empty trusts the system CAs.",
        env: 'KAFKA_SSL_CA',
        default: '',
      }),
      cert: pemFile({
        doc: 'Client certificate (PEM) for mutual TLS; set together with KAFKA_SSL_KEY.',
        env: 'KAFKA_SSL_CERT',
        default: '',
      }),
      key: pemFile({
        doc: 'Unencrypted private key (PEM) of KAFKA_SSL_CERT.',
        env: 'KAFKA_SSL_KEY',
        default: '',
      }),
      rejectUnauthorized: flag({
        doc: 'Reject brokers whose certificate does not verify; false only for tests.',
        env: 'KAFKA_SSL_REJECT_UNAUTHORIZED',
        default: true,
      }),
    },
    sasl: {
      mechanism: {
        doc: 'SASL mechanism; empty connects without SASL.',
        env: 'KAFKA_SASL_MECHANISM',
        default: '',
        format: 'sasl-mechanism',
        accepts: `empty or one of ${SASL_MECHANISMS.join(', ')}`,
      },
      username: {
        doc: 'SASL user name; required with KAFKA_SASL_MECHANISM.',
        env: 'KAFKA_SASL_USERNAME',
        default: '',
        format: 'any-string',
        accepts: 'a string',
      },
      password: {
        doc: 'SASL password; required with KAFKA_SASL_MECHANISM. Never logged.',
        env: 'KAFKA_SASL_PASSWORD',
        default: '',
        format: 'any-string',
        accepts: 'a string',
        sensitive: true,
      },
    },
  },
  dlq: {
    topic: topic({ doc: 'Dead-letter topic.', env: 'DLQ_TOPIC', default: 'myeventstream-dlq' }),
    brokers: {
      doc: 'Brokers of the dead-letter topic; empty means KAFKA_BROKERS.',
      env: 'DLQ_BROKERS',
      default: '',
      format: 'broker-list',
      accepts: `empty or ${BROKERS}`,
    },
  },
  output: {
    topic: topic(
      { doc: 'Topic for processed events; empty writes none.', env: 'OUTPUT_TOPIC', default: '' },
      true,
    ),
  },
  pipeline: {
    order: {
      doc: 'Processing order: unordered, one at a time per key, or one at a time per partition.',
      env: 'PROCESSING_ORDER',
      default: 'unordered',
      format: [...PROCESSING_ORDERS],
      accepts: `one of ${PROCESSING_ORDERS.join(', ')}`,
    },
    workerPoolSize: int(
      { doc: 'Messages processed concurrently.', env: 'WORKER_POOL_SIZE', default: 10 },
      1,
      10000,
    ),
    queueBufferSize: int(
      { doc: 'Messages buffered ahead of the workers.', env: 'QUEUE_BUFFER_SIZE', default: 1000 },
      1,
      1000000,
    ),
    schemaPath: filePath({
      doc: 'JSON Schema of events; empty means config/schemas/event.schema.json.',
      env: 'EVENT_SCHEMA',
      default: '',
    }),
    module: filePath({
      doc: 'Module exporting a custom pipeline; empty runs the default one.',
      env: 'PIPELINE',
      default: '',
    }),
  },
  retry: {
    maxAttempts: int(
      { doc: 'Retries of a failed message before the DLQ; 0: none.', env: 'RETRY_MAX_ATTEMPTS', default: 3 },
      0,
      100,
    ),
    baseDelayMs: int({ doc: 'First retry delay (ms).', env: 'RETRY_BASE_DELAY_MS', default: 100 }, 0),
    maxDelayMs: int({ doc: 'Longest retry delay (ms).', env: 'RETRY_MAX_DELAY_MS', default: 10000 }, 0),
    multiplier: {
      doc: 'Growth of the delay between retries.',
      env: 'RETRY_MULTIPLIER',
      default: 2.0,
      format: 'strict-number',
      min: 1,
      accepts: 'a number of at least 1',
    },
    // A run that never ends would hold its message's credit and the partition's commit for
    // good: the limit makes it a failed attempt (retried, then dead-lettered with
    // PROCESS_TIMEOUT). The default leaves room for slow calls of ordinary pipelines.
    attemptTimeoutMs: int(
      {
        doc: 'Longest one attempt of a process step may run before it counts as failed (ms); 0: no limit.',
        env: 'PROCESS_TIMEOUT_MS',
        default: 60000,
      },
      0,
      3600000,
    ),
  },
  http: {
    port: port({
      doc: 'Port of the metrics endpoint; 0 picks a free one.',
      env: 'METRICS_PORT',
      default: 8080,
    }),
  },
  readiness: {
    // Above what a message may legitimately take with the defaults: 4 attempts of
    // PROCESS_TIMEOUT_MS (60 s) and 0.7 s of backoff.
    stuckMessageMs: int(
      {
        doc: 'A message unsettled this long makes /readyz report it, while others settle or not (ms).',
        env: 'STUCK_MESSAGE_MS',
        default: 300000,
      },
      1000,
      86400000,
    ),
  },
  log: {
    level: {
      doc: 'Lowest level logged.',
      env: 'LOG_LEVEL',
      default: 'info',
      format: [...LOG_LEVELS],
      accepts: `one of ${LOG_LEVELS.join(', ')}`,
    },
  },
  shutdown: {
    timeoutMs: int(
      {
        doc: 'Time to drain in-flight messages at shutdown (ms).',
        env: 'SHUTDOWN_TIMEOUT_MS',
        default: 30000,
      },
      0,
    ),
  },
  commit: {
    intervalMs: int(
      {
        doc: 'Least time between two offset commits (ms); settled messages are committed as soon as it allows.',
        env: 'COMMIT_INTERVAL_MS',
        default: 20,
      },
      10,
      600000,
    ),
  },
};

/** The leaves of a schema as [dotted key, setting], in schema order. */
export function settingsOf(schema: object, prefix = ''): Array<[string, Setting]> {
  return Object.entries(schema).flatMap(([name, node]: [string, object]) =>
    'default' in node ? [[prefix + name, node as Setting]] : settingsOf(node, `${prefix}${name}.`),
  );
}

export const SETTINGS: ReadonlyMap<string, Setting> = new Map(settingsOf(configSchema));
