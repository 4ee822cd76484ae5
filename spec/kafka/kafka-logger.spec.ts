import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { logLevel, type LogEntry } from 'kafkajs';
import { EXPECTED_BROKER_ANSWERS, kafkaLogCreator, serviceLevel } from '../../lib/kafka/kafka-logger.js';
import { createLogger } from '../../lib/observability/logger.js';

// kafkajs's table of broker error codes, whose wording its log entries carry.
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: Array<{ type: string; message: string }>;
};

/** An entry as kafkajs's connection logs a broker's error answer. */
function responseError(api: string, answer: string): LogEntry {
  return {
    namespace: 'Connection',
    level: logLevel.ERROR,
    label: 'ERROR',
    log: {
      timestamp: '2026-01-01T00:00:00.000Z',
      logger: 'kafkajs',
      message: `Response ${api}(key: 10, version: 2)`,
      broker: '127.0.0.1:9092',
      clientId: 'myeventstream',
      error: answer,
      correlationId: 1,
      size: 55,
    },
  };
}

const COORDINATOR_NOT_AVAILABLE = 'The group coordinator is not available';
const UNKNOWN_TOPIC = 'This server does not host this topic-partition';

describe('kafkajs log levels in the service logs', () => {
  it('logs the first start against a new broker (no group coordinator yet) below error', async () => {
    const stream = new PassThrough();
    const lines: Array<Record<string, unknown>> = [];
    stream.on('data', (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString('utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      ),
    );
    const logger = createLogger({ level: 'debug', serviceName: 'svc', stream });
    const log = kafkaLogCreator(logger)(logLevel.WARN);
    log(responseError('GroupCoordinator', COORDINATOR_NOT_AVAILABLE));
    log(responseError('Metadata', UNKNOWN_TOPIC));
    log(responseError('Produce', UNKNOWN_TOPIC));
    await new Promise((resolve) => setImmediate(resolve));

    expect(lines.map(({ level, message, error }) => ({ level, message, error }))).to.deep.equal([
      {
        level: 'debug',
        message: 'Response GroupCoordinator(key: 10, version: 2)',
        error: COORDINATOR_NOT_AVAILABLE,
      },
      {
        level: 'debug',
        message: 'Response Metadata(key: 10, version: 2)',
        error: UNKNOWN_TOPIC,
      },
      {
        level: 'error',
        message: 'Response Produce(key: 10, version: 2)',
        error: UNKNOWN_TOPIC,
      },
    ]);
  });

  it('puts group coordination and unknown-topic answers at debug and leadership answers at warn', () => {
    const levels = Object.fromEntries(
      Object.entries(EXPECTED_BROKER_ANSWERS).map(([answer, { type, requests }]) => [
        type,
        serviceLevel(responseError(requests?.[0] ?? 'Any', answer)),
      ]),
    );
    expect(levels).to.deep.equal({
      GROUP_COORDINATOR_NOT_AVAILABLE: 'debug',
      NOT_COORDINATOR_FOR_GROUP: 'debug',
      GROUP_LOAD_IN_PROGRESS: 'debug',
      REBALANCE_IN_PROGRESS: 'debug',
      MEMBER_ID_REQUIRED: 'debug',
      LEADER_NOT_AVAILABLE: 'warn',
      NOT_LEADER_FOR_PARTITION: 'warn',
      UNKNOWN_TOPIC_OR_PARTITION: 'debug',
    });
  });

  it("spells each expected answer as kafkajs's own error table does", () => {
    for (const [answer, { type }] of Object.entries(EXPECTED_BROKER_ANSWERS)) {
      expect(errorCodes.find((code) => code.type === type)?.message, type).to.equal(answer);
    }
  });

  it('keeps other errors at error: other answers, and the same words outside a broker answer', () => {
    expect(serviceLevel(responseError('Produce', 'The request timed out'))).to.equal('error');
    // A topic gone after it was found: only the metadata lookup of a missing one is named by the service.
    expect(serviceLevel(responseError('Produce', UNKNOWN_TOPIC))).to.equal('error');
    expect(serviceLevel(responseError('Fetch', UNKNOWN_TOPIC))).to.equal('error');
    expect(serviceLevel(responseError('Metadata', 'constructor'))).to.equal('error');
    const answer = responseError('x', COORDINATOR_NOT_AVAILABLE);
    const notAnAnswer = {
      ...answer,
      log: { ...answer.log, message: 'Crash: KafkaJSGroupCoordinatorNotFound' },
    };
    expect(serviceLevel(notAnAnswer)).to.equal('error');
    expect(serviceLevel({ ...responseError('x', COORDINATOR_NOT_AVAILABLE), level: logLevel.WARN })).to.equal(
      'warn',
    );
  });
});
