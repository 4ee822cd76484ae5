import type { Writable } from 'node:stream';
import winston from 'winston';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';

export interface LoggerOptions {
  level: LogLevel;
  serviceName: string;
  /** Replaces stdout, so tests can read the lines. */
  stream?: Writable;
}

/**
 * Errors keep `message` and `stack` on non-enumerable properties, so plain JSON turns them
 * into `{}`. Spell them out, with own fields such as `code` and `stage`, and the cause chain
 * (the replacer runs again on it).
 */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (!(value instanceof Error)) return value;
  const cause = (value as { cause?: unknown }).cause;
  return {
    ...value,
    name: value.name,
    message: value.message,
    stack: value.stack,
    ...(cause === undefined ? {} : { cause }),
  };
}

// Readers scan the first columns; winston builds the entry with the context fields first.
// Rest spread keeps winston's symbol keys (level, splat), which transports rely on.
const leadingFields = winston.format((info) => {
  const { timestamp, level, message, service, ...rest } = info;
  return { timestamp, level, message, service, ...rest };
});

const lineFormat = winston.format.combine(
  winston.format.timestamp(),
  // `logger.error(err)` hands the Error itself in as the log entry.
  winston.format.errors({ stack: true }),
  leadingFields(),
  // An error cause chain can loop; cap the depth rather than recurse forever.
  winston.format.json({ replacer, maximumDepth: 8, deterministic: false }),
);

/** JSON lines: timestamp, level, message, service, then the context fields of the call. */
export function createLogger(options: LoggerOptions): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({
    level: options.level,
    defaultMeta: { service: options.serviceName },
    format: lineFormat,
    transports: [transport],
  });
}

/**
 * One line as a logger of `serviceName` writes it, without a logger: for what must be said
 * before one exists (a wrong setting) or written synchronously just before the process exits.
 */
export function formatLogLine(
  serviceName: string,
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> = {},
): string {
  const entry = lineFormat.transform({ ...fields, level, message, service: serviceName });
  return `${String((entry as Record<symbol, unknown>)[Symbol.for('message')])}\n`;
}
