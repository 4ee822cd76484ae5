import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'winston';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs's own log lines into the service's JSON logs, namespaced as kafkajs. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      logger.log(LEVELS[level] ?? 'info', String(message), { component: `kafkajs.${namespace}`, ...fields });
    };
}

/** kafkajs is chatty at info (every join, every connection); keep it one level quieter. */
export function kafkaLogLevel(level: string): logLevel {
  return level === 'debug' ? logLevel.INFO : logLevel.WARN;
}
