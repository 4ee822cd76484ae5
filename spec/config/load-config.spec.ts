import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { ConfigError } from '../../lib/config/config-error.js';
import {
  describeConfig,
  loadConfig,
  type Config,
  type LoadConfigOptions,
} from '../../lib/config/load-config.js';
import { configSchema, SETTINGS } from '../../lib/config/schema.js';
import { projectRoot } from '../../lib/project-root.js';
import { createTestPki, type TestPki } from '../kafka/support/test-pki.js';

const bundledSchema = join(projectRoot(), 'config', 'schemas', 'event.schema.json');

describe('loadConfig', () => {
  let dir = '';
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'myeventstream-config-'));
    mkdirSync(join(dir, 'config'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // Never reads the developer's own .env.
  const load = (env: NodeJS.ProcessEnv = {}, options: LoadConfigOptions = {}): Config =>
    loadConfig(env, { dotenvPath: join(dir, 'absent.env'), configDir: join(dir, 'config'), ...options });

  function errorOf(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): string {
    try {
      load(env, options);
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    return expect.fail(`loadConfig accepted ${JSON.stringify(env)}`);
  }

  /** The message is one line starting with the variable's name. */
  function expectError(env: NodeJS.ProcessEnv, variable: string, options: LoadConfigOptions = {}): string {
    const message = errorOf(env, options);
    expect(message).to.match(new RegExp(`^${variable} `));
    expect(message).not.to.match(/[\r\n]/);
    return message;
  }

  describe('defaults', () => {
    it('are those of the Go service', () => {
      const config = load();
      expect(config.serviceName).to.equal('myeventstream');
      expect(config.kafka).to.deep.equal({
        brokers: [],
        topic: 'events',
        groupId: 'myeventstream-consumer',
        clientId: 'myeventstream',
        createTopics: false,
        topicPartitions: 6,
        sessionTimeoutMs: 30000,
        recoveryTimeoutMs: 60000,
        fetchMaxBytes: 1048576,
        fetchMaxPartitionBytes: 262144,
        producerClient: 'platformatic',
        ssl: { enabled: false, ca: '', cert: '', key: '', rejectUnauthorized: true },
        sasl: { mechanism: '', username: '', password: '' },
      });
      expect(config.dlq).to.deep.equal({ topic: 'myeventstream-dlq', brokers: [] });
      expect(config.output).to.deep.equal({ topic: '' });
      expect(config.pipeline).to.deep.include({
        workerPoolSize: 10,
        queueBufferSize: 1000,
        schemaPath: bundledSchema,
        module: '',
      });
      expect(config.retry).to.deep.equal({
        maxAttempts: 3,
        baseDelayMs: 100,
        maxDelayMs: 10000,
        multiplier: 2,
        // Not a setting of the Go service, which has no limit: ours leaves a minute.
        attemptTimeoutMs: 60000,
      });
      expect(config.http).to.deep.equal({ port: 8080 });
      expect(config.readiness).to.deep.equal({ stuckMessageMs: 300000 });
      expect(config.log).to.deep.equal({ level: 'info' });
      expect(config.shutdown).to.deep.equal({ timeoutMs: 30000 });
      expect(config.commit).to.deep.equal({ intervalMs: 20 });
    });

    it('include the bundled event schema, parsed', () => {
      expect(load().pipeline.schema).to.deep.equal(JSON.parse(readFileSync(bundledSchema, 'utf8')));
    });

    it('ignore unrelated environment variables', () => {
      expect(() => load({ PATH: '/usr/bin', KAFKA_BROKERS_OLD: '', npm_config_cache: 'x' })).not.to.throw();
    });
  });

  describe('environment variables', () => {
    let schemaFile = '';
    let pipelineFile = '';
    let pki: TestPki;
    before(() => {
      schemaFile = file('custom.schema.json', '{"type": "object", "required": ["id"]}');
      pipelineFile = file('pipeline.js', 'export default {};');
      pki = createTestPki();
    });
    after(() => pki?.remove());

    // [variable, value, read, expected, other variables the setting needs to be accepted]
    type Case = [string, string, (c: Config) => unknown, unknown, Record<string, string>?];
    const sasl = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
    const cases = (): Case[] => [
      [
        'KAFKA_BROKERS',
        'k1:9092, k2.example.com:19092',
        (c) => c.kafka.brokers,
        ['k1:9092', 'k2.example.com:19092'],
      ],
      ['KAFKA_TOPIC', 'orders', (c) => c.kafka.topic, 'orders'],
      ['KAFKA_GROUP_ID', 'group-1', (c) => c.kafka.groupId, 'group-1'],
      ['KAFKA_CLIENT_ID', 'client-1', (c) => c.kafka.clientId, 'client-1'],
      ['CREATE_TOPICS', 'true', (c) => c.kafka.createTopics, true],
      ['TOPIC_PARTITIONS', '12', (c) => c.kafka.topicPartitions, 12],
      ['KAFKA_SESSION_TIMEOUT_MS', '6000', (c) => c.kafka.sessionTimeoutMs, 6000],
      ['PROCESSING_ORDER', 'key', (c) => c.pipeline.order, 'key'],
      ['KAFKA_RECOVERY_TIMEOUT_MS', '5000', (c) => c.kafka.recoveryTimeoutMs, 5000],
      ['KAFKA_FETCH_MAX_BYTES', '2097152', (c) => c.kafka.fetchMaxBytes, 2097152],
      ['KAFKA_FETCH_MAX_PARTITION_BYTES', '65536', (c) => c.kafka.fetchMaxPartitionBytes, 65536],
      ['KAFKA_PRODUCER_CLIENT', 'platformatic', (c) => c.kafka.producerClient, 'platformatic'],
      ['KAFKA_SSL', 'true', (c) => c.kafka.ssl.enabled, true],
      ['KAFKA_SSL_CA', pki.ca, (c) => c.kafka.ssl.ca, pki.ca, { KAFKA_SSL: 'true' }],
      [
        'KAFKA_SSL_CERT',
        pki.clientCert,
        (c) => c.kafka.ssl.cert,
        pki.clientCert,
        { KAFKA_SSL: 'true', KAFKA_SSL_KEY: pki.clientKey },
      ],
      [
        'KAFKA_SSL_KEY',
        pki.clientKey,
        (c) => c.kafka.ssl.key,
        pki.clientKey,
        { KAFKA_SSL: 'true', KAFKA_SSL_CERT: pki.clientCert },
      ],
      ['KAFKA_SSL_REJECT_UNAUTHORIZED', 'false', (c) => c.kafka.ssl.rejectUnauthorized, false],
      ['KAFKA_SASL_MECHANISM', 'scram-sha-512', (c) => c.kafka.sasl.mechanism, 'scram-sha-512', sasl],
      ['KAFKA_SASL_USERNAME', 'alice', (c) => c.kafka.sasl.username, 'alice', sasl],
      ['KAFKA_SASL_PASSWORD', 'alice-secret', (c) => c.kafka.sasl.password, 'alice-secret', sasl],
      ['DLQ_TOPIC', 'dead-letters', (c) => c.dlq.topic, 'dead-letters'],
      ['DLQ_BROKERS', 'dlq1:9092', (c) => c.dlq.brokers, ['dlq1:9092']],
      ['OUTPUT_TOPIC', 'processed', (c) => c.output.topic, 'processed'],
      ['WORKER_POOL_SIZE', '64', (c) => c.pipeline.workerPoolSize, 64],
      ['QUEUE_BUFFER_SIZE', '5000', (c) => c.pipeline.queueBufferSize, 5000],
      ['EVENT_SCHEMA', schemaFile, (c) => c.pipeline.schemaPath, schemaFile],
      ['PIPELINE', pipelineFile, (c) => c.pipeline.module, pipelineFile],
      ['RETRY_MAX_ATTEMPTS', '0', (c) => c.retry.maxAttempts, 0],
      ['RETRY_BASE_DELAY_MS', '250', (c) => c.retry.baseDelayMs, 250],
      ['RETRY_MAX_DELAY_MS', '60000', (c) => c.retry.maxDelayMs, 60000],
      ['RETRY_MULTIPLIER', '1.5', (c) => c.retry.multiplier, 1.5],
      ['PROCESS_TIMEOUT_MS', '0', (c) => c.retry.attemptTimeoutMs, 0],
      ['METRICS_PORT', '0', (c) => c.http.port, 0],
      ['STUCK_MESSAGE_MS', '1000', (c) => c.readiness.stuckMessageMs, 1000],
      ['LOG_LEVEL', 'debug', (c) => c.log.level, 'debug'],
      ['SERVICE_NAME', 'billing', (c) => c.serviceName, 'billing'],
      ['SHUTDOWN_TIMEOUT_MS', '0', (c) => c.shutdown.timeoutMs, 0],
      ['COMMIT_INTERVAL_MS', '10', (c) => c.commit.intervalMs, 10],
      // BROKER=nats (lib/nats/); spec/nats/nats-settings.spec.ts checks what they refuse.
      ['BROKER', 'nats', (c) => c.broker, 'nats'],
      ['NATS_URL', 'nats://n1:4222,n2:4222', (c) => c.nats.url, 'nats://n1:4222,n2:4222'],
      ['NATS_STREAM', 'ORDERS', (c) => c.nats.stream, 'ORDERS'],
      ['NATS_SUBJECT', 'orders.*', (c) => c.nats.subject, 'orders.*'],
      ['NATS_DURABLE', 'orders-worker', (c) => c.nats.durable, 'orders-worker'],
      ['NATS_ACK_WAIT_MS', '1000', (c) => c.nats.ackWaitMs, 1000],
    ];

    it('cover every setting of the schema', () => {
      const tested = cases().map(([name]) => name);
      expect(tested.sort()).to.deep.equal([...SETTINGS.values()].map((s) => s.env).sort());
    });

    it('each set its own setting', () => {
      for (const [name, value, read, expected, needs = {}] of cases()) {
        expect(read(load({ ...needs, [name]: value })), name).to.deep.equal(expected);
      }
    });

    it('EVENT_SCHEMA loads that schema, resolving a relative path from the working directory', () => {
      const config = load({ EVENT_SCHEMA: relative(process.cwd(), schemaFile) });
      expect(config.pipeline.schemaPath).to.equal(schemaFile);
      expect(config.pipeline.schema).to.deep.equal({ type: 'object', required: ['id'] });
    });

    it('PIPELINE resolves a relative path from the working directory', () => {
      expect(load({ PIPELINE: relative(process.cwd(), pipelineFile) }).pipeline.module).to.equal(
        pipelineFile,
      );
    });

    it('KAFKA_SSL_CA, KAFKA_SSL_CERT and KAFKA_SSL_KEY resolve relative paths from the working directory', () => {
      const config = load({
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA: relative(process.cwd(), pki.ca),
        KAFKA_SSL_CERT: relative(process.cwd(), pki.clientCert),
        KAFKA_SSL_KEY: relative(process.cwd(), pki.clientKey),
      });
      expect(config.kafka.ssl).to.deep.equal({
        enabled: true,
        ca: pki.ca,
        cert: pki.clientCert,
        key: pki.clientKey,
        rejectUnauthorized: true,
      });
    });

    it('KAFKA_SASL_MECHANISM reads the mechanism in any case', () => {
      expect(load({ ...sasl, KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256' }).kafka.sasl.mechanism).to.equal(
        'scram-sha-256',
      );
      expect(load({ ...sasl, KAFKA_SASL_MECHANISM: ' Plain ' }).kafka.sasl.mechanism).to.equal('plain');
    });

    it('CREATE_TOPICS reads true and false in any case', () => {
      expect(load({ CREATE_TOPICS: 'TRUE' }).kafka.createTopics).to.equal(true);
      expect(load({ CREATE_TOPICS: 'False' }).kafka.createTopics).to.equal(false);
    });
  });

  describe('DLQ_BROKERS', () => {
    it('defaults to the KAFKA_BROKERS list', () => {
      expect(load({ KAFKA_BROKERS: 'a:9092,b:9093' }).dlq.brokers).to.deep.equal(['a:9092', 'b:9093']);
      expect(load({ KAFKA_BROKERS: 'a:9092', DLQ_BROKERS: '' }).dlq.brokers).to.deep.equal(['a:9092']);
    });

    it('wins over KAFKA_BROKERS when set', () => {
      const config = load({ KAFKA_BROKERS: 'a:9092', DLQ_BROKERS: 'd:9092' });
      expect(config.kafka.brokers).to.deep.equal(['a:9092']);
      expect(config.dlq.brokers).to.deep.equal(['d:9092']);
    });
  });

  describe('.env file', () => {
    it('is read, the real environment winning over it', () => {
      const dotenvPath = file('values.env', '# local\nKAFKA_TOPIC=from-dotenv\nWORKER_POOL_SIZE=7\n');
      const config = load({ WORKER_POOL_SIZE: '9' }, { dotenvPath });
      expect(config.kafka.topic).to.equal('from-dotenv');
      expect(config.pipeline.workerPoolSize).to.equal(9);
    });

    it('leaves process.env alone', () => {
      const before = { ...process.env };
      load({}, { dotenvPath: file('untouched.env', 'MYEVENTSTREAM_SPEC_ONLY=1\nKAFKA_TOPIC=x\n') });
      expect({ ...process.env }).to.deep.equal(before);
    });

    it('has its wrong values reported under their variable names', () => {
      expectError({}, 'WORKER_POOL_SIZE', { dotenvPath: file('wrong.env', 'WORKER_POOL_SIZE=lots\n') });
    });
  });

  describe('config/<NODE_ENV>.json', () => {
    const write = (name: string, text: string): string => file(join('config', `${name}.json`), text);

    it('is merged under the environment', () => {
      write('staging', '{"kafka": {"topic": "from-file"}, "pipeline": {"workerPoolSize": 3}}');
      expect(load({ NODE_ENV: 'staging' }).kafka.topic).to.equal('from-file');
      expect(load({ NODE_ENV: 'staging' }).pipeline.workerPoolSize).to.equal(3);
      expect(load({ NODE_ENV: 'staging', KAFKA_TOPIC: 'from-env' }).kafka.topic).to.equal('from-env');
    });

    it('is optional', () => {
      expect(load({ NODE_ENV: 'nowhere' }).kafka.topic).to.equal('events');
    });

    it('must not hold unknown keys', () => {
      const path = write('typo', '{"kafka": {"topics": "x"}}');
      const message = errorOf({ NODE_ENV: 'typo' });
      expect(message).to.equal(`${path}: unknown setting "kafka.topics"`);
    });

    it('has wrong values reported with the variable name and the file', () => {
      const path = write('zero', '{"pipeline": {"workerPoolSize": 0}}');
      const message = expectError({ NODE_ENV: 'zero' }, 'WORKER_POOL_SIZE');
      expect(message).to.include(`(got 0 in ${path})`);
    });

    it('does not quote a malformed file, which may hold secrets', () => {
      write('broken', '{"password": "hunter2", oops}');
      const message = errorOf({ NODE_ENV: 'broken' });
      expect(message).to.include('is not valid JSON');
      expect(message).not.to.include('hunter2');
    });
  });

  describe('wrong values', () => {
    it('WORKER_POOL_SIZE out of range or not an integer', () => {
      expect(expectError({ WORKER_POOL_SIZE: '0' }, 'WORKER_POOL_SIZE')).to.equal(
        'WORKER_POOL_SIZE must be an integer from 1 to 10000 (got "0")',
      );
      expect(expectError({ WORKER_POOL_SIZE: 'abc' }, 'WORKER_POOL_SIZE')).to.equal(
        'WORKER_POOL_SIZE must be an integer from 1 to 10000 (got "abc")',
      );
      // Convict's own int format would read these as 12 and 1.
      expectError({ WORKER_POOL_SIZE: '12abc' }, 'WORKER_POOL_SIZE');
      expectError({ WORKER_POOL_SIZE: '1.5' }, 'WORKER_POOL_SIZE');
    });

    it('KAFKA_BROKERS set but empty', () => {
      expect(expectError({ KAFKA_BROKERS: '' }, 'KAFKA_BROKERS')).to.equal(
        'KAFKA_BROKERS must be a comma-separated list of host:port (got "")',
      );
      expectError({ KAFKA_BROKERS: '  ' }, 'KAFKA_BROKERS');
    });

    it('KAFKA_BROKERS entries that are not host:port', () => {
      expect(expectError({ KAFKA_BROKERS: 'host' }, 'KAFKA_BROKERS')).to.include('(got "host")');
      for (const value of ['a:9092,', 'a:9092,,b:9092', 'a:0', 'a:65536', ':9092', 'a:b', 'a:9092:1']) {
        expectError({ KAFKA_BROKERS: value }, 'KAFKA_BROKERS');
      }
      expectError({ DLQ_BROKERS: 'nope' }, 'DLQ_BROKERS');
    });

    it('METRICS_PORT above 65535', () => {
      expect(expectError({ METRICS_PORT: '70000' }, 'METRICS_PORT')).to.equal(
        'METRICS_PORT must be a port from 0 to 65535 (got "70000")',
      );
    });

    it('KAFKA_PRODUCER_CLIENT not a known client', () => {
      expect(expectError({ KAFKA_PRODUCER_CLIENT: 'rdkafka' }, 'KAFKA_PRODUCER_CLIENT')).to.equal(
        'KAFKA_PRODUCER_CLIENT must be one of kafkajs, platformatic (got "rdkafka")',
      );
    });

    it('LOG_LEVEL not a known level', () => {
      expect(expectError({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL')).to.equal(
        'LOG_LEVEL must be one of error, warn, info, debug (got "verbose")',
      );
    });

    it('RETRY_MULTIPLIER below 1', () => {
      expect(expectError({ RETRY_MULTIPLIER: '0.5' }, 'RETRY_MULTIPLIER')).to.include('(got "0.5")');
      expectError({ RETRY_MULTIPLIER: '2x' }, 'RETRY_MULTIPLIER');
    });

    it('PROCESS_TIMEOUT_MS negative, above an hour or not an integer', () => {
      expect(expectError({ PROCESS_TIMEOUT_MS: '-1' }, 'PROCESS_TIMEOUT_MS')).to.equal(
        'PROCESS_TIMEOUT_MS must be an integer from 0 to 3600000 (got "-1")',
      );
      expectError({ PROCESS_TIMEOUT_MS: '3600001' }, 'PROCESS_TIMEOUT_MS');
      expectError({ PROCESS_TIMEOUT_MS: '1.5' }, 'PROCESS_TIMEOUT_MS');
    });

    it('RETRY_MAX_DELAY_MS below RETRY_BASE_DELAY_MS', () => {
      const message = expectError(
        { RETRY_BASE_DELAY_MS: '100', RETRY_MAX_DELAY_MS: '50' },
        'RETRY_MAX_DELAY_MS',
      );
      expect(message).to.include('RETRY_BASE_DELAY_MS');
    });

    it('the other settings outside their ranges', () => {
      const wrong: Record<string, string> = {
        KAFKA_TOPIC: 'bad topic',
        OUTPUT_TOPIC: '..',
        SERVICE_NAME: ' ',
        CREATE_TOPICS: 'yes',
        TOPIC_PARTITIONS: '0',
        KAFKA_SESSION_TIMEOUT_MS: '5999',
        QUEUE_BUFFER_SIZE: '1000001',
        RETRY_MAX_ATTEMPTS: '101',
        RETRY_BASE_DELAY_MS: '-1',
        SHUTDOWN_TIMEOUT_MS: '-1',
        COMMIT_INTERVAL_MS: '9',
        KAFKA_SSL: 'yes',
        KAFKA_SSL_REJECT_UNAUTHORIZED: 'no',
      };
      for (const [name, value] of Object.entries(wrong)) expectError({ [name]: value }, name);
    });

    it('EVENT_SCHEMA pointing to a missing file', () => {
      const path = join(dir, 'missing.json');
      expect(expectError({ EVENT_SCHEMA: path }, 'EVENT_SCHEMA')).to.equal(
        `EVENT_SCHEMA file not found: ${path}`,
      );
    });

    it('EVENT_SCHEMA pointing to a file that is not JSON', () => {
      const path = file('not-json.json', 'type: object\nrequired: [Id]\n');
      expect(expectError({ EVENT_SCHEMA: path }, 'EVENT_SCHEMA')).to.match(
        /^EVENT_SCHEMA is not valid JSON: /,
      );
    });

    it('EVENT_SCHEMA pointing to JSON that is not a valid JSON Schema', () => {
      for (const text of ['{"type": 12}', '12', 'null', '{"type": "object", "requried": ["Id"]}']) {
        const path = file('bad.schema.json', text);
        expect(expectError({ EVENT_SCHEMA: path }, 'EVENT_SCHEMA'), text).to.match(
          /^EVENT_SCHEMA is not a valid JSON Schema: /,
        );
      }
    });

    it('PIPELINE pointing to a missing file', () => {
      const path = join(dir, 'missing-pipeline.js');
      expect(expectError({ PIPELINE: path }, 'PIPELINE')).to.equal(`PIPELINE file not found: ${path}`);
    });

    it('several at once, still on one line', () => {
      const message = expectError({ WORKER_POOL_SIZE: '0', METRICS_PORT: 'x' }, 'WORKER_POOL_SIZE');
      expect(message).to.include('METRICS_PORT');
    });
  });

  describe('Kafka security settings', () => {
    const PASSWORD = 'hunter2-pa55word';
    let pki: TestPki;
    before(() => (pki = createTestPki()));
    after(() => pki?.remove());

    /** expectError, and the password never shows. */
    function expectSecretError(env: NodeJS.ProcessEnv, variable: string, options: LoadConfigOptions = {}) {
      const message = expectError(env, variable, options);
      expect(message).not.to.include(PASSWORD);
      return message;
    }

    it('KAFKA_SASL_MECHANISM not a supported mechanism', () => {
      expect(
        expectSecretError(
          { KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: PASSWORD },
          'KAFKA_SASL_MECHANISM',
        ),
      ).to.equal(
        'KAFKA_SASL_MECHANISM must be empty or one of plain, scram-sha-256, scram-sha-512 (got "gssapi")',
      );
    });

    it('a mechanism needs a user name', () => {
      for (const username of [undefined, '', '  ']) {
        const env = { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: PASSWORD };
        expect(
          expectSecretError(
            username === undefined ? env : { ...env, KAFKA_SASL_USERNAME: username },
            'KAFKA_SASL_USERNAME',
          ),
        ).to.equal('KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=scram-sha-256');
      }
    });

    it('a mechanism needs a password', () => {
      for (const env of [
        { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice' },
        { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: '' },
      ]) {
        expect(expectError(env, 'KAFKA_SASL_PASSWORD')).to.equal(
          'KAFKA_SASL_PASSWORD is required with KAFKA_SASL_MECHANISM=plain',
        );
      }
    });

    it('credentials need a mechanism', () => {
      expect(
        expectSecretError(
          { KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: PASSWORD },
          'KAFKA_SASL_MECHANISM',
        ),
      ).to.equal(
        'KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512 when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set',
      );
      expect(expectSecretError({ KAFKA_SASL_PASSWORD: PASSWORD }, 'KAFKA_SASL_MECHANISM')).to.match(
        / when KAFKA_SASL_PASSWORD is set$/,
      );
      expectSecretError({ KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: 'alice' }, 'KAFKA_SASL_MECHANISM');
    });

    it('the password is left out of every error, from the environment, .env or a config file', () => {
      const sasl = {
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: PASSWORD,
      };
      expectSecretError({ ...sasl, WORKER_POOL_SIZE: '0' }, 'WORKER_POOL_SIZE');
      expectSecretError({ ...sasl, KAFKA_SASL_MECHANISM: 'kerberos' }, 'KAFKA_SASL_MECHANISM');
      const dotenvPath = file('secret.env', `KAFKA_SASL_PASSWORD=${PASSWORD}\nKAFKA_SASL_MECHANISM=nope\n`);
      expectSecretError({}, 'KAFKA_SASL_MECHANISM', { dotenvPath });
      // A value of the wrong type in config/<NODE_ENV>.json: named, but not shown.
      file(join('config', 'secret.json'), '{"kafka": {"sasl": {"password": 424242424242}}}');
      expect(errorOf({ NODE_ENV: 'secret' })).to.equal('KAFKA_SASL_PASSWORD must be a string');
      // The user name is no secret: shown like any other value.
      file(join('config', 'user.json'), '{"kafka": {"sasl": {"username": 31337}}}');
      expect(errorOf({ NODE_ENV: 'user' })).to.include('(got 31337 in');
    });

    it('a PEM file without KAFKA_SSL=true', () => {
      for (const [name, path] of [
        ['KAFKA_SSL_CA', pki.ca],
        ['KAFKA_SSL_CERT', pki.clientCert],
        ['KAFKA_SSL_KEY', pki.clientKey],
      ] as const) {
        expect(expectError({ [name]: path }, 'KAFKA_SSL'), name).to.equal(
          `KAFKA_SSL must be true when ${name} is set`,
        );
        expectError({ [name]: path, KAFKA_SSL: 'false' }, 'KAFKA_SSL');
      }
    });

    it('a certificate without its key, or a key without its certificate', () => {
      expect(expectError({ KAFKA_SSL: 'true', KAFKA_SSL_CERT: pki.clientCert }, 'KAFKA_SSL_KEY')).to.equal(
        'KAFKA_SSL_KEY must be set with KAFKA_SSL_CERT',
      );
      expect(expectError({ KAFKA_SSL: 'true', KAFKA_SSL_KEY: pki.clientKey }, 'KAFKA_SSL_CERT')).to.equal(
        'KAFKA_SSL_CERT must be set with KAFKA_SSL_KEY',
      );
    });

    it('a PEM file that does not exist', () => {
      const missing = join(dir, 'missing-ca.pem');
      expect(expectError({ KAFKA_SSL: 'true', KAFKA_SSL_CA: missing }, 'KAFKA_SSL_CA')).to.equal(
        `KAFKA_SSL_CA file not found: ${missing}`,
      );
      const env = { KAFKA_SSL: 'true', KAFKA_SSL_CERT: pki.clientCert, KAFKA_SSL_KEY: missing };
      expect(expectError(env, 'KAFKA_SSL_KEY')).to.equal(`KAFKA_SSL_KEY file not found: ${missing}`);
    });

    it('PEM files with the wrong contents, before any connection', () => {
      expect(expectError({ KAFKA_SSL: 'true', KAFKA_SSL_CA: bundledSchema }, 'KAFKA_SSL_CA')).to.match(
        /^KAFKA_SSL_CA must be a PEM file of certificates: /,
      );
      const swapped = { KAFKA_SSL: 'true', KAFKA_SSL_CERT: pki.clientCert, KAFKA_SSL_KEY: pki.otherKey };
      expect(expectError(swapped, 'KAFKA_SSL_KEY')).to.match(/does not belong to the certificate/);
    });
  });
});

describe('ConfigError', () => {
  it('keeps its message on one line', () => {
    expect(new ConfigError('first\n  second\r\nthird').message).to.equal('first second third');
  });

  it('leaves the value of a sensitive setting out', () => {
    const setting = { env: 'API_TOKEN', accepts: 'a token', sensitive: true };
    expect(ConfigError.invalid(setting, '"hunter2"').message).to.equal('API_TOKEN must be a token');
    expect(ConfigError.invalid({ ...setting, sensitive: false }, '"x"').message).to.include('(got "x")');
  });
});

describe('describeConfig', () => {
  let config: Config;
  before(() => {
    config = loadConfig({ KAFKA_BROKERS: 'a:9092,b:9092' }, { dotenvPath: join(tmpdir(), 'absent', '.env') });
  });

  it('names every variable, with the values in effect', () => {
    const described = describeConfig(config);
    expect(Object.keys(described).sort()).to.deep.equal([...SETTINGS.values()].map((s) => s.env).sort());
    expect(described).to.deep.include({
      KAFKA_BROKERS: 'a:9092,b:9092',
      DLQ_BROKERS: 'a:9092,b:9092',
      WORKER_POOL_SIZE: 10,
      CREATE_TOPICS: false,
      EVENT_SCHEMA: bundledSchema,
    });
  });

  it('never shows KAFKA_SASL_PASSWORD, and shows the other security settings', () => {
    const secure = loadConfig(
      {
        KAFKA_BROKERS: 'a:9092',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: 'hunter2-pa55word',
        KAFKA_SSL: 'true',
      },
      { dotenvPath: join(tmpdir(), 'absent', '.env') },
    );
    const described = describeConfig(secure);
    expect(described).to.deep.include({
      KAFKA_SASL_PASSWORD: '[redacted]',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SSL: true,
      KAFKA_SSL_CA: '',
      KAFKA_SSL_REJECT_UNAUTHORIZED: true,
    });
    expect(JSON.stringify(described)).not.to.include('hunter2');
  });

  it('redacts sensitive settings', () => {
    const schema = {
      ...configSchema,
      apiToken: { doc: 'A secret.', format: String, default: '', env: 'API_TOKEN', sensitive: true },
    };
    const described = describeConfig({ ...config, apiToken: 'hunter2' } as Config, schema);
    expect(described.API_TOKEN).to.equal('[redacted]');
    expect(JSON.stringify(described)).not.to.include('hunter2');
  });
});

describe('config/schemas/event.schema.json', () => {
  const validate = new Ajv().compile(JSON.parse(readFileSync(bundledSchema, 'utf8')));

  it('accepts an object with a non-empty string Id and any other fields', () => {
    expect(validate({ Id: 'e-1' })).to.equal(true);
    expect(validate({ Id: 'e-1', Amount: 12, Tags: ['a'] })).to.equal(true);
  });

  it('rejects a missing, empty or non-string Id and non-objects', () => {
    for (const event of [{}, { Id: '' }, { Id: 7 }, { id: 'e-1' }, 'e-1', ['e-1'], null]) {
      expect(validate(event), JSON.stringify(event)).to.equal(false);
    }
  });
});
