import { createServer, type Server } from 'node:net';
import { expect } from 'chai';
import { randomName } from './support/kafka.js';
import { ServiceProcess } from './support/service-process.js';

/**
 * What a new user sees when start-up cannot go on: one JSON line on stderr, the service's log
 * format, naming the setting and the address, fast; exit 2 for a wrong value, 1 for the
 * environment. Only the missing topics need a broker.
 */
describe('start-up failures name what to fix, in one format, fast', function () {
  this.timeout(60_000);
  const servers: Server[] = [];
  let connections = 0;

  /** A TCP listener on a free port that counts connections and closes each at once: not Kafka. */
  async function listener(): Promise<{ server: Server; port: number }> {
    const server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as { port: number }).port };
  }

  /** A port nothing listens on. */
  async function closedPort(): Promise<number> {
    const { server, port } = await listener();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    servers.splice(servers.indexOf(server), 1);
    return port;
  }

  beforeEach(() => (connections = 0));
  afterEach(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    servers.length = 0;
  });

  interface Outcome {
    code: number | null;
    ms: number;
    failure: Record<string, unknown>;
    service: ServiceProcess;
  }

  async function run(env: Record<string, string>): Promise<Outcome> {
    const started = Date.now();
    const service = new ServiceProcess({ KAFKA_TOPIC: 'start-up-failures', ...env });
    const { code } = await service.exited;
    const ms = Date.now() - started;
    const stderr = service.stderr
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(stderr, 'stderr').to.have.length(1);
    const failure = JSON.parse(stderr[0]!) as Record<string, unknown>;
    expect(Object.keys(failure)).to.deep.equal([
      'timestamp',
      'level',
      'message',
      'service',
      'setting',
      'error',
    ]);
    expect(failure).to.include({ level: 'error', service: 'myeventstream' });
    // kafkajs's own retries and connection errors stay out of the way.
    const loud = service.lines.filter((line) => line.level !== 'info');
    expect(loud, 'stdout lines above info').to.deep.equal([]);
    return { code, ms, failure, service };
  }

  it('KAFKA_BROKERS unset: the production entry (dist/lib/main.js) starts no broker, it exits 1 naming the setting', async () => {
    const { code, ms, failure } = await run({});
    expect(code).to.equal(1);
    expect(ms).to.be.below(5000);
    expect(failure).to.include({ message: 'Start-up failed', setting: 'KAFKA_BROKERS' });
    expect(String(failure.error)).to.include('KAFKA_BROKERS is not set');
  });

  it('KAFKA_BROKERS where nothing listens: exit 1 within 5 s, naming the setting and the address', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const { code, ms, failure } = await run({ KAFKA_BROKERS: address });
    expect(code).to.equal(1);
    expect(ms).to.be.below(5000);
    expect(failure).to.include({ message: 'Start-up failed', setting: 'KAFKA_BROKERS' });
    expect(String(failure.error)).to.include(`KAFKA_BROKERS=${address}`).and.include('ECONNREFUSED');
  });

  it('KAFKA_BROKERS at something that is not Kafka: exit 1 within 5 s, naming the setting and the address', async () => {
    const address = `127.0.0.1:${(await listener()).port}`;
    const { code, ms, failure } = await run({ KAFKA_BROKERS: address });
    expect(code).to.equal(1);
    expect(ms).to.be.below(5000);
    expect(failure).to.include({ message: 'Start-up failed', setting: 'KAFKA_BROKERS' });
    expect(String(failure.error)).to.include(`KAFKA_BROKERS=${address}`);
  });

  it('METRICS_PORT in use: found before any connection to Kafka, naming the setting and the port', async () => {
    const brokers = `127.0.0.1:${(await listener()).port}`;
    const taken = await listener();
    const { code, failure, service } = await run({
      KAFKA_BROKERS: brokers,
      METRICS_PORT: String(taken.port),
    });
    expect(code).to.equal(1);
    expect(failure).to.include({ message: 'Start-up failed', setting: 'METRICS_PORT' });
    expect(String(failure.error)).to.include(`METRICS_PORT=${taken.port}`).and.include('already in use');
    expect(connections, 'connections to KAFKA_BROKERS').to.equal(0);
    expect(service.lines.map((line) => line.message)).to.deep.equal(['Starting']);
  });

  it('topics missing on the broker: exit 1, naming each topic and its setting', async () => {
    const topic = randomName('missing-events');
    const dlq = randomName('missing-dlq');
    const { code, failure } = await run({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: topic,
      DLQ_TOPIC: dlq,
    });
    expect(code).to.equal(1);
    expect(failure).to.include({ message: 'Start-up failed', setting: 'KAFKA_TOPIC,DLQ_TOPIC' });
    expect(String(failure.error)).to.include(`${topic} (KAFKA_TOPIC), ${dlq} (DLQ_TOPIC)`);
  });

  it('a wrong value: exit 2, the same format, before any connection', async () => {
    const brokers = `127.0.0.1:${(await listener()).port}`;
    const { code, failure } = await run({ KAFKA_BROKERS: brokers, WORKER_POOL_SIZE: 'abc' });
    expect(code).to.equal(2);
    expect(failure).to.include({
      message: 'Invalid configuration',
      setting: 'WORKER_POOL_SIZE',
      error: 'WORKER_POOL_SIZE must be an integer from 1 to 10000 (got "abc")',
    });
    expect(connections).to.equal(0);
  });
});
