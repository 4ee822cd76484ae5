import type { Config } from '../config/load-config.js';
import { LOCAL_BOOTSTRAP } from '../kafka/local-broker-address.js';

/** What the CLI takes from the service's configuration (same variables, defaults and checks). */
export interface CliSettings {
  dlqTopic: string;
  /** DLQ_BROKERS, else KAFKA_BROKERS, else the local broker. */
  dlqBrokers: string[];
  /** KAFKA_BROKERS, else the local broker: where the original topics live. */
  sourceBrokers: string[];
  clientId: string;
  sessionTimeoutMs: number;
}

/**
 * The CLI never starts a broker: where the service would start the local one (KAFKA_BROKERS
 * unset), the CLI talks to the address that broker listens on.
 */
export function cliSettings(config: Config): CliSettings {
  const sourceBrokers = config.kafka.brokers.length > 0 ? config.kafka.brokers : [LOCAL_BOOTSTRAP];
  return {
    dlqTopic: config.dlq.topic,
    dlqBrokers: config.dlq.brokers.length > 0 ? config.dlq.brokers : sourceBrokers,
    sourceBrokers,
    clientId: config.kafka.clientId,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
  };
}

export interface ConnectionFlags {
  topic?: string;
  brokers?: string[];
  targetBrokers?: string[];
}

export interface Connection {
  dlqTopic: string;
  dlqBrokers: string[];
  /** Brokers of the topics a replay writes to. */
  targetBrokers: string[];
}

/** Flags win over settings; `--brokers` names the one cluster of both sides unless `--target-brokers` splits them. */
export function resolveConnection(settings: CliSettings, flags: ConnectionFlags): Connection {
  return {
    dlqTopic: flags.topic ?? settings.dlqTopic,
    dlqBrokers: flags.brokers ?? settings.dlqBrokers,
    targetBrokers: flags.targetBrokers ?? flags.brokers ?? settings.sourceBrokers,
  };
}
