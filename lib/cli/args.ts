import { parseArgs, type ParseArgsConfig } from 'node:util';
import { splitBrokers } from '../config/schema.js';
import { ERROR_CODES, STAGES } from '../core/errors.js';
import { UsageError } from './errors.js';
import type { Selection } from './selection.js';
import type { ConnectionFlags } from './settings.js';
import { TIME_BUCKETS, type TimeBucket } from './summary.js';

export const DEFAULT_REPLAY_GROUP = 'myeventstream-dlq-replay';
export const DEFAULT_SAMPLES = 5;

export interface InspectOptions extends ConnectionFlags {
  json: boolean;
  samples: number;
  bucket: TimeBucket;
  verbose: boolean;
}

export interface ReplayOptions extends ConnectionFlags {
  selection: Selection;
  /** Publish every selected letter here instead of its original topic. */
  to?: string;
  dryRun: boolean;
  /** Messages per second. */
  rate?: number;
  limit?: number;
  group: string;
  json: boolean;
  verbose: boolean;
}

export type Command =
  | { kind: 'help'; text: string }
  | { kind: 'inspect'; options: InspectOptions }
  | { kind: 'replay'; options: ReplayOptions };

export const MAIN_USAGE = `Usage: myeventstream dlq <command> [options]

Tools for the dead-letter topic the service writes.

Commands:
  inspect   Read the whole dead-letter topic and summarise it (reads only, commits nothing)
  replay    Re-publish selected dead letters to their original topic (or --to)

Run "myeventstream dlq <command> --help" for the options of a command.

Defaults come from the service's settings (environment, .env, config/<NODE_ENV>.json):
  topic    DLQ_TOPIC (default myeventstream-dlq)
  brokers  DLQ_BROKERS, else KAFKA_BROKERS, else the local broker at 127.0.0.1:9092

Exit status: 0 done; 1 failure (broker unreachable, topic missing, write refused);
2 bad usage or configuration; 130 / 143 stopped by SIGINT / SIGTERM.
`;

const CONNECTION_HELP = `Connection:
  --topic T             dead-letter topic (default: DLQ_TOPIC, else myeventstream-dlq)
  --brokers B           brokers host:port[,host:port...] (default: DLQ_BROKERS, else
                        KAFKA_BROKERS, else 127.0.0.1:9092)
  --verbose             print the Kafka client's warnings and errors to stderr
  -h, --help            show this help`;

export const INSPECT_USAGE = `Usage: myeventstream dlq inspect [options]

Reads the dead-letter topic from its first offsets up to the end offsets taken at start, with
a throw-away consumer group that commits nothing, and summarises it by error code, stage,
original topic and time (the timestamp header), with a few samples. Keys and values are shown
as escaped text when they are UTF-8, as hex (base64 in JSON) when they are not, and cut short.

Options:
  --json                print the summary as JSON on stdout
  --samples N           sample dead letters to show, 0 to 100 (default ${DEFAULT_SAMPLES})
  --bucket B            time buckets: hour or day (default hour)

${CONNECTION_HELP}
`;

export const REPLAY_USAGE = `Usage: myeventstream dlq replay [options]

Re-publishes the selected dead letters to the topic in their original_topic header (to their
original partition), or to --to. Key and value bytes and the original headers are unchanged;
the dead-letter headers are dropped and replayed_from (<dlq topic>/<partition>/<offset>) and
replayed_at are added. Each write is acknowledged by all in-sync replicas before the letter's
offset is committed to the consumer group, so a rerun with the same selection resumes where
the last run stopped. The run ends at the end offsets taken at start.

With BROKER=nats: the dead letters are read from the stream that takes DLQ_TOPIC (or --topic),
partition 0 with stream sequences as offsets, and published to their original subject (or
--to) with JetStream publish acks awaited; the group is a durable consumer of that stream,
each letter acked once its publish is acknowledged. --brokers and --target-brokers do not
apply (NATS_URL does).

Selection (a letter must match every filter given; repeat a list filter or use commas):
  --code C              error_code header, e.g. INVALID_JSON
  --stage S             error_stage header: ${STAGES.join(', ')}
  --original-topic T    original_topic header
  --since ISO           timestamp header at or after, e.g. 2026-11-26T17:00:00Z
  --until ISO           timestamp header before
  --partition P         original_partition header
  --from-offset N       original_offset header at least N
  --to-offset N         original_offset header at most N
  --skip-replayed       leave out letters carrying replayed_from: messages an earlier replay
                        sent back that failed again (a replay warns when it meets them)
  --only-replayed       take only letters carrying replayed_from

Where and how:
  --to TOPIC            publish every selected letter to TOPIC (partition chosen by key)
  --target-brokers B    brokers of the topics written to (default: --brokers, else
                        KAFKA_BROKERS, else 127.0.0.1:9092)
  --dry-run             list what would be published; publishes and commits nothing (with a
                        group holding another selection's progress: what a group of its own
                        would publish)
  --rate N[/s]          publish at most N messages per second
  --limit N             stop after publishing N messages (a rerun continues after them)
  --group ID            consumer group keeping the progress (default ${DEFAULT_REPLAY_GROUP});
                        it only resumes a replay of the same selection and --to (or of it
                        with --skip-replayed or --only-replayed added)
  --json                print the result (with --dry-run: the list) as JSON on stdout

${CONNECTION_HELP}
`;

