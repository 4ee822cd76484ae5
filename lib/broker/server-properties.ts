export interface ServerPropertiesInput {
  port: number;
  controllerPort: number;
  logDir: string;
  /**
   * Adds a SASL_PLAINTEXT listener on this port accepting SCRAM-SHA-256 and SCRAM-SHA-512. The
   * PLAINTEXT listener stays, for inter-broker traffic and for tests that set up topics.
   */
  saslPort?: number;
}

/** The SASL mechanisms of the extra listener, as Kafka spells them. */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/**
 * A single-node KRaft broker in combined mode, tuned like the test setups of production
 * users: internal topics with one replica, no initial rebalance delay (groups form at once),
 * and no topic auto-creation (topics are created explicitly with the admin client).
 */
export function serverProperties({ port, controllerPort, logDir, saslPort }: ServerPropertiesInput): string {
  const settings: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
    'log.retention.hours': 24,
    ...(saslPort === undefined ? {} : scramListener(port, controllerPort, saslPort)),
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
    .concat('\n');
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
