import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import { resolveKafkaJars } from './kafka-jars.js';
import { SCRAM_MECHANISMS, serverProperties, type Quorum } from './server-properties.js';
import { assertJavaToolchain } from './toolchain.js';

export interface JvmBrokerOptions {
  port: number;
  controllerPort: number;
  dataDir: string;
  /**
   * true: the broker outlives this process (npm run kafka:start).
   * false: it is tied to this process and killed with it, even on SIGKILL.
   */
  detached: boolean;
  log?: (line: string) => void;
  /**
   * Adds a SASL_PLAINTEXT listener on `port` (SCRAM-SHA-256 and SCRAM-SHA-512) next to the
   * PLAINTEXT one, with these users created in the cluster metadata when the storage is formatted.
   */
  sasl?: { port: number; users: ScramUser[] };
  /** This node's place in a multi-node quorum; absent: a single node. */
  quorum?: Quorum;
  /** The id the storage is formatted with; every node of one cluster needs the same. Default: a new one. */
  clusterId?: string;
  /** The JVM's maximum heap, as -Xmx takes it (default 1g). */
  maxHeap?: string;
}

/** A SCRAM user of the SASL listener; it may authenticate with either mechanism. */
export interface ScramUser {
  name: string;
  password: string;
}

export interface JvmBroker {
  bootstrap: string;
  /** The SASL_PLAINTEXT listener's address, when `sasl` was given. */
  saslBootstrap?: string;
  pid: number;
  process: ChildProcess;
  isAlive(): boolean;
}

/** Writes server.properties, formats the KRaft storage once, and starts `kafka.Kafka`. */
export function launchJvmBroker(options: JvmBrokerOptions): JvmBroker {
  const { port, controllerPort, dataDir, detached, log = () => undefined, sasl, quorum } = options;
  const { clusterId = kafkaClusterId(), maxHeap = '1g' } = options;
  const scramArgs = sasl === undefined ? [] : addScramArguments(sasl.users);
  assertJavaToolchain();
  const libs = resolveKafkaJars(log);
  const logDir = join(dataDir, 'kraft-logs');
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const propertiesFile = join(dataDir, 'server.properties');
  writeFileSync(
    propertiesFile,
    serverProperties({
      port,
      controllerPort,
      logDir,
      ...(sasl ? { saslPort: sasl.port } : {}),
      ...(quorum ? { quorum } : {}),
    }),
  );

  const classpath = join(libs, '*');
  if (!existsSync(join(logDir, 'meta.properties'))) {
    const format = spawnSync(
      'java',
      [
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        ...storageFormatArguments(clusterId, propertiesFile, scramArgs),
      ],
      { encoding: 'utf8' },
    );
    if (format.status !== 0)
      throw new Error(`Formatting the Kafka storage failed:\n${format.stdout}${format.stderr}`);
  }

  const out = openSync(join(dataDir, 'logs', 'stdout.log'), 'a');
  const child = spawn(
    'java',
    [
      '-Xms256m',
      `-Xmx${maxHeap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${join(projectRoot(), 'config', 'kafka', 'log4j.properties')}`,
      `-Dkafka.logs.dir=${join(dataDir, 'logs')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      propertiesFile,
    ],
    { detached, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  if (child.pid === undefined) throw new Error('java could not be started');
  let exited = false;
  child.once('exit', () => (exited = true));
  if (detached) child.unref();
  else tieToThisProcess(child);

  return {
    bootstrap: `127.0.0.1:${port}`,
    ...(sasl ? { saslBootstrap: `127.0.0.1:${sasl.port}` } : {}),
    pid: child.pid,
    process: child,
    isAlive: () => !exited,
  };
}

/**
 * `--add-scram` arguments of `StorageTool format` (KRaft, metadata 3.5+) creating each user for
 * both mechanisms. The tool splits its argument on commas and takes no quoting, so names and
 * passwords are limited to characters that need none.
 */
export function addScramArguments(users: ScramUser[]): string[] {
  const plain = /^[A-Za-z0-9._@-]+$/;
  return users.flatMap(({ name, password }) => {
    if (!plain.test(name) || !plain.test(password)) {
      throw new Error(
        `SCRAM user ${JSON.stringify(name)}: names and passwords may hold only A-Z a-z 0-9 . _ @ -`,
      );
    }
    return SCRAM_MECHANISMS.map(
      (mechanism) => `--add-scram=${mechanism}=[name=${name},password=${password}]`,
    );
  });
}

/**
 * The arguments of `StorageTool format`. Values go in the `--option=value` form: the tool's
 * parser (argparse4j) reads a separate argument that begins with `-` as the next option, not as
 * the value, so a generated value must never stand alone.
 */
export function storageFormatArguments(
  clusterId: string,
  propertiesFile: string,
  scramArgs: readonly string[] = [],
): string[] {
  return [
    'format',
    `--cluster-id=${clusterId}`,
    `--config=${propertiesFile}`,
    '--ignore-formatted',
    ...scramArgs,
  ];
}

/**
 * A cluster id as Kafka's own `Uuid.randomUuid()` makes them: 16 random bytes in URL-safe
 * base64 without padding, drawn again when the text would begin with `-` (one draw in 64) or
 * the bytes are all zero, both of which Kafka never hands out.
 */
export function kafkaClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const bytes = random(16);
    const id = bytes.toString('base64url');
    if (!id.startsWith('-') && bytes.some((byte) => byte !== 0)) return id;
  }
}

/**
 * A JVM started for tests must not outlive them, however they end. Exit and signal handlers
 * cover normal ends and Ctrl-C; a detached watchdog covers SIGKILL of this process, which no
 * handler sees: it polls our pid and stops the JVM (TERM, then KILL) once we are gone.
 */
function tieToThisProcess(child: ChildProcess): void {
  const javaPid = child.pid!;
  const watchdog = spawn(
    'sh',
    [
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${javaPid} 2>/dev/null; do sleep 1; done;` +
        `kill -TERM ${javaPid} 2>/dev/null; sleep 15; kill -KILL ${javaPid} 2>/dev/null`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  const killJava = () => {
    try {
      process.kill(javaPid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', killJava);
  // A cluster's nodes are restarted many times in one run: one listener per living JVM only.
  child.once('exit', () => process.off('exit', killJava));
}

/** Sends SIGTERM, waits up to `graceMs` for a clean exit, then SIGKILL. Resolves when gone. */
export async function stopProcess(pid: number, graceMs = 20_000): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isRunning(pid)) {
    process.kill(pid, 'SIGKILL');
    while (isRunning(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends SIGKILL: no shutdown of any kind. Resolves when gone. */
export async function killProcess(pid: number): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, 'SIGKILL');
  while (isRunning(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie child answers signal 0 until reaped; /proc tells the truth on Linux.
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  return stat.stdout.trim().startsWith('Z');
}
