import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { launchJvmBroker, stopProcess } from './jvm-broker.js';
import { waitForBroker } from './wait-for-broker.js';

export interface StartedBroker {
  bootstrap: string;
  /** Where the broker came from: the environment, a container, or a JVM started here. */
  kind: 'external' | 'container' | 'jvm';
  stop(): Promise<void>;
}

/**
 * A throw-away JVM broker on free ports with its data in a temporary folder, tied to this
 * process: used by the test suites so they never collide with a developer's broker on 9092.
 */
export async function startEphemeralJvmBroker(log?: (line: string) => void): Promise<StartedBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'myeventstream-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const broker = launchJvmBroker({ port, controllerPort, dataDir, detached: false, ...(log ? { log } : {}) });
  const stop = async () => {
    await stopProcess(broker.pid);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForBroker(broker.bootstrap, { timeoutMs: 120_000, isAlive: broker.isAlive });
  } catch (error) {
    await stop();
    throw error;
  }
  return { bootstrap: broker.bootstrap, kind: 'jvm', stop };
}
