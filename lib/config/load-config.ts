import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type Schema as JsonSchema } from 'ajv';
import convict from 'convict';
import dotenv from 'dotenv';
import { errorMessage } from '../core/errors.js';
import { projectRoot } from '../project-root.js';
import { ConfigError } from './config-error.js';
import {
  configSchema,
  SASL_MECHANISMS,
  settingsOf,
  splitBrokers,
  SETTINGS,
  type RawConfig,
  type Setting,
} from './schema.js';
import { tlsOptions } from './tls-files.js';

/** The validated configuration, brokers split and paths resolved. */
export interface Config {
  serviceName: string;
  broker: RawConfig['broker'];
  /** Used with BROKER=nats only; checked further in lib/nats/nats-settings.ts. */
  nats: RawConfig['nats'];
  /**
   * `ssl` and `sasl` apply to every Kafka client, the DLQ_BROKERS one included. The PEM paths
   * of `ssl` are absolute (empty when unset) and point to files that were checked at load.
   */
  kafka: Omit<RawConfig['kafka'], 'brokers'> & {
    /** Empty: start the local broker. */
    brokers: string[];
  };
  dlq: {
    topic: string;
    /** KAFKA_BROKERS' list when DLQ_BROKERS is empty. */
    brokers: string[];
  };
  /** An empty topic writes no output. */
  output: RawConfig['output'];
  pipeline: {
    workerPoolSize: number;
    queueBufferSize: number;
    /** Absolute path of the event JSON Schema. */
    schemaPath: string;
    schema: JsonSchema;
    /** Absolute path of the user pipeline module; empty for the default pipeline. */
    module: string;
    order: RawConfig['pipeline']['order'];
  };
  retry: RawConfig['retry'];
  http: RawConfig['http'];
  readiness: RawConfig['readiness'];
  log: RawConfig['log'];
  shutdown: RawConfig['shutdown'];
  commit: RawConfig['commit'];
}

export interface LoadConfigOptions {
  /** Defaults to `.env` at the project root; a missing file is skipped. */
  dotenvPath?: string;
  /** Folder of the `<NODE_ENV>.json` files; defaults to `config/` at the project root. */
  configDir?: string;
}

type Vars = Record<string, string>;
interface EnvFile {
  path: string;
  values: object;
}

