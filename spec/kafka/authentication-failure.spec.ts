import { expect } from 'chai';
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  logLevel,
  type Kafka,
  type LogEntry,
} from 'kafkajs';
import {
  authenticationFailure,
  authenticationLogsAsWarnings,
  explainAuthenticationFailures,
  isAuthenticationFailure,
  KafkaAuthenticationError,
} from '../../lib/kafka/authentication-failure.js';

// kafkajs's typings declare no constructor arguments; at runtime the first one is the message.
const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
// As kafkajs builds it from a broker error code: the code's entry of its error table.
const protocolError = (type: string, code: number, message: string): Error =>
  new (KafkaJSProtocolError as unknown as new (e: object) => Error)({
    type,
    code,
    message,
    retriable: false,
  });
const UNSUPPORTED = 'The broker does not support the requested SASL mechanism';
const REFUSED =
  'SASL SCRAM SHA256 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256';
const SASL = { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong-secret-42' } as const;

describe('isAuthenticationFailure', () => {
  it("recognises kafkajs's SASL error, also as the cause of another", () => {
    expect(isAuthenticationFailure(new SaslError(REFUSED))).to.equal(true);
    expect(isAuthenticationFailure(new Error('wrapped', { cause: new SaslError(REFUSED) }))).to.equal(true);
  });

  it('recognises the broker refusing the mechanism or the authentication', () => {
    expect(isAuthenticationFailure(protocolError('UNSUPPORTED_SASL_MECHANISM', 33, UNSUPPORTED))).to.equal(
      true,
    );
    expect(isAuthenticationFailure(protocolError('SASL_AUTHENTICATION_FAILED', 58, 'SASL failed'))).to.equal(
      true,
    );
  });

  it('leaves other failures alone', () => {
    expect(isAuthenticationFailure(new KafkaJSConnectionError('Connection timeout'))).to.equal(false);
    expect(isAuthenticationFailure(new KafkaJSNonRetriableError('Closed connection'))).to.equal(false);
    expect(
      isAuthenticationFailure(protocolError('TOPIC_AUTHORIZATION_FAILED', 29, 'Not authorized')),
    ).to.equal(false);
    expect(isAuthenticationFailure(new Error('SASL SCRAM SHA256 authentication failed'))).to.equal(false);
    expect(isAuthenticationFailure('SASL')).to.equal(false);
    expect(isAuthenticationFailure(undefined)).to.equal(false);
  });
});

describe('authenticationFailure', () => {
  it('says, on one line, that authentication failed for the user with the mechanism', () => {
    const error = authenticationFailure(new SaslError(REFUSED), SASL);
    expect(error).to.be.instanceOf(KafkaAuthenticationError);
    expect(error.message).to.match(
      /^Authentication to the Kafka brokers failed for user "alice" with mechanism scram-sha-256 \(SASL SCRAM/,
    );
    expect(error.message)
      .to.include('KAFKA_SASL_PASSWORD')
      .and.not.match(/[\r\n]/);
  });

  it('never repeats the password, even when the reason holds it', () => {
    const error = authenticationFailure(new SaslError(`refused wrong-secret-42\nfor alice`), SASL);
    expect(error.message).not.to.include(SASL.password);
    expect(error.message).to.include('refused [redacted] for alice');
  });
});

describe('explainAuthenticationFailures', () => {
  /** A stand-in for a Kafka client whose clients fail to connect with `error`. */
  function failingKafka(error: Error): Kafka {
    const client = () => ({ connect: () => Promise.reject(error), name: 'client' });
    return { admin: client, producer: client, consumer: client } as unknown as Kafka;
  }
  const reasonOf = (promise: Promise<void>) =>
    promise.then(
      () => expect.fail('connected'),
      (e: unknown) => e,
    );

  it('turns a refused authentication of every client into the clear error', async () => {
    const kafka = explainAuthenticationFailures(failingKafka(new SaslError(REFUSED)), SASL);
    for (const client of [kafka.admin(), kafka.producer(), kafka.consumer({ groupId: 'g' })]) {
      const error = await reasonOf(client.connect());
      expect(error).to.be.instanceOf(KafkaAuthenticationError);
      expect((error as Error).message).to.include('for user "alice" with mechanism scram-sha-256');
    }
  });

  it('passes other connect failures through untouched', async () => {
    const original = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    const kafka = explainAuthenticationFailures(failingKafka(original), SASL);
    expect(await reasonOf(kafka.admin().connect())).to.equal(original);
  });

  it('changes nothing without a SASL mechanism', async () => {
    const original = new SaslError(REFUSED);
    const kafka = explainAuthenticationFailures(failingKafka(original), { ...SASL, mechanism: '' });
    expect(await reasonOf(kafka.producer().connect())).to.equal(original);
  });
});

describe('authenticationLogsAsWarnings', () => {
  function levelsOf(entries: Array<Pick<LogEntry, 'namespace' | 'level'> & { message: string }>): number[] {
    const seen: number[] = [];
    const log = authenticationLogsAsWarnings(() => (entry) => seen.push(entry.level))(logLevel.INFO);
    for (const { namespace, level, message } of entries) {
      log({ namespace, level, label: '', log: { timestamp: '', message } });
    }
    return seen;
  }

  it("makes kafkajs's own reports of a refused authentication warnings", () => {
    expect(
      levelsOf([
        {
          namespace: 'Connection',
          level: logLevel.ERROR,
          message: 'Response SaslAuthenticate(key: 36, version: 1)',
        },
        { namespace: 'SaslAuthenticator-SCRAM-SHA-256', level: logLevel.ERROR, message: REFUSED },
        { namespace: 'BrokerPool', level: logLevel.ERROR, message: REFUSED },
        { namespace: 'BrokerPool', level: logLevel.ERROR, message: UNSUPPORTED },
      ]),
    ).to.deep.equal([logLevel.WARN, logLevel.WARN, logLevel.WARN, logLevel.WARN]);
  });

  it('keeps every other line at its level', () => {
    expect(
      levelsOf([
        { namespace: 'Connection', level: logLevel.ERROR, message: 'Connection error: ECONNREFUSED' },
        { namespace: 'Consumer', level: logLevel.ERROR, message: 'Crash: KafkaJSNumberOfRetriesExceeded' },
        { namespace: 'Connection', level: logLevel.DEBUG, message: 'Request SaslAuthenticate(key: 36)' },
      ]),
    ).to.deep.equal([logLevel.ERROR, logLevel.ERROR, logLevel.DEBUG]);
  });
});
