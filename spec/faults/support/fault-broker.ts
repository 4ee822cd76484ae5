import { startEphemeralJvmBroker, type RestartableBroker } from '../../../lib/broker/ephemeral-broker.js';
import { printReport } from './report.js';
import { provideTestNats } from '../../support/nats-server.js';

/**
 * Mocha global fixture for the fault suite: its own JVM broker, always (not KAFKA_BROKERS, not
 * a container), because some scenarios stop and restart the broker. It is exposed to the specs
 * (and the service processes they spawn) as KAFKA_BROKERS and through `faultBroker()`.
 */
let broker: RestartableBroker | undefined;
let nats: { stop(): Promise<void> } | undefined;

export function faultBroker(): RestartableBroker {
  if (!broker)
    throw new Error('the fault broker is not running: run the fault specs through npm run test:faults');
  return broker;
}

export async function mochaGlobalSetup(): Promise<void> {
  nats = await provideTestNats();
  const started = Date.now();
  broker = await startEphemeralJvmBroker((line) => console.log(`      ${line}`));
  process.env.KAFKA_BROKERS = broker.bootstrap;
  console.log(
    `      Fault-suite Kafka broker (jvm) at ${broker.bootstrap}, ready in ${Date.now() - started} ms`,
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  printReport();
  await broker?.stop();
  await nats?.stop();
}
