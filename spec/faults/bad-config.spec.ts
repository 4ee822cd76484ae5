import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SETTINGS, type Setting } from '../../lib/config/schema.js';
import { projectRoot } from '../../lib/project-root.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { exitWithin } from './support/service-probe.js';
import { recordScenario } from './support/report.js';

/**
 * Every setting with a wrong value, one process each: the compiled service must exit 2 before
 * it connects anywhere, with one line on stderr (the service's JSON log line at level error)
 * naming the variable and what it accepts.
 * KAFKA_BROKERS points at a TCP listener that only counts connections (except where
 * KAFKA_BROKERS itself is the wrong value). The cases come from the SETTINGS map, by format, so
 * a setting added later is covered (or this spec says it is not).
 */
describe('fault: bad configuration', function () {
  this.timeout(300_000);
  let listener: Server;
  let connections = 0;
  let brokers: string;
  let dir: string;

  before(async () => {
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    brokers = `127.0.0.1:${(listener.address() as { port: number }).port}`;
    dir = mkdtempSync(join(tmpdir(), 'bad-config-'));
  });
  after(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  interface Case {
    name: string;
    /** The variables set on top of a valid configuration. */
    env: Record<string, string>;
    /** Settings (env names) the case gives a wrong value. */
    covers: string[];
    /** What the stderr line must contain or match. */
    says: Array<string | RegExp>;
    /** Text the line must not show (a sensitive value). */
    hides?: string;
    /** Failures found after the logger started (a pipeline that does not load) log "Starting". */
    logsStart?: boolean;
  }

  const MISSING = '/nonexistent/bad-config/file';
  const accepts = (setting: Setting) => `${setting.env} must be ${setting.accepts}`;

  /** Wrong values of a setting, by its format; an unknown format fails the spec. */
  function wrongValues(setting: Setting): string[] {
    const { format } = setting;
    const min = setting.min as number | undefined;
    const max = setting.max as number | undefined;
    if (Array.isArray(format)) return ['verbose-not-a-choice', ''];
    switch (format) {
      case 'strict-int':
        return [
          String(min! - 1),
          ...(max === undefined ? [] : [String(max + 1)]),
          'abc',
          // What convict's own coercion would read as a number; one setting is enough for these.
          ...(setting.env === 'WORKER_POOL_SIZE' ? ['1.5', '12abc', '0x10', '1e3', ''] : []),
        ];
      case 'strict-number':
        return [String(min! - 0.5), 'abc', 'Infinity'];
      case 'strict-boolean':
        return ['yes', '1'];
      case 'non-empty-string':
        return ['', '   '];
      case 'kafka-topic':
        return [
          'bad topic!',
          '..',
          'x'.repeat(250),
          ...((setting as { optional?: boolean }).optional ? [] : ['']),
        ];
      case 'broker-list':
        return [
          'localhost',
          'host:0',
          'host:70000',
          '[::1]:9092',
          'a:1,,b:2',
          ...(setting.blankIsError ? [''] : []),
        ];
      case 'sasl-mechanism':
        return ['gssapi', 'oauthbearer'];
      case 'nats-servers':
        return ['http://host:4222', 'host:70000', 'host:0', 'a,,b', ''];
      case 'nats-name':
        return ['bad name', 'a.b', ''];
      case 'nats-subject':
        return ['a..b', 'a.>.b', 'has space'];
      case 'file-path':
      case 'any-string':
        // Any string is well-formed: the wrong values are in CONTEXT_CASES.
        return [];
      default:
        throw new Error(
          `bad-config spec: no wrong value known for the format of ${setting.env}: ${String(format)}`,
        );
    }
  }

  function generatedCases(): Case[] {
    const cases: Case[] = [];
    for (const setting of SETTINGS.values()) {
      for (const value of wrongValues(setting)) {
        const shown = JSON.stringify(value);
        cases.push({
          name: `${setting.env}=${shown.length > 40 ? `${shown.slice(0, 37)}..."` : shown}`,
          env: { [setting.env]: value },
          covers: [setting.env],
          says: setting.sensitive === true ? [accepts(setting)] : [accepts(setting), `(got ${shown})`],
          ...(setting.sensitive === true && value !== '' ? { hides: value } : {}),
        });
      }
    }
    return cases;
  }

  /** Values wrong because of what they point at, or because of another setting. */
  function contextCases(): Case[] {
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    const notJson = file('not-json.schema.json', '{"type": "object",');
    const badType = file('bad-type.schema.json', '{"type": "banana"}');
    const typo = file('typo.schema.json', '{"type": "object", "requried": ["Id"]}');
    const arraySchema = file('array.schema.json', '[{"type": "object"}]');
    const pem = file('client.pem', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const notAPipeline = join(projectRoot(), 'spec', 'integration', 'fixtures', 'not-a-pipeline.js');
    return [
      {
        name: 'EVENT_SCHEMA missing file',
        env: { EVENT_SCHEMA: MISSING },
        covers: ['EVENT_SCHEMA'],
        says: [`EVENT_SCHEMA file not found: ${MISSING}`],
      },
      {
        name: 'EVENT_SCHEMA not JSON',
        env: { EVENT_SCHEMA: notJson },
        covers: ['EVENT_SCHEMA'],
        says: [/EVENT_SCHEMA is not valid JSON/, notJson],
      },
      {
        name: 'EVENT_SCHEMA with an unknown type',
        env: { EVENT_SCHEMA: badType },
        covers: ['EVENT_SCHEMA'],
        says: [/EVENT_SCHEMA is not a valid JSON Schema/, badType],
      },
      {
        name: 'EVENT_SCHEMA with a misspelt keyword',
        env: { EVENT_SCHEMA: typo },
        covers: ['EVENT_SCHEMA'],
        says: [/EVENT_SCHEMA is not a valid JSON Schema: .*requried/],
      },
      {
        name: 'EVENT_SCHEMA an array',
        env: { EVENT_SCHEMA: arraySchema },
        covers: ['EVENT_SCHEMA'],
        says: [/EVENT_SCHEMA is not a valid JSON Schema: schema must be an object or a boolean/],
      },
      {
        name: 'PIPELINE missing file',
        env: { PIPELINE: MISSING },
        covers: ['PIPELINE'],
        says: [`PIPELINE file not found: ${MISSING}`],
      },
      {
        name: 'PIPELINE a module without a pipeline',
        env: { PIPELINE: notAPipeline },
        covers: ['PIPELINE'],
        says: ['PIPELINE module', notAPipeline, /must export a pipeline made with definePipeline\(\)/],
        logsStart: true,
      },
      {
        name: 'RETRY_MAX_DELAY_MS below RETRY_BASE_DELAY_MS',
        env: { RETRY_BASE_DELAY_MS: '500', RETRY_MAX_DELAY_MS: '100' },
        covers: ['RETRY_MAX_DELAY_MS'],
        says: ['RETRY_MAX_DELAY_MS must be at least RETRY_BASE_DELAY_MS'],
      },
      ...(['KAFKA_SSL_CA', 'KAFKA_SSL_CERT', 'KAFKA_SSL_KEY'] as const).flatMap((env): Case[] =>
        SETTINGS.has(settingKey(env))
          ? [
              {
                name: `${env} missing file`,
                env: { KAFKA_SSL: 'true', KAFKA_SSL_CERT: pem, KAFKA_SSL_KEY: pem, [env]: MISSING },
                covers: [env],
                says: [`${env} file not found: ${MISSING}`],
              },
              {
                name: `${env} without KAFKA_SSL`,
                env: { [env]: pem },
                covers: [env],
                says: [`KAFKA_SSL must be true when ${env} is set`],
              },
            ]
          : [],
      ),
      ...(SETTINGS.has(settingKey('KAFKA_SASL_USERNAME'))
        ? [
            {
              name: 'KAFKA_SASL_USERNAME without a mechanism',
              env: { KAFKA_SASL_USERNAME: 'alice' },
              covers: ['KAFKA_SASL_USERNAME'],
              says: [/KAFKA_SASL_MECHANISM must be one of .* when KAFKA_SASL_USERNAME is set/],
            },
            {
              name: 'KAFKA_SASL_PASSWORD without a mechanism',
              env: { KAFKA_SASL_PASSWORD: 's3cret-value' },
              covers: ['KAFKA_SASL_PASSWORD'],
              says: [/KAFKA_SASL_MECHANISM must be one of .* when KAFKA_SASL_PASSWORD is set/],
              hides: 's3cret-value',
            },
            {
              name: 'KAFKA_SASL_MECHANISM without a username',
              env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 's3cret-value' },
              covers: ['KAFKA_SASL_MECHANISM'],
              says: ['KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=plain'],
              hides: 's3cret-value',
            },
          ]
        : []),
      {
        name: 'WORKER_POOL_SIZE=0',
        env: { WORKER_POOL_SIZE: '0' },
        covers: ['WORKER_POOL_SIZE'],
        says: ['WORKER_POOL_SIZE must be an integer from 1 to 10000 (got "0")'],
      },
      {
        name: 'METRICS_PORT=70000',
        env: { METRICS_PORT: '70000' },
        covers: ['METRICS_PORT'],
        says: ['METRICS_PORT must be a port from 0 to 65535 (got "70000")'],
      },
    ];
  }

  function settingKey(env: string): string {
    return [...SETTINGS].find(([, setting]) => setting.env === env)?.[0] ?? `(no setting ${env})`;
  }

  interface Outcome {
    name: string;
    code: number | null;
    stderr: string[];
    stdout: string[];
    problems: string[];
  }

  async function run(testCase: Case): Promise<Outcome> {
    // A valid configuration around the wrong value, pointing at the counting listener.
    const service = new ServiceProcess({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: 'bad-config-events',
      DLQ_TOPIC: 'bad-config-dlq',
      ...testCase.env,
    });
    const { code } = await exitWithin(service, 30_000);
    const stderr = service.stderr
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '');
    const stdout = service.lines.map((line) => line.message);
    const problems: string[] = [];
    // A wrong value exits 2; a module that does not load is a failed start-up (1).
    const expectedCode = testCase.logsStart ? 1 : 2;
    if (code !== expectedCode) problems.push(`exit code ${code}, not ${expectedCode}`);
    if (stderr.length !== 1) problems.push(`${stderr.length} stderr lines: ${JSON.stringify(stderr)}`);
    const line = stderr.join('\n');
    // The service's JSON log line; what is wrong is its `error`, the variable its `setting`.
    let failure: Record<string, unknown> = {};
    try {
      failure = JSON.parse(line) as Record<string, unknown>;
    } catch {
      problems.push(`stderr is not a JSON log line: ${line}`);
    }
    if (
      failure.level !== 'error' ||
      typeof failure.timestamp !== 'string' ||
      failure.service !== 'myeventstream'
    )
      problems.push(`not the service's error log line: ${line}`);
    if (typeof failure.setting !== 'string') problems.push(`no setting named: ${line}`);
    const said = String(failure.error);
    for (const expected of testCase.says) {
      const ok = typeof expected === 'string' ? said.includes(expected) : expected.test(said);
      if (!ok) problems.push(`stderr does not say ${String(expected)}: ${line}`);
    }
    if (!testCase.covers.every((env) => said.includes(env)))
      problems.push(`stderr does not name ${testCase.covers}`);
    if (testCase.hides !== undefined && line.includes(testCase.hides))
      problems.push('stderr shows the secret');
    const allowed = testCase.logsStart ? ['Starting'] : [];
    if (JSON.stringify(stdout) !== JSON.stringify(allowed))
      problems.push(`stdout: ${JSON.stringify(stdout)}`);
    return { name: testCase.name, code, stderr, stdout, problems };
  }

  it('exits non-zero before connecting, with one stderr line naming the setting, for every wrong value', async () => {
    const started = Date.now();
    const cases = [...generatedCases(), ...contextCases()];

    // Every setting has at least one wrong value here.
    const covered = new Set(cases.flatMap((c) => c.covers));
    const uncovered = [...SETTINGS.values()].map((s) => s.env).filter((env) => !covered.has(env));
    expect(uncovered, 'settings without a bad-value case').to.deep.equal([]);

    const outcomes: Outcome[] = [];
    const queue = [...cases];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) outcomes.push(await run(next));
    };
    await Promise.all([worker(), worker(), worker()]);
    // A process that tried to connect after its error line would show up here.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const codes = [...new Set(outcomes.map((o) => o.code))].sort();
    const failed = outcomes
      .filter((o) => o.problems.length > 0)
      .map((o) => `${o.name}: ${o.problems.join('; ')}`);
    recordScenario({
      scenario: 'Bad configuration (one wrong value per process)',
      events: 0,
      faults: `${cases.length} wrong values over ${covered.size} settings`,
      lost: 0,
      duplicates: 0,
      notes:
        `exit codes ${codes.join('/')}; ${failed.length} cases misbehaved; ${connections} connections to the ` +
        `counting listener; run ${Math.round((Date.now() - started) / 1000)} s`,
    });
    for (const outcome of outcomes.slice(0, 3))
      console.log(`      e.g. ${outcome.name}: ${outcome.stderr[0]}`);
    expect(failed).to.deep.equal([]);
    expect(connections, 'connections to KAFKA_BROKERS').to.equal(0);
    expect(outcomes).to.have.length(cases.length);
  });
});
