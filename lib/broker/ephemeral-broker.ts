import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './free-port.js';
import { launchJvmBroker, stopProcess, type JvmBroker, type ScramUser } from './jvm-broker.js';
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
  return (await startEphemeral(log, undefined)).broker;
}

/** A throw-away broker that also has a SASL_PLAINTEXT listener with SCRAM users. */
export interface ScramBroker extends RestartableBroker {
  /** The SASL_PLAINTEXT listener (SCRAM-SHA-256 and SCRAM-SHA-512). */
  saslBootstrap: string;
  users: ScramUser[];
}

export interface ScramBrokerOptions {
  /** Created at storage-format time, for both mechanisms; at least one. */
  users: ScramUser[];
  log?: (line: string) => void;
}

/**
 * Like startEphemeralJvmBroker, plus a SASL_PLAINTEXT listener accepting SCRAM-SHA-256 and
 * SCRAM-SHA-512 for `users`. `bootstrap` stays the PLAINTEXT listener (no authentication), for
 * setting up topics and reading results; `saslBootstrap` is the one to authenticate against.
 * Resolves once the SASL listener accepts the first user.
 */
export async function startEphemeralScramBroker(options: ScramBrokerOptions): Promise<ScramBroker> {
  const [first] = options.users;
  if (first === undefined) throw new Error('startEphemeralScramBroker needs at least one user');
  const { broker, saslPort } = await startEphemeral(options.log, { users: options.users, probe: first });
  return { ...broker, saslBootstrap: `127.0.0.1:${saslPort}`, users: options.users };
}

async function startEphemeral(
  log: ((line: string) => void) | undefined,
  sasl: { users: ScramUser[]; probe: ScramUser } | undefined,
): Promise<{ broker: RestartableBroker; saslPort: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'myeventstream-kafka-'));
  // All listeners' ports chosen at once, so no two of them can be the same.
  const [port, controllerPort, saslPort] = (await freePorts(3)) as [number, number, number];
  let current: JvmBroker | undefined;
  const launch = async () => {
    current = launchJvmBroker({
      port,
      controllerPort,
      dataDir,
      detached: false,
      ...(log ? { log } : {}),
      ...(sasl ? { sasl: { port: saslPort, users: sasl.users } } : {}),
    });
    await waitForBroker(current.bootstrap, { timeoutMs: 120_000, isAlive: current.isAlive });
    if (sasl && current.saslBootstrap !== undefined) {
      const { name: username, password } = sasl.probe;
      await waitForBroker(current.saslBootstrap, {
        timeoutMs: 30_000,
        isAlive: current.isAlive,
        sasl: { mechanism: 'scram-sha-256', username, password },
      });
    }
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
  return { broker: { bootstrap: `127.0.0.1:${port}`, kind: 'jvm', stop, halt, resume: launch }, saslPort };
}
