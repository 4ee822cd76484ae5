import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_BOOTSTRAP, LOCAL_BROKER_PORT } from '../kafka/local-broker-address.js';
import { projectRoot } from '../project-root.js';
import { isRunning, launchJvmBroker, stopProcess } from './jvm-broker.js';
import { answersMetadata, waitForBroker } from './wait-for-broker.js';

/** The developer's long-running broker: fixed address (LOCAL_BOOTSTRAP), data kept across restarts. */
const LOCAL_CONTROLLER_PORT = 9093;

function stateDir(): string {
  return join(projectRoot(), '.kafka');
}

function pidFile(): string {
  return join(stateDir(), 'broker.pid');
}

/**
 * Starts the local broker on 127.0.0.1:9092 unless one already answers there, and returns its
 * bootstrap address. The broker is detached: it keeps running until `stopLocalBroker`.
 */
export async function startLocalBroker(log: (line: string) => void = () => undefined): Promise<string> {
  if (await answersMetadata(LOCAL_BOOTSTRAP).catch(() => false)) {
    log(`Reusing the Kafka broker already running at ${LOCAL_BOOTSTRAP}`);
    return LOCAL_BOOTSTRAP;
  }
  const dataDir = join(stateDir(), 'data');
  mkdirSync(dataDir, { recursive: true });
  log(`Starting a local Kafka broker at ${LOCAL_BOOTSTRAP} (data in ${dataDir})`);
  const broker = launchJvmBroker({
    port: LOCAL_BROKER_PORT,
    controllerPort: LOCAL_CONTROLLER_PORT,
    dataDir,
    detached: true,
    log,
  });
  writeFileSync(pidFile(), String(broker.pid));
  try {
    await waitForBroker(LOCAL_BOOTSTRAP, { timeoutMs: 120_000, isAlive: broker.isAlive });
  } catch (error) {
    await stopProcess(broker.pid);
    throw new Error(`${String(error)}; see ${join(dataDir, 'logs')}`, { cause: error });
  }
  return LOCAL_BOOTSTRAP;
}

/** Stops the broker started by `startLocalBroker`; returns false when none was running. */
export async function stopLocalBroker(): Promise<boolean> {
  if (!existsSync(pidFile())) return false;
  const pid = Number(readFileSync(pidFile(), 'utf8'));
  const wasRunning = Number.isInteger(pid) && pid > 0 && isRunning(pid);
  if (wasRunning) await stopProcess(pid, 30_000);
  rmSync(pidFile(), { force: true });
  return wasRunning;
}
