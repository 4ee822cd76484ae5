export interface ServerPropertiesInput {
  port: number;
  controllerPort: number;
  logDir: string;
  /**
   * Adds a SASL_PLAINTEXT listener on this port accepting SCRAM-SHA-256 and SCRAM-SHA-512. The
   * PLAINTEXT listener stays, for inter-broker traffic and for tests that set up topics.
   */
  saslPort?: number;
  /** This node's place in a multi-node KRaft quorum; absent: a single node with id 1. */
  quorum?: Quorum;
}

/** The controller quorum of a cluster and which of its voters this node is. */
export interface Quorum {
  nodeId: number;
  voters: readonly QuorumVoter[];
}

export interface QuorumVoter {
  nodeId: number;
  controllerPort: number;
}

/** The SASL mechanisms of the extra listener, as Kafka spells them. */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/**
 * A KRaft node in combined mode (broker and controller), tuned like the test setups of
 * production users: no initial rebalance delay (groups form at once) and no topic
 * auto-creation (topics are created explicitly with the admin client). A single node keeps
 * its internal topics on one replica; a node of a quorum replicates everything on every node.
 */
export function serverProperties({
  port,
  controllerPort,
  logDir,
  saslPort,
  quorum = { nodeId: 1, voters: [{ nodeId: 1, controllerPort }] },
}: ServerPropertiesInput): string {
  const self = quorum.voters.find((voter) => voter.nodeId === quorum.nodeId);
  if (self?.controllerPort !== controllerPort)
    throw new Error(
      `node ${quorum.nodeId} must be a voter of its quorum on controller port ${controllerPort}`,
    );
  const replicas = quorum.voters.length;
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': quorum.nodeId,
    'controller.quorum.voters': quorum.voters
      .map((voter) => `${voter.nodeId}@127.0.0.1:${voter.controllerPort}`)
      .join(','),
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': 1,
    'offsets.topic.replication.factor': replicas,
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': replicas,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
    'log.retention.hours': 24,
    ...(replicas > 1 ? replicatedDefaults(replicas) : {}),
    ...(saslPort === undefined ? {} : scramListener(port, controllerPort, saslPort)),
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
    .concat('\n');
}

/**
 * A cluster as production runs one: every partition on every node, and a write acknowledged
 * by all in-sync replicas survives the loss of any one node (one replica may lag or be down).
 */
function replicatedDefaults(replicas: number): Record<string, string | number> {
  const minInSync = replicas - 1;
  return {
    'default.replication.factor': replicas,
    'min.insync.replicas': minInSync,
    'transaction.state.log.min.isr': minInSync,
    // Leaders move only when a test moves them (a broker stopped, an election asked for), so
    // each move can be followed by the fault it is meant to provoke; the controller's own
    // rebalancing would move them at moments nobody chose.
    'auto.leader.rebalance.enable': 'false',
  };
}

/** The settings that add the SASL_PLAINTEXT listener; they replace the listener lists above. */
function scramListener(port: number, controllerPort: number, saslPort: number): Record<string, string> {
  const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return {
    listeners: `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
    'listener.security.protocol.map':
      'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms': SCRAM_MECHANISMS.join(','),
    // The server side of SCRAM needs a login module; the users live in the cluster metadata.
    ...Object.fromEntries(
      SCRAM_MECHANISMS.map((m) => [`listener.name.sasl_plaintext.${m.toLowerCase()}.sasl.jaas.config`, jaas]),
    ),
  };
}
