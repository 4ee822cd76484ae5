import { expect } from 'chai';
import { join } from 'node:path';
import { cliSettings, resolveConnection } from '../../lib/cli/settings.js';
import { loadConfig } from '../../lib/config/load-config.js';

const NO_DOTENV = { dotenvPath: join('/nonexistent', '.env') };
const settingsOf = (env: NodeJS.ProcessEnv) => cliSettings(loadConfig(env, NO_DOTENV));

describe('cliSettings', () => {
  it("takes the service's defaults, and the local broker's address where the service would start it", () => {
    expect(settingsOf({})).to.deep.equal({
      dlqTopic: 'myeventstream-dlq',
      dlqBrokers: ['127.0.0.1:9092'],
      sourceBrokers: ['127.0.0.1:9092'],
      clientId: 'myeventstream',
      sessionTimeoutMs: 30000,
    });
  });

  it('reads the same variables as the service', () => {
    expect(
      settingsOf({
        KAFKA_BROKERS: 'k1:9092,k2:9092',
        DLQ_TOPIC: 'orders-dlq',
        KAFKA_CLIENT_ID: 'ops',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      }),
    ).to.deep.equal({
      dlqTopic: 'orders-dlq',
      dlqBrokers: ['k1:9092', 'k2:9092'],
      sourceBrokers: ['k1:9092', 'k2:9092'],
      clientId: 'ops',
      sessionTimeoutMs: 6000,
    });
    expect(settingsOf({ KAFKA_BROKERS: 'k1:9092', DLQ_BROKERS: 'd1:9092' })).to.deep.include({
      dlqBrokers: ['d1:9092'],
      sourceBrokers: ['k1:9092'],
    });
  });

  it("rejects what the service rejects, with the service's message", () => {
    expect(() => settingsOf({ DLQ_BROKERS: 'nope' })).to.throw(/^DLQ_BROKERS must be/);
    expect(() => settingsOf({ KAFKA_BROKERS: ' ' })).to.throw(/^KAFKA_BROKERS must be/);
    expect(() => settingsOf({ DLQ_TOPIC: 'a b' })).to.throw(/^DLQ_TOPIC must be/);
  });
});

describe('resolveConnection', () => {
  const settings = settingsOf({ KAFKA_BROKERS: 'src:9092', DLQ_BROKERS: 'dlq:9092', DLQ_TOPIC: 'the-dlq' });

  it('uses the settings without flags: the DLQ cluster to read, the source cluster to write', () => {
    expect(resolveConnection(settings, {})).to.deep.equal({
      dlqTopic: 'the-dlq',
      dlqBrokers: ['dlq:9092'],
      targetBrokers: ['src:9092'],
    });
  });

  it('lets --brokers name the one cluster of both sides, and --target-brokers split them again', () => {
    expect(resolveConnection(settings, { topic: 'x', brokers: ['one:9092'] })).to.deep.equal({
      dlqTopic: 'x',
      dlqBrokers: ['one:9092'],
      targetBrokers: ['one:9092'],
    });
    expect(
      resolveConnection(settings, { brokers: ['one:9092'], targetBrokers: ['two:9092'] }),
    ).to.deep.include({
      dlqBrokers: ['one:9092'],
      targetBrokers: ['two:9092'],
    });
  });
});
