import { expect } from 'chai';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { loadConfig } from '../../../lib/config/load-config.js';
import { projectRoot } from '../../../lib/project-root.js';
import type { KafkajsWriter } from '../../../lib/kafka/sinks/kafkajs-writer.js';
import type {
  PlatformaticWriter,
  PlatformaticWriterOptions,
} from '../../../lib/kafka/sinks/platformatic-writer.js';
import { writerForConfig } from '../../../lib/kafka/sinks/writer-for-config.js';

const noDotenv = join(projectRoot(), 'no-such-folder', '.env');

/** writerForConfig with factories that record what they were given. */
function build(env: Record<string, string>, dlqBrokers: string[]) {
  const config = loadConfig(env, { dotenvPath: noDotenv });
  const dlqKafka = {} as Kafka;
  const made: Array<{ kafkajs: Kafka } | { platformatic: PlatformaticWriterOptions }> = [];
  writerForConfig(config, dlqBrokers, dlqKafka, {
    kafkajsWriter: (kafka) => (made.push({ kafkajs: kafka }), {} as KafkajsWriter),
    platformaticWriter: (options) => (made.push({ platformatic: options }), {} as PlatformaticWriter),
  });
  return { made, dlqKafka };
}

describe('writerForConfig', () => {
  const cluster = { KAFKA_BROKERS: 'k1:9092', DLQ_BROKERS: 'd1:9092,d2:9092' };

  it('KAFKA_PRODUCER_CLIENT=kafkajs: a kafkajs producer of the dead-letter client', () => {
    const { made, dlqKafka } = build({ ...cluster, KAFKA_PRODUCER_CLIENT: 'kafkajs' }, [
      'd1:9092',
      'd2:9092',
    ]);
    expect(made).to.have.length(1);
    expect((made[0] as { kafkajs: Kafka }).kafkajs).to.equal(dlqKafka);
  });

  it('KAFKA_PRODUCER_CLIENT=platformatic: a producer of the DLQ_BROKERS, with the client id and the security settings', () => {
    const { made } = build(
      {
        ...cluster,
        KAFKA_PRODUCER_CLIENT: 'platformatic',
        KAFKA_CLIENT_ID: 'billing',
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'alice',
        KAFKA_SASL_PASSWORD: 's3cret',
      },
      ['d1:9092', 'd2:9092'],
    );
    expect(made).to.deep.equal([
      {
        platformatic: {
          clientId: 'billing',
          brokers: ['d1:9092', 'd2:9092'],
          connection: { sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 's3cret' } },
        },
      },
    ]);
  });
});
