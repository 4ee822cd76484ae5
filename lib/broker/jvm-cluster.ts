import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePorts } from './free-port.js';
import { kafkaClusterId, killProcess, launchJvmBroker, stopProcess, type JvmBroker } from './jvm-broker.js';
import type { QuorumVoter } from './server-properties.js';
import { waitForBroker } from './wait-for-broker.js';

/** One node (broker and controller) of a cluster this process started. */
export interface ClusterNode {
  nodeId: number;
  bootstrap: string;
  isRunning(): boolean;
  /** Controlled shutdown (SIGTERM): the node hands its leaderships over, then exits. */
  stop(): Promise<void>;
  /** SIGKILL: the node vanishes; the controller fences it once its session expires. */
  kill(): Promise<void>;
  /** Starts the node again on its ports and data, and waits until it answers. */
  start(): Promise<void>;
}

export interface JvmCluster {
  /** Every node's address, comma-separated, as KAFKA_BROKERS takes it. */
  bootstrap: string;
  nodes: ClusterNode[];
  /** Stops every node and removes their data. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Nodes, each a broker and a controller voter (default 3). */
  size?: number;
  /** Maximum heap of each node's JVM (default 512m: three of them share a small machine). */
  maxHeap?: string;
  log?: (line: string) => void;
}

/**
 * A throw-away KRaft cluster on free ports, every node a broker and a controller voter, its
 * data in one temporary folder, tied to this process. Topics default to one replica per node
 * with min.insync.replicas one less (see serverProperties). Resolves once every node answers
 * and the cluster reports all of its brokers.
 */
export async function startEphemeralJvmCluster(options: ClusterOptions = {}): Promise<JvmCluster> {
  const { size = 3, maxHeap = '512m', log } = options;
  const root = mkdtempSync(join(tmpdir(), 'myeventstream-cluster-'));
  const clusterId = kafkaClusterId();
  const addresses: Array<{ nodeId: number; port: number; controllerPort: number }> = [];
  const ports = await freePorts(2 * size);
  for (let nodeId = 1; nodeId <= size; nodeId++)
    addresses.push({ nodeId, port: ports[2 * nodeId - 2]!, controllerPort: ports[2 * nodeId - 1]! });
  const voters: QuorumVoter[] = addresses.map(({ nodeId, controllerPort }) => ({ nodeId, controllerPort }));

  const nodes = addresses.map(({ nodeId, port, controllerPort }) => {
    const dataDir = join(root, `node-${nodeId}`);
    mkdirSync(dataDir);
    let current: JvmBroker | undefined;
    const launch = () => {
      current = launchJvmBroker({
        port,
        controllerPort,
        dataDir,
        detached: false,
        quorum: { nodeId, voters },
        clusterId,
        maxHeap,
        ...(log ? { log } : {}),
      });
      return current;
    };
    const halt = async (how: 'stop' | 'kill') => {
      // A controlled shutdown waits for the controller to move the node's leaderships away,
      // which takes a while on a loaded machine: a minute before it is killed after all.
      if (current) await (how === 'stop' ? stopProcess(current.pid, 60_000) : killProcess(current.pid));
      current = undefined;
    };
    const node: ClusterNode = {
      nodeId,
      bootstrap: `127.0.0.1:${port}`,
      isRunning: () => current?.isAlive() ?? false,
      stop: () => halt('stop'),
      kill: () => halt('kill'),
      start: async () => {
        if (node.isRunning()) throw new Error(`node ${nodeId} is running already`);
        const broker = launch();
        await waitForBroker(broker.bootstrap, { timeoutMs: 120_000, isAlive: broker.isAlive });
      },
    };
    return { node, launch, halt };
  });

  const bootstrap = nodes.map(({ node }) => node.bootstrap).join(',');
  // At the end nothing is kept, so there is no point in a controlled shutdown (which, once
  // the quorum has lost its majority, would only wait for a controller that is gone).
  const stop = async () => {
    await Promise.all(nodes.map(({ halt }) => halt('kill')));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // All at once: a node's broker waits for a controller quorum, which needs a majority.
    const brokers = nodes.map(({ launch }) => launch());
    await Promise.all(
      brokers.map((broker) =>
        waitForBroker(broker.bootstrap, { timeoutMs: 180_000, isAlive: broker.isAlive }),
      ),
    );
    await waitForBrokerCount(bootstrap, size, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { bootstrap, nodes: nodes.map(({ node }) => node), stop };
}

/** Resolves once the cluster's metadata lists `count` brokers. */
async function waitForBrokerCount(bootstrap: string, count: number, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'myeventstream-probe',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    while (Date.now() < deadline) {
      seen = (await admin.describeCluster()).brokers.length;
      if (seen === count) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`the cluster at ${bootstrap} lists ${seen} of ${count} brokers after ${timeoutMs} ms`);
  } finally {
    await admin.disconnect();
  }
}
