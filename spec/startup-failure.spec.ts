import { expect } from 'chai';
import { BrokerUnavailableError } from '../lib/kafka/broker-unavailable-error.js';
import { ConfigError } from '../lib/config/config-error.js';
import { KafkaAuthenticationError } from '../lib/kafka/authentication-failure.js';
import {
  EXIT_BAD_SETTING,
  EXIT_START_UP_FAILED,
  startupFailure,
  startupFailureLine,
} from '../lib/startup-failure.js';
import { StartupError } from '../lib/startup-error.js';

describe('start-up failures: one line, one format', () => {
  it('says a wrong value as the JSON log line of the service, naming the setting, with exit 2', () => {
    const failure = startupFailure(
      new ConfigError('WORKER_POOL_SIZE must be an integer from 1 to 10000 (got "abc")'),
    );
    expect(failure.exitCode).to.equal(EXIT_BAD_SETTING).and.equal(2);

    const line = startupFailureLine('orders-service', failure);
    expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, 'one line').to.equal(true);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed)).to.deep.equal([
      'timestamp',
      'level',
      'message',
      'service',
      'setting',
      'error',
    ]);
    expect(parsed).to.deep.include({
      level: 'error',
      message: 'Invalid configuration',
      service: 'orders-service',
      setting: 'WORKER_POOL_SIZE',
      error: 'WORKER_POOL_SIZE must be an integer from 1 to 10000 (got "abc")',
    });
    expect(new Date(parsed.timestamp as string).toISOString()).to.equal(parsed.timestamp);
  });

  it('says an environment failure in the same format, with the setting to check and exit 1', () => {
    const error = new StartupError('METRICS_PORT', 'METRICS_PORT=8080: the port is already in use');
    const failure = startupFailure(error);
    expect(failure).to.deep.equal({
      exitCode: EXIT_START_UP_FAILED,
      message: 'Start-up failed',
      setting: 'METRICS_PORT',
      error: 'METRICS_PORT=8080: the port is already in use',
    });
    expect(EXIT_START_UP_FAILED).to.equal(1);
    const parsed = JSON.parse(startupFailureLine('svc', failure)) as Record<string, unknown>;
    expect(Object.keys(parsed)).to.deep.equal([
      'timestamp',
      'level',
      'message',
      'service',
      'setting',
      'error',
    ]);
  });

  it('names the settings of a refused login and of a missing broker', () => {
    expect(startupFailure(new KafkaAuthenticationError('refused')).setting).to.equal(
      'KAFKA_SASL_USERNAME,KAFKA_SASL_PASSWORD,KAFKA_SASL_MECHANISM',
    );
    expect(
      startupFailure(new BrokerUnavailableError('install Java 17+ or set KAFKA_BROKERS')).setting,
    ).to.equal('KAFKA_BROKERS');
  });

  it('still says what failed, without a setting, for anything else', () => {
    const failure = startupFailure(new Error('something unforeseen'));
    expect(failure).to.deep.equal({ exitCode: 1, message: 'Start-up failed', error: 'something unforeseen' });
    expect(JSON.parse(startupFailureLine('svc', failure))).to.not.have.property('setting');
  });
});

describe('ConfigError.setting', () => {
  it('is the variable the message opens with, or the one given', () => {
    expect(new ConfigError('KAFKA_SSL_KEY must be set with KAFKA_SSL_CERT').setting).to.equal(
      'KAFKA_SSL_KEY',
    );
    expect(new ConfigError('EVENT_SCHEMA file not found: /x').setting).to.equal('EVENT_SCHEMA');
    expect(new ConfigError('PIPELINE file not found: /x').setting).to.equal('PIPELINE');
    expect(
      new ConfigError('/app/config/production.json is not valid JSON', { setting: 'NODE_ENV' }).setting,
    ).to.equal('NODE_ENV');
    expect(new ConfigError('.env file cannot be read: EACCES').setting).to.equal(undefined);
  });
});
