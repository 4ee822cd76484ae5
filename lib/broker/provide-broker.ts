import { startContainerBroker } from './container-broker.js';
import { startEphemeralJvmBroker, type StartedBroker } from './ephemeral-broker.js';

/**
 * Hands the test suites a real broker: KAFKA_BROKERS when set, else a Kafka container when a
 * container runtime answers, else a throw-away JVM broker run from the Maven Central jars.
 * Throws BrokerUnavailableError, saying what to install or set, when none of these works.
 */
export async function provideTestBroker(
  log: (line: string) => void = () => undefined,
): Promise<StartedBroker> {
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) return { bootstrap: external, kind: 'external', stop: async () => undefined };
  const container = await startContainerBroker();
  if (container) return container;
  return startEphemeralJvmBroker(log);
}
