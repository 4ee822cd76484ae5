import { logLevel, type logCreator, type LogEntry } from 'kafkajs';
import type { Logger } from 'winston';

type Level = 'error' | 'warn' | 'info' | 'debug';

const LEVELS: Record<number, Level> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** How a broker answer kafkajs logs at error is logged instead; `requests` limits it to those. */
export interface ExpectedAnswer {
  type: string;
  level: Level;
  /** The requests (kafkajs's API names, e.g. `Metadata`) whose answer this is; absent: any. */
  requests?: readonly string[];
}

/**
 * Broker answers kafkajs logs at error (`Response GroupCoordinator(...)` with the answer in
 * `error`) although they are part of a normal start or rebalance, or say what the service
 * reports itself, and kafkajs retries them itself: a new broker has no group coordinator until
 * its offsets topic exists, a group answers REBALANCE_IN_PROGRESS while members join, a new
 * topic has no leader for a moment. Should the retries run out, the failure reaches the
 * service, which reports it as an error. Keyed by kafkajs's wording of the answer (its
 * protocol error table), the only thing the log entry carries besides the request.
 */
export const EXPECTED_BROKER_ANSWERS: Readonly<Record<string, ExpectedAnswer>> = {
  // Group coordination: routine, kept out of the way.
  'The group coordinator is not available': { type: 'GROUP_COORDINATOR_NOT_AVAILABLE', level: 'debug' },
  'This is not the correct coordinator for this group': { type: 'NOT_COORDINATOR_FOR_GROUP', level: 'debug' },
  "The coordinator is loading and hence can't process requests for this group": {
    type: 'GROUP_LOAD_IN_PROGRESS',
    level: 'debug',
  },
  'The group is rebalancing, so a rejoin is needed': { type: 'REBALANCE_IN_PROGRESS', level: 'debug' },
  'The group member needs to have a valid member id before actually entering a consumer group': {
    type: 'MEMBER_ID_REQUIRED',
    level: 'debug',
  },
  // Partition leadership: seen when a leader moves, which an operator may want to know about.
  'There is no leader for this topic-partition as we are in the middle of a leadership election': {
    type: 'LEADER_NOT_AVAILABLE',
    level: 'warn',
  },
  'This server is not the leader for that topic-partition': {
    type: 'NOT_LEADER_FOR_PARTITION',
    level: 'warn',
  },
  // A topic that does not exist, asked for in a metadata request: kafkajs's line names no topic
  // and comes again with every retry (about one a second while events are routed to it). The
  // service names the topic itself, once: a topic the pipeline writes to at its first write
  // (output-topics.ts), the topics it reads and dead-letters to at start-up. The same answer to
  // a Produce request says a topic went away after it was found, and stays an error.
  'This server does not host this topic-partition': {
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    level: 'debug',
    requests: ['Metadata'],
  },
};

const RESPONSE = /^Response (\w+)\(/;

/** The level a kafkajs log entry gets in the service's logs. */
export function serviceLevel({ level, log }: Pick<LogEntry, 'level' | 'log'>): Level {
  const mapped = LEVELS[level] ?? 'info';
  const request = mapped === 'error' ? RESPONSE.exec(String(log.message))?.[1] : undefined;
  if (request === undefined) return mapped;
  const answer = (log as { error?: unknown }).error;
  const expected =
    typeof answer === 'string' && Object.hasOwn(EXPECTED_BROKER_ANSWERS, answer)
      ? EXPECTED_BROKER_ANSWERS[answer]
      : undefined;
  if (!expected || (expected.requests && !expected.requests.includes(request))) return mapped;
  return expected.level;
}

/** Routes kafkajs's own log lines into the service's JSON logs, namespaced as kafkajs. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () => (entry) => {
    const { message, timestamp: _timestamp, logger: _name, ...fields } = entry.log;
    logger.log(serviceLevel(entry), String(message), { component: `kafkajs.${entry.namespace}`, ...fields });
  };
}

/** Every kafkajs line at debug: for a client whose failures the service reports itself. */
export function kafkaLogCreatorAtDebug(logger: Logger): logCreator {
  return () => (entry) => {
    const { message, timestamp: _timestamp, logger: _name, ...fields } = entry.log;
    logger.debug(String(message), { component: `kafkajs.${entry.namespace}`, ...fields });
  };
}

/** kafkajs is chatty at info (every join, every connection); keep it one level quieter. */
export function kafkaLogLevel(level: string): logLevel {
  return level === 'debug' ? logLevel.INFO : logLevel.WARN;
}
