import { expect } from 'chai';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { startEphemeralScramBroker, type ScramBroker } from '../../lib/broker/ephemeral-broker.js';
import { PRODUCER_CLIENTS, type ProducerClient } from '../../lib/config/schema.js';
import { randomName, withAdmin } from './support/kafka.js';
import { produceAll } from './support/produce.js';
import { exitWithin, ServiceProcess, type LogLine } from './support/service-process.js';
import { header, readTopic, sleep } from './support/topic-reader.js';

/**
 * Creates topics and waits until each partition has a leader. A broker that has just started
 * may answer createTopics' own wait for leaders with UNKNOWN_TOPIC_OR_PARTITION, before the new
 * topics reach its metadata cache; this polls through that.
 */
async function createTopics(kafka: Kafka, topics: Record<string, number>): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      topics: Object.entries(topics).map(([topic, numPartitions]) => ({
        topic,
        numPartitions,
        replicationFactor: 1,
      })),
    });
    const deadline = Date.now() + 30_000;
    const names = Object.keys(topics);
    for (;;) {
      const ready = await admin.fetchTopicMetadata({ topics: names }).then(
        (metadata) =>
          metadata.topics.length === names.length &&
          metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)),
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`topics without leaders after 30 s: ${names.join(', ')}`);
      await sleep(200);
    }
  });
}

/** Everything the process wrote, stdout (as parsed lines) and stderr. */
function allOutput(service: ServiceProcess): string {
  return JSON.stringify(service.lines) + service.stderr.join('');
}

/** Every JSON log line of the process, stdout and stderr; non-JSON stderr lines as raw. */
function jsonLines(service: ServiceProcess): LogLine[] {
  const fromStderr = service.stderr
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line): LogLine => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return { level: 'raw', message: line };
      }
    });
  return [...service.lines, ...fromStderr];
}

/**
 * The service against a broker whose listener requires SASL/SCRAM: a second, throw-away JVM
 * broker with a SASL_PLAINTEXT listener (the service's side) and a PLAINTEXT one (the spec's
 * side, to create topics and read results without credentials).
 */
