import { startLocalBroker } from './broker/local-broker.js';
import { runService } from './main.js';

/**
 * `npm start`'s entry: the service, which starts (or reuses) the local development broker on
 * 127.0.0.1:9092 when KAFKA_BROKERS is unset. A module of its own so that the production entry
 * (lib/main.ts, the image's CMD) never loads the code that runs a JVM broker.
 */
runService({ startLocalBroker });
