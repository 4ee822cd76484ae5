import { connect, type NatsConnection } from '@nats-io/transport-node';
import { errorMessage } from '../core/errors.js';
import { StartupError } from '../startup-error.js';

/**
 * Connects to NATS_URL. The first connection must succeed (a wrong address stops start-up
 * naming NATS_URL); once connected, the client reconnects by itself for as long as it takes,
 * and the service reports the connection on /readyz meanwhile.
 */
export async function connectNats(servers: string[], name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
  } catch (error) {
    throw new StartupError(
      'NATS_URL',
      `No NATS server answered at NATS_URL=${servers.join(',')} (${errorMessage(error)}); check NATS_URL, and that the server runs and is reachable from here`,
      { cause: error },
    );
  }
}
