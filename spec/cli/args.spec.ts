import { expect } from 'chai';
import {
  DEFAULT_REPLAY_GROUP,
  INSPECT_USAGE,
  MAIN_USAGE,
  parseCommand,
  REPLAY_USAGE,
  type InspectOptions,
  type ReplayOptions,
} from '../../lib/cli/args.js';
import { UsageError } from '../../lib/cli/errors.js';

function inspectOptions(...args: string[]): InspectOptions {
  const command = parseCommand(['dlq', 'inspect', ...args]);
  if (command.kind !== 'inspect') throw new Error(`parsed as ${command.kind}`);
  return command.options;
}

function replayOptions(...args: string[]): ReplayOptions {
  const command = parseCommand(['dlq', 'replay', ...args]);
  if (command.kind !== 'replay') throw new Error(`parsed as ${command.kind}`);
  return command.options;
}

function usageError(argv: string[]): UsageError {
  try {
    parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
}

describe('parseCommand', () => {
  describe('commands and help', () => {
    it('asks for a command, naming an unknown one, with the main usage', () => {
      expect(usageError([]).message).to.equal('a command is required');
      expect(usageError(['replay']).message).to.equal('unknown command "replay"');
      expect(usageError(['dlq']).message).to.equal('a dlq command is required (inspect or replay)');
      const unknown = usageError(['dlq', 'purge']);
      expect(unknown.message).to.equal('unknown dlq command "purge"');
      expect(unknown.usage).to.equal(MAIN_USAGE);
    });

    it('gives the usage of the level asked', () => {
      expect(parseCommand(['--help'])).to.deep.equal({ kind: 'help', text: MAIN_USAGE });
      expect(parseCommand(['dlq', '-h'])).to.deep.equal({ kind: 'help', text: MAIN_USAGE });
      expect(parseCommand(['dlq', 'inspect', '--help'])).to.deep.equal({ kind: 'help', text: INSPECT_USAGE });
      expect(parseCommand(['dlq', 'replay', '-h', '--code', 'NOPE'])).to.deep.equal({
        kind: 'help',
        text: REPLAY_USAGE,
      });
    });

    it('documents every flag it accepts', () => {
      for (const flag of ['--json', '--samples', '--bucket', '--topic', '--brokers', '--verbose']) {
        expect(INSPECT_USAGE).to.include(flag);
      }
      for (const flag of [
        '--code',
        '--stage',
        '--original-topic',
        '--since',
        '--until',
        '--partition',
        '--from-offset',
        '--to-offset',
        '--to ',
        '--target-brokers',
        '--dry-run',
        '--rate',
        '--limit',
        '--group',
        '--json',
        '--topic',
        '--brokers',
      ]) {
        expect(REPLAY_USAGE).to.include(flag);
      }
    });
  });

  describe('inspect', () => {
    it('has defaults that leave the connection to the settings', () => {
      expect(inspectOptions()).to.deep.equal({ json: false, samples: 5, bucket: 'hour', verbose: false });
    });

    it('reads every option', () => {
      expect(
        inspectOptions(
          '--json',
          '--samples',
          '0',
          '--bucket',
          'day',
          '--topic',
          'orders-dlq',
          '--brokers',
          'k1:9092, k2:9093',
          '--verbose',
        ),
      ).to.deep.equal({
        json: true,
        samples: 0,
        bucket: 'day',
        verbose: true,
        topic: 'orders-dlq',
        brokers: ['k1:9092', 'k2:9093'],
      });
    });

    it('rejects what it does not understand, with its own usage', () => {
      const cases: Array<[string[], RegExp]> = [
        [['--samples', '101'], /^--samples must be an integer from 0 to 100 \(got "101"\)$/],
        [['--samples', '-1'], /argument is ambiguous/],
        [['--samples', '2x'], /--samples must be an integer/],
        [['--bucket', 'week'], /^--bucket must be one of hour, day \(got "week"\)$/],
        [['--topic', 'a/b'], /^--topic must be a Kafka topic name/],
        [['--topic', '..'], /^--topic must be a Kafka topic name/],
        [['--brokers', 'localhost'], /^--brokers must be a comma-separated list of host:port/],
        [['--brokers', 'h:99999'], /^--brokers must be/],
        [['--nope'], /^Unknown option '--nope'$/],
        [['extra'], /^Unexpected argument 'extra'/],
        [['--json=yes'], /does not take an argument/],
        [['--topic'], /argument missing/],
      ];
      for (const [args, message] of cases) {
        const error = usageError(['dlq', 'inspect', ...args]);
        expect(error.message, args.join(' ')).to.match(message);
        expect(error.usage).to.equal(INSPECT_USAGE);
      }
    });
  });

  describe('replay', () => {
    it('selects everything by default, into the default group', () => {
      expect(replayOptions()).to.deep.equal({
        selection: { codes: [], stages: [], originalTopics: [] },
        dryRun: false,
        group: DEFAULT_REPLAY_GROUP,
        json: false,
        verbose: false,
      });
      expect(DEFAULT_REPLAY_GROUP).to.equal('myeventstream-dlq-replay');
    });

    it('reads every filter and option', () => {
      const options = replayOptions(
        '--code',
        'INVALID_JSON',
        '--code',
        'EMPTY_VALUE,INVALID_JSON',
        '--stage',
        'decode',
        '--original-topic',
        'orders',
        '--since',
        '2026-11-26T17:00:00Z',
        '--until',
        '2026-11-26T19:30:00.5+01:00',
        '--partition',
        '3',
        '--from-offset',
        '100',
        '--to-offset',
        '9223372036854775807',
        '--skip-replayed',
        '--to',
        'orders-retry',
        '--target-brokers',
        'src:9092',
        '--dry-run',
        '--rate',
        '2.5/s',
        '--limit',
        '10',
        '--group',
        'ops-replay',
        '--json',
        '--topic',
        'orders-dlq',
        '--brokers',
        'dlq:9092',
      );
      expect(options).to.deep.equal({
        selection: {
          codes: ['INVALID_JSON', 'EMPTY_VALUE'],
          stages: ['decode'],
          originalTopics: ['orders'],
          since: new Date('2026-11-26T17:00:00.000Z'),
          until: new Date('2026-11-26T18:30:00.500Z'),
          partition: 3,
          fromOffset: 100n,
          toOffset: 9223372036854775807n,
          replayed: 'skip',
        },
        to: 'orders-retry',
        targetBrokers: ['src:9092'],
        dryRun: true,
        rate: 2.5,
        limit: 10,
        group: 'ops-replay',
        json: true,
        verbose: false,
        topic: 'orders-dlq',
        brokers: ['dlq:9092'],
      });
    });

    it('takes only, or leaves out, letters an earlier replay sent back', () => {
      expect(replayOptions('--only-replayed').selection.replayed).to.equal('only');
      expect(replayOptions('--skip-replayed').selection.replayed).to.equal('skip');
      expect(replayOptions().selection).to.not.have.property('replayed');
    });

    it('takes a rate with or without "/s"', () => {
      expect(replayOptions('--rate', '50').rate).to.equal(50);
      expect(replayOptions('--rate', '50/s').rate).to.equal(50);
      expect(replayOptions('--rate', '0.5').rate).to.equal(0.5);
    });

    it('rejects bad filters before touching a broker, with its own usage', () => {
      const cases: Array<[string[], RegExp]> = [
        [['--code', 'INVALID_JSN'], /^--code must be one of EMPTY_VALUE, .* \(got "INVALID_JSN"\)$/],
        [['--code', 'invalid_json'], /^--code must be one of/],
        [['--stage', 'output'], /^--stage must be one of decode, validate, process \(got "output"\)$/],
        [['--original-topic', 'a b'], /^--original-topic must be a Kafka topic name/],
        [['--since', 'yesterday'], /^--since must be an ISO 8601 date and time with a zone/],
        [['--since', '2026-11-26'], /^--since must be an ISO 8601/],
        [['--since', '2026-11-26T17:00:00'], /^--since must be an ISO 8601/],
        [['--until', '2026-13-45T99:00:00Z'], /^--until must be an ISO 8601/],
        [
          ['--since', '2026-01-02T00:00:00Z', '--until', '2026-01-01T00:00:00Z'],
          /^--since must be before --until$/,
        ],
        [
          ['--since', '2026-01-01T00:00:00Z', '--until', '2026-01-01T00:00:00Z'],
          /^--since must be before --until$/,
        ],
        [['--partition', 'one'], /^--partition must be an integer from 0/],
        [['--from-offset', '1e3'], /^--from-offset must be an offset/],
        [['--to-offset', '9223372036854775808'], /^--to-offset must be an offset/],
        [['--from-offset', '10', '--to-offset', '9'], /^--from-offset must not be greater than --to-offset$/],
        [['--skip-replayed', '--only-replayed'], /^--skip-replayed and --only-replayed exclude each other$/],
        [['--rate', '0'], /^--rate must be a number of messages per second above 0/],
        [['--rate', '5/m'], /^--rate must be/],
        [['--limit', '0'], /^--limit must be an integer at least 1 \(got "0"\)$/],
        [['--limit', '1.5'], /^--limit must be an integer/],
        [['--group', ' '], /^--group must not be empty$/],
        [['--to', ''], /^--to must be a Kafka topic name/],
        [['--target-brokers', 'x'], /^--target-brokers must be a comma-separated list of host:port/],
        [['--to', '--dry-run'], /argument is ambiguous/],
        [['--dry-run=false'], /does not take an argument/],
      ];
      for (const [args, message] of cases) {
        const error = usageError(['dlq', 'replay', ...args]);
        expect(error.message, args.join(' ')).to.match(message);
        expect(error.usage).to.equal(REPLAY_USAGE);
      }
    });
  });
});