/** Reads and checks the configuration; throws a one-line ConfigError on any wrong value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const root = projectRoot();
  const vars = withDotenv(env, options.dotenvPath ?? join(root, '.env'));
  rejectBlanks(vars);
  const file = envFile(vars.NODE_ENV, options.configDir ?? join(root, 'config'));
  const raw = validated(vars, file);
  if (raw.retry.maxDelayMs < raw.retry.baseDelayMs) {
    const { maxDelayMs, baseDelayMs } = raw.retry;
    throw new ConfigError(
      `RETRY_MAX_DELAY_MS must be at least RETRY_BASE_DELAY_MS (got ${maxDelayMs}, base delay ${baseDelayMs})`,
    );
  }
  checkSasl(raw.kafka.sasl);
  const ssl = sslFiles(raw.kafka.ssl);
  // Reads the PEM files once, so one that holds no certificate or key stops start-up here.
  if (ssl.enabled) tlsOptions(ssl);
  const brokers = splitBrokers(raw.kafka.brokers) ?? [];
  const schemaPath =
    raw.pipeline.schemaPath === ''
      ? join(root, 'config', 'schemas', 'event.schema.json')
      : resolve(raw.pipeline.schemaPath);
  return {
    ...raw,
    kafka: { ...raw.kafka, brokers, ssl },
    dlq: {
      ...raw.dlq,
      brokers: raw.dlq.brokers === '' ? [...brokers] : (splitBrokers(raw.dlq.brokers) ?? []),
    },
    pipeline: {
      ...raw.pipeline,
      schemaPath,
      schema: readEventSchema(schemaPath),
      module: raw.pipeline.module === '' ? '' : requireFile('PIPELINE', resolve(raw.pipeline.module)),
    },
  };
}

/** A mechanism needs a user name and a password; credentials without a mechanism are a mistake. */
function checkSasl({ mechanism, username, password }: RawConfig['kafka']['sasl']): void {
  if (mechanism === '') {
    const given = [
      ...(username !== '' ? ['KAFKA_SASL_USERNAME'] : []),
      ...(password !== '' ? ['KAFKA_SASL_PASSWORD'] : []),
    ];
    if (given.length > 0) {
      throw new ConfigError(
        `KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(', ')} when ${given.join(' or ')} is set`,
      );
    }
    return;
  }
  if (username.trim() === '') {
    throw new ConfigError(`KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  }
  if (password === '') {
    throw new ConfigError(`KAFKA_SASL_PASSWORD is required with KAFKA_SASL_MECHANISM=${mechanism}`);
  }
}

/** The PEM paths resolved from the working directory; each set one must be a file. */
function sslFiles(ssl: RawConfig['kafka']['ssl']): RawConfig['kafka']['ssl'] {
  const files = { KAFKA_SSL_CA: ssl.ca, KAFKA_SSL_CERT: ssl.cert, KAFKA_SSL_KEY: ssl.key };
  for (const [env, path] of Object.entries(files)) {
    if (path !== '' && !ssl.enabled) throw new ConfigError(`KAFKA_SSL must be true when ${env} is set`);
  }
  if (ssl.cert !== '' && ssl.key === '')
    throw new ConfigError('KAFKA_SSL_KEY must be set with KAFKA_SSL_CERT');
  if (ssl.key !== '' && ssl.cert === '')
    throw new ConfigError('KAFKA_SSL_CERT must be set with KAFKA_SSL_KEY');
  const resolved = (env: string, path: string) => (path === '' ? '' : requireFile(env, resolve(path)));
  return {
    ...ssl,
    ca: resolved('KAFKA_SSL_CA', ssl.ca),
    cert: resolved('KAFKA_SSL_CERT', ssl.cert),
    key: resolved('KAFKA_SSL_KEY', ssl.key),
  };
}

/** Env name → value for the start-up log line, sensitive values redacted. */
export function describeConfig(
  config: Config,
  schema: object = configSchema,
): Record<string, string | number | boolean> {
  const described: Record<string, string | number | boolean> = {};
  for (const [key, setting] of settingsOf(schema)) {
    described[setting.env] = setting.sensitive === true ? '[redacted]' : shown(valueAt(config, key));
  }
  return described;
}

/** Lists as the variable spells them, so the log line can be pasted back into an env file. */
function shown(value: unknown): string | number | boolean {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'number' || typeof value === 'boolean' ? value : String(value);
}

function withDotenv(env: NodeJS.ProcessEnv, dotenvPath: string): Vars {
  const vars: Vars = isFile(dotenvPath) ? dotenv.parse(readText(dotenvPath, '.env file')) : {};
  // The real environment wins over .env, as with dotenv's own config().
  for (const [name, value] of Object.entries(env)) if (value !== undefined) vars[name] = value;
  return vars;
}

function rejectBlanks(vars: Vars): void {
  for (const setting of SETTINGS.values()) {
    const value = vars[setting.env];
    if (setting.blankIsError === true && value !== undefined && value.trim() === '') {
      throw ConfigError.invalid(setting, JSON.stringify(value));
    }
  }
}

function envFile(nodeEnv: string | undefined, dir: string): EnvFile | undefined {
  // Only a plain name, so NODE_ENV cannot reach outside the folder.
  if (nodeEnv === undefined || !/^[\w-]+$/.test(nodeEnv)) return undefined;
  const path = join(dir, `${nodeEnv}.json`);
  if (!isFile(path)) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(readText(path, 'NODE_ENV config file'));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // JSON.parse quotes the text, which may hold secrets: keep the position only.
    const at = /at position \d+/.exec(errorMessage(error));
    throw new ConfigError(`${path} is not valid JSON${at ? ` (${at[0]})` : ''}`, { setting: 'NODE_ENV' });
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new ConfigError(`${path} must hold a JSON object`, { setting: 'NODE_ENV' });
  }
  return { path, values };
}

function validated(vars: Vars, file: EnvFile | undefined): RawConfig {
  const config = convict(configSchema, { env: vars, args: [] });
  try {
    if (file) config.load(file.values);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    // Convict writes a line per problem, naming keys; say it with env names instead.
    const lines = errorMessage(error).split('\n');
    throw new ConfigError(lines.map((line) => explain(line, vars, file)).join('; '));
  }
  return config.getProperties();
}

function explain(line: string, vars: Vars, file: EnvFile | undefined): string {
  const source = file?.path ?? 'configuration';
  const key = /^([\w.]+): /.exec(line)?.[1];
  const setting = key === undefined ? undefined : SETTINGS.get(key);
  if (key !== undefined && setting !== undefined) {
    return ConfigError.invalid(setting, shownValue(setting, key, vars, file)).message;
  }
  const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line)?.[1];
  if (undeclared !== undefined) return `${source}: unknown setting "${undeclared}"`;
  // The remaining convict messages name keys, never values.
  return `${source}: ${line}`;
}

function shownValue(setting: Setting, key: string, vars: Vars, file: EnvFile | undefined): string {
  const fromEnv = vars[setting.env];
  if (fromEnv !== undefined) return JSON.stringify(fromEnv);
  return `${JSON.stringify(valueAt(file?.values, key))} in ${file?.path ?? 'the defaults'}`;
}

function readEventSchema(path: string): JsonSchema {
  const text = readText(requireFile('EVENT_SCHEMA', path), 'EVENT_SCHEMA');
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`EVENT_SCHEMA is not valid JSON: ${path} (${errorMessage(error)})`);
  }
  try {
    if (
      typeof schema !== 'boolean' &&
      (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    ) {
      throw new Error('schema must be an object or a boolean');
    }
    schemaChecker().compile(schema);
  } catch (error) {
    throw new ConfigError(`EVENT_SCHEMA is not a valid JSON Schema: ${errorMessage(error)} (${path})`);
  } finally {
    // Forget the schema, so the next load may compile another with the same $id.
    schemaChecker().removeSchema();
  }
  return schema;
}

let checker: Ajv | undefined;

/** One Ajv for all loads: building one compiles the meta-schema, tens of milliseconds. */
function schemaChecker(): Ajv {
  // Strict keywords catch typos such as "requried"; formats are the validator's business.
  checker ??= new Ajv({ validateFormats: false, logger: false });
  return checker;
}

function requireFile(envName: string, path: string): string {
  if (!isFile(path)) throw new ConfigError(`${envName} file not found: ${path}`);
  return path;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function readText(path: string, name: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name} cannot be read: ${errorMessage(error)}`);
  }
}

function valueAt(tree: unknown, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((node, name) => (node as Record<string, unknown> | undefined)?.[name], tree);
}
