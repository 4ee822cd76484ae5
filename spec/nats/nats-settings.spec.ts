import { expect } from 'chai';
import { join } from 'node:path';
import { ConfigError } from '../../lib/config/config-error.js';
import { loadConfig } from '../../lib/config/load-config.js';
import { natsSettings } from '../../lib/nats/nats-settings.js';
import { projectRoot } from '../../lib/project-root.js';

const load = (env: Record<string, string>) =>
  loadConfig(env, { dotenvPath: join(projectRoot(), 'no-such-folder', '.env') });

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('NATS settings', () => {
  it('default to Kafka, and to a local NATS server, stream events and durable myeventstream', () => {
    const config = load({});
    expect(config.broker).to.equal('kafka');
    expect(natsSettings(config)).to.deep.equal({
      servers: ['nats://127.0.0.1:4222'],
      stream: 'events',
      subject: '',
      durable: 'myeventstream',
      ackWaitMs: 30000,
      outputSubject: undefined,
      dlqSubject: 'myeventstream-dlq',
      createStreams: false,
    });
  });

  it('map the environment, OUTPUT_TOPIC and DLQ_TOPIC becoming subjects', () => {
    const config = load({
      BROKER: 'nats',
      NATS_URL: 'nats://a:4222, b:4223',
      NATS_STREAM: 'ORDERS',
      NATS_SUBJECT: 'orders.in.>',
      NATS_DURABLE: 'orders-worker',
      NATS_ACK_WAIT_MS: '5000',
      OUTPUT_TOPIC: 'orders.valid',
      DLQ_TOPIC: 'orders.dlq',
      CREATE_TOPICS: 'true',
    });
    expect(config.broker).to.equal('nats');
    expect(natsSettings(config)).to.deep.equal({
      servers: ['nats://a:4222', 'b:4223'],
      stream: 'ORDERS',
      subject: 'orders.in.>',
      durable: 'orders-worker',
      ackWaitMs: 5000,
      outputSubject: 'orders.valid',
      dlqSubject: 'orders.dlq',
      createStreams: true,
    });
  });

  const refused: Array<[string, string, RegExp]> = [
    ['BROKER', 'rabbit', /^BROKER must be one of kafka, nats \(got "rabbit"\)$/],
    ['NATS_URL', 'http://x:1', /^NATS_URL must be a comma-separated list of nats:\/\/host:port/],
    ['NATS_URL', 'nats://x:70000', /^NATS_URL must be a comma-separated list of nats:\/\/host:port/],
    ['NATS_URL', 'nats://x:0', /^NATS_URL must be a comma-separated list of nats:\/\/host:port/],
    ['NATS_STREAM', 'my.stream', /^NATS_STREAM must be a stream name/],
    ['NATS_SUBJECT', 'orders..in', /^NATS_SUBJECT must be empty or a NATS subject/],
    ['NATS_SUBJECT', '>.orders', /^NATS_SUBJECT must be empty or a NATS subject/],
    ['NATS_DURABLE', 'a b', /^NATS_DURABLE must be a consumer name/],
    ['NATS_ACK_WAIT_MS', '10', /^NATS_ACK_WAIT_MS must be an integer from 1000 to 3600000/],
  ];
  for (const [env, value, message] of refused) {
    it(`refuse ${env}=${JSON.stringify(value)} naming the setting`, () => {
      const error = errorOf(() => load({ BROKER: 'nats', [env]: value }));
      expect(error.setting).to.equal(env);
      expect(error.message).to.match(message);
    });
  }

  it('refuse an OUTPUT_TOPIC or DLQ_TOPIC that is no subject', () => {
    const error = errorOf(() => natsSettings(load({ BROKER: 'nats', DLQ_TOPIC: 'a..b' })));
    expect(error.setting).to.equal('DLQ_TOPIC');
    expect(error.message).to.include('must be a NATS subject');
  });

  it('refuse writing to a subject the consumer reads, which would loop', () => {
    const error = errorOf(() =>
      natsSettings(load({ BROKER: 'nats', NATS_SUBJECT: 'orders.>', OUTPUT_TOPIC: 'orders.valid' })),
    );
    expect(error.setting).to.equal('OUTPUT_TOPIC');
    expect(error.message).to.include('must not match NATS_SUBJECT=orders.>');
  });
});
