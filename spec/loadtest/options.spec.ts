import { expect } from 'chai';
import { parseLoadTestArgs, plannedCount, UsageError } from '../../loadtest/options.js';

const parse = (args: string[], env: Record<string, string> = {}) => parseLoadTestArgs(args, env, () => 7);

describe('loadtest options', () => {
  it('takes the service settings from the environment, flags winning', () => {
    const options = parse(['--count', '10'], {
      KAFKA_BROKERS: 'a:1,b:2',
      KAFKA_TOPIC: 'orders',
      OUTPUT_TOPIC: 'orders-out',
      DLQ_TOPIC: 'orders-dlq',
    });
    expect(options).to.include({
      topic: 'orders',
      outputTopic: 'orders-out',
      dlqTopic: 'orders-dlq',
      count: 10,
      seed: 7,
    });
    expect(options !== 'help' && options.brokers).to.deep.equal(['a:1', 'b:2']);
    expect(
      parse(['--count', '1', '--topic', 't', '--brokers', 'c:3', '--dlq-topic', 'none'], {
        KAFKA_TOPIC: 'x',
      }),
    ).to.include({
      topic: 't',
      dlqTopic: undefined,
    });
  });

  it('defaults like the service: events, myeventstream-dlq, no output topic, 127.0.0.1:9092', () => {
    const options = parse(['--rate', '100', '--duration', '5']);
    expect(options).to.include({
      topic: 'events',
      dlqTopic: 'myeventstream-dlq',
      outputTopic: undefined,
      malformed: 0,
      warmupSeconds: 0,
    });
    expect(options !== 'help' && options.keys).to.deep.equal({ kind: 'none' });
  });

  it('parses the load shape', () => {
    const options = parse([
      '--rate=2_000',
      '--duration',
      '30',
      '--size',
      '1024',
      '--keys',
      'zipf:1000:1.1',
      '--malformed',
      '0.01',
      '--failing',
      '0.05',
      '--fail-attempts',
      '2',
      '--metrics',
      'http://127.0.0.1:8080/metrics',
      '--seed',
      '42',
      '--warmup',
      '5',
    ]);
    expect(options).to.include({
      rate: 2000,
      durationSeconds: 30,
      size: 1024,
      malformed: 0.01,
      failing: 0.05,
      failAttempts: 2,
      seed: 42,
      warmupSeconds: 5,
    });
    expect(options !== 'help' && options.keys).to.deep.equal({ kind: 'zipf', n: 1000, s: 1.1 });
  });

  it('refuses a run without an amount, bad numbers, shares above 1 and unknown flags', () => {
    expect(() => parse([])).to.throw(UsageError, /--count N, or --rate R --duration S/);
    expect(() => parse(['--count', '1.5'])).to.throw(UsageError, /--count must be an integer/);
    expect(() => parse(['--count', '0'])).to.throw(UsageError, /--count must be at least 1/);
    expect(() => parse(['--rate', '0', '--duration', '1'])).to.throw(UsageError, /--rate must be above 0/);
    expect(() => parse(['--count', '1', '--malformed', '2'])).to.throw(UsageError, /from 0 to 1/);
    expect(() => parse(['--count', '1', '--malformed', '0.6', '--failing', '0.6'])).to.throw(
      UsageError,
      /more than 1/,
    );
    expect(() => parse(['--count', '1', '--keys', 'zipf:1'])).to.throw(UsageError, /--keys must be/);
    expect(() => parse(['--count', '1', '--bogus'])).to.throw(UsageError);
    expect(() => parse(['--count', '1', '--warmup=-1'])).to.throw(UsageError, /--warmup must be at least 0/);
    expect(parse(['--help'])).to.equal('help');
  });

  it('plans R × S events, or --count, whichever is smaller', () => {
    expect(plannedCount({ count: undefined, rate: 100, durationSeconds: 2.5 })).to.equal(250);
    expect(plannedCount({ count: 10, rate: 100, durationSeconds: 2.5 })).to.equal(10);
    expect(plannedCount({ count: 10, rate: undefined, durationSeconds: undefined })).to.equal(10);
    expect(plannedCount({ count: undefined, rate: undefined, durationSeconds: 5 })).to.equal(undefined);
  });
});
