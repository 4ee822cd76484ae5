import type { StartedBroker } from './ephemeral-broker.js';

/** Confluent Platform 7.9 ships Apache Kafka 3.9, the line the service is tested against. */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.1';

/**
 * A Kafka container through testcontainers, or undefined when no container runtime answers
 * (or testcontainers is not installed, as in the production image).
 */
export async function startContainerBroker(): Promise<StartedBroker | undefined> {
  let modules;
  try {
    const [core, kafka] = await Promise.all([import('testcontainers'), import('@testcontainers/kafka')]);
    modules = { core, kafka };
    await core.getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const container = await new modules.kafka.KafkaContainer(KAFKA_IMAGE)
    .withKraft()
    .withEnvironment({
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .start();
  return {
    bootstrap: `${container.getHost()}:${container.getMappedPort(9093)}`,
    kind: 'container',
    stop: async () => {
      await container.stop();
    },
  };
}
