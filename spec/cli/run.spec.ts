import { expect } from 'chai';
import { INSPECT_USAGE, MAIN_USAGE, REPLAY_USAGE } from '../../lib/cli/args.js';
import { runCli } from '../../lib/cli/run.js';

/** runCli with its output captured; these paths stop before any connection. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: { out: async (text) => void out.push(text), err: (text) => void err.push(text) },
    env,
    signal: new AbortController().signal,
  });
  return { code, out: out.join(''), err: err.join('') };
}

describe('runCli', () => {
  it('prints help on stdout and exits 0', async () => {
    expect(await run(['--help'])).to.deep.equal({ code: 0, out: MAIN_USAGE, err: '' });
    expect(await run(['dlq', 'replay', '--help'])).to.deep.equal({ code: 0, out: REPLAY_USAGE, err: '' });
  });

  it('prints a bad flag and the usage on stderr and exits 2', async () => {
    expect(await run(['dlq', 'inspect', '--bucket', 'week'])).to.deep.equal({
      code: 2,
      out: '',
      err: `myeventstream: --bucket must be one of hour, day (got "week")\n\n${INSPECT_USAGE}`,
    });
    expect((await run([])).err).to.equal(`myeventstream: a command is required\n\n${MAIN_USAGE}`);
  });

  it('reports a bad setting as the service does and exits 2', async () => {
    const result = await run(['dlq', 'inspect'], { DLQ_TOPIC: 'no spaces allowed' });
    expect(result.code).to.equal(2);
    expect(result.out).to.equal('');
    expect(result.err).to.match(/^Invalid configuration: DLQ_TOPIC must be a Kafka topic name .*\n$/);
  });

  it('refuses Kafka broker flags with BROKER=nats and exits 2, before any connection', async () => {
    const env = { BROKER: 'nats', NATS_URL: 'nats://127.0.0.1:1' };
    expect(await run(['dlq', 'replay', '--brokers', '127.0.0.1:9092'], env)).to.deep.equal({
      code: 2,
      out: '',
      err: 'myeventstream: --brokers does not apply with BROKER=nats; set NATS_URL\n',
    });
    const target = await run(['dlq', 'replay', '--target-brokers', '127.0.0.1:9092'], env);
    expect([target.code, target.err]).to.deep.equal([
      2,
      'myeventstream: --target-brokers does not apply with BROKER=nats; set NATS_URL\n',
    ]);
  });
});
