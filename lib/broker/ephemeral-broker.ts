import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { launchJvmBroker, stopProcess, type JvmBroker } from './jvm-broker.js';
import { waitForBroker } from './wait-for-broker.js';

export interface StartedBroker {
  bootstrap: string;
  /** Where the broker came from: the environment, a container, or a JVM started here. */
  kind: 'external' | 'container' | 'jvm';
  stop(): Promise<void>;
}

/** A JVM broker this process started, which fault tests may take down and bring back. */
export interface RestartableBroker extends StartedBroker {
  kind: 'jvm';
  /** Stops the broker process (SIGTERM, then SIGKILL), keeping its data. */
  halt(): Promise<void>;
  /** Starts it again on the same address with the same data, and waits until it answers. */
  resume(): Promise<void>;
}

/**
 * A throw-away JVM broker on free ports with its data in a temporary folder, tied to this
 * process: used by the test suites so they never collide with a developer's broker on 9092.
 */
export async function startEphemeralJvmBroker(log?: (line: string) => void): Promise<RestartableBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'myeventstream-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  let current: JvmBroker | undefined;
  const launch = async () => {
    current = launchJvmBroker({ port, controllerPort, dataDir, detached: false, ...(log ? { log } : {}) });
    await waitForBroker(current.bootstrap, { timeoutMs: 120_000, isAlive: current.isAlive });
  };
  const halt = async () => {
    if (current) await stopProcess(current.pid);
    current = undefined;
  };
  const stop = async () => {
    await halt();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (error) {
    await stop();
    throw error;
  }
  return { bootstrap: `127.0.0.1:${port}`, kind: 'jvm', stop, halt, resume: launch };
}