/** Kafka's topic name rule, as the configuration checks DLQ_TOPIC. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** Reads `myeventstream <argv>`; throws UsageError on anything it does not understand. */
export function parseCommand(argv: string[]): Command {
  const [first, second, ...rest] = argv;
  if (first === '-h' || first === '--help') return { kind: 'help', text: MAIN_USAGE };
  if (first !== 'dlq') {
    throw new UsageError(
      first === undefined ? 'a command is required' : `unknown command "${first}"`,
      MAIN_USAGE,
    );
  }
  if (second === '-h' || second === '--help') return { kind: 'help', text: MAIN_USAGE };
  if (second === 'inspect') return parseInspect(rest);
  if (second === 'replay') return parseReplay(rest);
  throw new UsageError(
    second === undefined
      ? 'a dlq command is required (inspect or replay)'
      : `unknown dlq command "${second}"`,
    MAIN_USAGE,
  );
}

const CONNECTION_OPTIONS = {
  topic: { type: 'string' },
  brokers: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parseInspect(args: string[]): Command {
  const { values } = parse(args, INSPECT_USAGE, {
    ...CONNECTION_OPTIONS,
    json: { type: 'boolean', default: false },
    samples: { type: 'string' },
    bucket: { type: 'string' },
  });
  if (values.help) return { kind: 'help', text: INSPECT_USAGE };
  const fail = (message: string) => new UsageError(message, INSPECT_USAGE);
  const bucket = values.bucket ?? 'hour';
  if (!(TIME_BUCKETS as readonly string[]).includes(bucket)) {
    throw fail(`--bucket must be one of ${TIME_BUCKETS.join(', ')} (got "${bucket}")`);
  }
  return {
    kind: 'inspect',
    options: {
      ...connection(values, fail),
      json: values.json,
      samples:
        values.samples === undefined ? DEFAULT_SAMPLES : integer('--samples', values.samples, 0, 100, fail),
      bucket: bucket as TimeBucket,
      verbose: values.verbose,
    },
  };
}

function parseReplay(args: string[]): Command {
  const { values } = parse(args, REPLAY_USAGE, {
    ...CONNECTION_OPTIONS,
    'target-brokers': { type: 'string' },
    to: { type: 'string' },
    code: { type: 'string', multiple: true },
    stage: { type: 'string', multiple: true },
    'original-topic': { type: 'string', multiple: true },
    since: { type: 'string' },
    until: { type: 'string' },
    partition: { type: 'string' },
    'from-offset': { type: 'string' },
    'to-offset': { type: 'string' },
    'skip-replayed': { type: 'boolean', default: false },
    'only-replayed': { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    rate: { type: 'string' },
    limit: { type: 'string' },
    group: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (values.help) return { kind: 'help', text: REPLAY_USAGE };
  const fail = (message: string) => new UsageError(message, REPLAY_USAGE);

  const codes = list(values.code);
  const unknownCode = codes.find((code) => !(ERROR_CODES as readonly string[]).includes(code));
  if (unknownCode !== undefined) {
    throw fail(`--code must be one of ${ERROR_CODES.join(', ')} (got "${unknownCode}")`);
  }
  const stages = list(values.stage);
  const unknownStage = stages.find((stage) => !(STAGES as readonly string[]).includes(stage));
  if (unknownStage !== undefined)
    throw fail(`--stage must be one of ${STAGES.join(', ')} (got "${unknownStage}")`);
  const originalTopics = list(values['original-topic']);
  for (const name of originalTopics) topic('--original-topic', name, fail);

  const selection: Selection = { codes, stages, originalTopics };
  if (values.since !== undefined) selection.since = instant('--since', values.since, fail);
  if (values.until !== undefined) selection.until = instant('--until', values.until, fail);
  if (selection.since && selection.until && selection.since >= selection.until) {
    throw fail('--since must be before --until');
  }
  if (values.partition !== undefined) {
    selection.partition = integer('--partition', values.partition, 0, 1_000_000, fail);
  }
  if (values['from-offset'] !== undefined)
    selection.fromOffset = offset('--from-offset', values['from-offset'], fail);
  if (values['to-offset'] !== undefined)
    selection.toOffset = offset('--to-offset', values['to-offset'], fail);
  if (
    selection.fromOffset !== undefined &&
    selection.toOffset !== undefined &&
    selection.fromOffset > selection.toOffset
  ) {
    throw fail('--from-offset must not be greater than --to-offset');
  }
  if (values['skip-replayed'] && values['only-replayed']) {
    throw fail('--skip-replayed and --only-replayed exclude each other');
  }
  if (values['skip-replayed']) selection.replayed = 'skip';
  if (values['only-replayed']) selection.replayed = 'only';

  const options: ReplayOptions = {
    ...connection(values, fail),
    selection,
    dryRun: values['dry-run'],
    group: values.group ?? DEFAULT_REPLAY_GROUP,
    json: values.json,
    verbose: values.verbose,
  };
  if (options.group.trim() === '') throw fail('--group must not be empty');
  if (values['target-brokers'] !== undefined) {
    options.targetBrokers = brokers('--target-brokers', values['target-brokers'], fail);
  }
  if (values.to !== undefined) options.to = topic('--to', values.to, fail);
  if (values.rate !== undefined) options.rate = rate(values.rate, fail);
  if (values.limit !== undefined)
    options.limit = integer('--limit', values.limit, 1, Number.MAX_SAFE_INTEGER, fail);
  return { kind: 'replay', options };
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<T extends Options>(args: string[], usage: string, options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    // node:util explains over several lines; the first says what is wrong.
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    throw new UsageError(message, usage);
  }
}

type Fail = (message: string) => UsageError;

function connection(values: { topic?: string; brokers?: string }, fail: Fail): ConnectionFlags {
  const flags: ConnectionFlags = {};
  if (values.topic !== undefined) flags.topic = topic('--topic', values.topic, fail);
  if (values.brokers !== undefined) flags.brokers = brokers('--brokers', values.brokers, fail);
  return flags;
}

/** Entries of repeated, possibly comma-separated values, without blanks or repeats. */
function list(values: string[] | undefined): string[] {
  const entries = (values ?? []).flatMap((value) => value.split(',')).map((entry) => entry.trim());
  return [...new Set(entries.filter((entry) => entry !== ''))];
}

function topic(flag: string, value: string, fail: Fail): string {
  if (!TOPIC.test(value) || value === '.' || value === '..') {
    throw fail(
      `${flag} must be a Kafka topic name (up to 249 letters, digits, ".", "_" or "-") (got "${value}")`,
    );
  }
  return value;
}

function brokers(flag: string, value: string, fail: Fail): string[] {
  const entries = splitBrokers(value.trim());
  if (entries === undefined || entries.length === 0) {
    throw fail(`${flag} must be a comma-separated list of host:port (got "${value}")`);
  }
  return entries;
}

function integer(flag: string, value: string, min: number, max: number, fail: Fail): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw fail(`${flag} must be an integer ${range} (got "${value}")`);
  }
  return n;
}

function offset(flag: string, value: string, fail: Fail): bigint {
  if (!/^\d{1,19}$/.test(value.trim()) || BigInt(value.trim()) > 9223372036854775807n) {
    throw fail(`${flag} must be an offset, an integer of at least 0 (got "${value}")`);
  }
  return BigInt(value.trim());
}

/** An ISO 8601 date and time with a zone (Z or ±hh:mm), e.g. 2026-11-26T17:00:00Z. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function instant(flag: string, value: string, fail: Fail): Date {
  const date = new Date(value);
  if (!ISO_INSTANT.test(value) || Number.isNaN(date.getTime())) {
    throw fail(
      `${flag} must be an ISO 8601 date and time with a zone, e.g. 2026-11-26T17:00:00Z (got "${value}")`,
    );
  }
  return date;
}

function rate(value: string, fail: Fail): number {
  const match = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(value.trim());
  const n = match ? Number(match[1]) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) {
    throw fail(`--rate must be a number of messages per second above 0, e.g. 50 or 50/s (got "${value}")`);
  }
  return n;
}
