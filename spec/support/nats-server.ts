import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/broker/free-port.js';

/** A nats-server with JetStream started here (`nats-server` on the PATH), on a port of its own. */
export interface TestNatsServer {
  url: string;
  /** Stops the server (SIGTERM), keeping its store: `restart()` brings it back with its streams. */
  halt(): Promise<void>;
  /** Starts it again on the same port with the same store, and waits until it answers. */
  restart(): Promise<void>;
  /** Stops it and deletes its store. */
  stop(): Promise<void>;
}

export async function startTestNatsServer(): Promise<TestNatsServer> {
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const storeDir = mkdtempSync(join(tmpdir(), 'myeventstream-nats-'));
  let server: ChildProcess | undefined;
  const launch = async () => {
    const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: 'ignore',
    });
    server = child;
    const failedToStart = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`nats-server could not be started: ${error.message}`)));
      child.once('exit', (code) => reject(new Error(`nats-server exited with ${code} before answering`)));
    });
    await Promise.race([answering(url), failedToStart]);
  };
  const halt = async () => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    url,
    halt,
    restart: launch,
    stop: async () => {
      await halt();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

async function answering(url: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await (await connect({ servers: url })).close();
      return;
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * For the suites' global fixtures: the NATS server the specs use is NATS_URL when it is set,
 * otherwise one started here for the run, which NATS_URL then names (the specs read it when
 * they run, through natsUrl()).
 */
export async function provideTestNats(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.NATS_URL;
  if (given) return { url: given, stop: async () => undefined };
  const server = await startTestNatsServer();
  process.env.NATS_URL = server.url;
  console.log(`      NATS server with JetStream at ${server.url}`);
  return server;
}