describe('the service against a broker requiring SCRAM authentication', function () {
  this.timeout(180_000);
  const user = 'alice';
  const password = `alice-${randomBytes(8).toString('hex')}`;
  let broker: ScramBroker | undefined;
  let plain: Kafka;
  let services: ServiceProcess[] = [];

  before(async function () {
    this.timeout(240_000);
    broker = await startEphemeralScramBroker({ users: [{ name: user, password }] });
    plain = new Kafka({ clientId: 'secure-spec', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.stop();
  });
  afterEach(async () => {
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((s) => s.exited));
    services = [];
  });

  function start(env: Record<string, string>): ServiceProcess {
    const service = new ServiceProcess({ KAFKA_BROKERS: broker!.saslBootstrap, ...env });
    services.push(service);
    return service;
  }

  async function topics() {
    const names = { source: randomName('events'), output: randomName('output'), dlq: randomName('dlq') };
    await createTopics(plain, { [names.source]: 3, [names.output]: 3, [names.dlq]: 1 });
    return names;
  }

  it('has a SASL listener that refuses clients without credentials', async () => {
    const anonymous = new Kafka({
      brokers: [broker!.saslBootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      retry: { retries: 0 },
    });
    const admin = anonymous.admin();
    let failure: unknown;
    await admin
      .connect()
      .then(() => admin.listTopics())
      .catch((error: unknown) => (failure = error));
    await admin.disconnect();
    expect(failure, 'an unauthenticated client could list topics').to.be.instanceOf(Error);
  });

  /** The service end to end through the SASL listener, its writes through `client`'s producer. */
  async function forwardsWithCredentials(client: ProducerClient): Promise<void> {
    const names = await topics();
    const groupId = randomName('group');
    const service = start({
      // Two entries, so the service builds a separate dead-letter client (DLQ_BROKERS differs
      // from KAFKA_BROKERS): it must authenticate too, or no dead letter is written.
      DLQ_BROKERS: `${broker!.saslBootstrap},${broker!.saslBootstrap}`,
      KAFKA_PRODUCER_CLIENT: client,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: user,
      KAFKA_SASL_PASSWORD: password,
      KAFKA_TOPIC: names.source,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      KAFKA_GROUP_ID: groupId,
      COMMIT_INTERVAL_MS: '200',
      RETRY_MAX_ATTEMPTS: '0',
    });
    await service.waitForLog((line) => line.message === 'Joined the consumer group');

    // Produced through the SASL listener too, with the other mechanism.
    const producer = new Kafka({
      clientId: 'secure-spec-producer',
      brokers: [broker!.saslBootstrap],
      sasl: { mechanism: 'scram-sha-256', username: user, password },
      logLevel: logLevel.NOTHING,
    });
    const valid: Message[] = Array.from({ length: 30 }, (_, i) => ({
      key: `valid-${i}`,
      value: JSON.stringify({ Id: `id-${i}`, n: i }),
    }));
    const invalid: Message[] = [
      { key: 'invalid-0', value: 'not json' },
      { key: 'invalid-1', value: JSON.stringify({ name: 'no id' }) },
    ];
    await produceAll(producer, names.source, [...valid, ...invalid]);

    const output = await readTopic(plain, names.output, valid.length);
    expect(new Set(output.map((m) => m.key!.toString()))).to.deep.equal(new Set(valid.map((m) => m.key)));
    const dead = await readTopic(plain, names.dlq, invalid.length);
    expect(dead.map((m) => m.key!.toString()).sort()).to.deep.equal(['invalid-0', 'invalid-1']);
    expect(dead.map((m) => header(m, 'error_stage')).sort()).to.deep.equal(['decode', 'validate']);

    const starting = service.lines.find((line) => line.message === 'Starting');
    expect(starting).to.deep.include({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: user,
      KAFKA_SASL_PASSWORD: '[redacted]',
    });
    // A fresh broker makes kafkajs log a retried "group coordinator is not available" or two;
    // nothing about authentication, and the service is still running.
    const authErrors = jsonLines(service).filter(
      (line) => line.level === 'error' && /SASL|authenticat/i.test(JSON.stringify(line)),
    );
    expect(authErrors).to.deep.equal([]);
    expect(
      await Promise.race([service.exited.then(() => 'exited'), sleep(100).then(() => 'running')]),
    ).to.equal('running');
    expect(allOutput(service)).not.to.include(password);
  }

  for (const client of PRODUCER_CLIENTS) {
    it(`consumes, forwards and dead-letters with the right credentials, the DLQ client included (${client} producer)`, () =>
      forwardsWithCredentials(client));
  }

  describe('refused by the brokers, it exits non-zero with one error line naming user and mechanism', () => {
    async function expectRefused(env: Record<string, string>, mechanism: string): Promise<LogLine> {
      const names = await topics();
      const service = start({
        KAFKA_TOPIC: names.source,
        DLQ_TOPIC: names.dlq,
        KAFKA_GROUP_ID: randomName('group'),
        KAFKA_SASL_MECHANISM: mechanism,
        ...env,
      });
      const { code } = await exitWithin(service, 30_000);
      expect(code, allOutput(service)).to.be.a('number').and.not.equal(0);
      const errors = jsonLines(service).filter((line) => line.level !== 'info' && line.level !== 'warn');
      expect(errors, JSON.stringify(jsonLines(service))).to.have.length(1);
      const [failure] = errors as [LogLine];
      expect(failure.level).to.equal('error');
      expect(String(failure.error)).to.match(
        new RegExp(
          `^Authentication to the Kafka brokers failed for user "${env.KAFKA_SASL_USERNAME}" with mechanism ${mechanism} \\(`,
        ),
      );
      expect(jsonLines(service).some((line) => line.message === 'Consuming')).to.equal(false);
      expect(allOutput(service)).not.to.include(password);
      return failure;
    }

    it('a wrong password, which it never writes out', async () => {
      const wrong = `wrong-${randomBytes(8).toString('hex')}`;
      const failure = await expectRefused(
        { KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: wrong },
        'scram-sha-256',
      );
      expect(String(failure.error)).to.include('invalid credentials');
      for (const service of services) expect(allOutput(service)).not.to.include(wrong);
    });

    it('an unknown user', async () => {
      await expectRefused({ KAFKA_SASL_USERNAME: 'mallory', KAFKA_SASL_PASSWORD: password }, 'scram-sha-512');
    });

    it('a mechanism the listener does not enable', async () => {
      const failure = await expectRefused(
        { KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: password },
        'plain',
      );
      expect(String(failure.error)).to.include('does not support the requested SASL mechanism');
    });
  });
});
