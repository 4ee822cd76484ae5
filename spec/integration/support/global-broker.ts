import { provideTestBroker } from '../../../lib/broker/provide-broker.js';
import type { StartedBroker } from '../../../lib/broker/ephemeral-broker.js';
import { provideTestNats } from '../../support/nats-server.js';

/**
 * Mocha global fixture for the integration suite: one real broker for the whole run, exposed
 * to the specs (and the service processes they spawn) as KAFKA_BROKERS, stopped at the end; and
 * the NATS server, as NATS_URL (see provideTestNats).
 */
let broker: StartedBroker | undefined;
let nats: { stop(): Promise<void> } | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  nats = await provideTestNats();
  const started = Date.now();
  broker = await provideTestBroker((line) => console.log(`      ${line}`));
  process.env.KAFKA_BROKERS = broker.bootstrap;
  console.log(
    `      Kafka broker (${broker.kind}) at ${broker.bootstrap}, ready in ${Date.now() - started} ms`,
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  await broker?.stop();
  await nats?.stop();
}
