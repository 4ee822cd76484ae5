import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ConfigResourceTypes, type Kafka, type KafkaMessage, type Message } from 'kafkajs';
import {
  createTopic,
  committedOffsets,
  endOffsets,
  LOG_APPEND_TIME,
  randomName,
  testKafka,
  withAdmin,
} from '../integration/support/kafka.js';
import { waitForCommitsAtEnd } from '../integration/support/produce.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { header, type ReadMessage } from '../integration/support/topic-reader.js';
import {
  groupByKey,
  healthz,
  isRunning,
  metric,
  readAll,
  readyz,
  scrape,
  sleep,
} from './support/dlq-outage-kit.js';
import {
  headerValues,
  ownHeaders,
  produceOneByOne,
  produceWithJava,
  type JavaRecord,
} from './support/hostile-input-kit.js';
import {
  expectCommitInvariants,
  watchServiceRun,
  type CommitWatcher,
  type CommitVerdict,
} from './support/commit-watcher.js';
import { recordScenario } from './support/report.js';

/**
 * Hostile input against the compiled service with the default pipeline (decode JSON, validate
 * against config/schemas/event.schema.json, forward to OUTPUT_TOPIC), as a separate process.
 * Every message must end in the output topic or in the DLQ with a reason that says what was
 * wrong with it; the process must keep running (no crash, no restart) and keep handling normal
 * events correctly; memory must stay bounded under a burst of large hostile messages.
 */
describe('fault: hostile input', function () {
  this.timeout(600_000);
  let kafka: Kafka;
  const services: ServiceProcess[] = [];
  let watcher: CommitWatcher | undefined;
  before(() => (kafka = testKafka('hostile-input-fault')));
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    for (const service of services) if (await isRunning(service)) service.kill('SIGKILL');
    await Promise.all(services.map((service) => service.exited));
    services.length = 0;
  });

  interface Topics {
    source: string;
    output: string;
    dlq: string;
  }

  async function topics(partitions = 3): Promise<Topics> {
    const names = { source: randomName('hostile'), output: randomName('out'), dlq: randomName('dlq') };
    await createTopic(kafka, names.source, partitions);
    await createTopic(kafka, names.output, partitions, LOG_APPEND_TIME);
    await createTopic(kafka, names.dlq, partitions, LOG_APPEND_TIME);
    return names;
  }

  /** Watches the group's commits from before the service starts (see commit-watcher.ts). */
  async function watchCommits(names: Topics, groupId: string): Promise<void> {
    watcher = await watchServiceRun(kafka, groupId, names);
  }

  async function commitVerdict(): Promise<CommitVerdict> {
    const verdict = await watcher!.stop();
    watcher = undefined;
    return verdict;
  }

  /** The compiled service on `names`, started, joined and ready. */
  async function startService(
    names: Topics,
    groupId: string,
    extra: Record<string, string> = {},
  ): Promise<{ service: ServiceProcess; port: number }> {
    const service = new ServiceProcess({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      KAFKA_TOPIC: names.source,
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      KAFKA_GROUP_ID: groupId,
      RETRY_BASE_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      ...extra,
    });
    services.push(service);
    const port = await service.httpPort();
    await service.waitForLog((line) => line.message === 'Joined the consumer group');
    return { service, port };
  }

  async function commitsAtEnd(groupId: string, topic: string, timeoutMs: number): Promise<void> {
    const ends = await endOffsets(kafka, topic);
    const { committed } = await waitForCommitsAtEnd(
      async () => ({ committed: await committedOffsets(kafka, groupId, topic), ends }),
      timeoutMs,
    );
    expect(Object.fromEntries(committed), `${groupId} committed at the end of ${topic}`).to.deep.equal(
      Object.fromEntries(ends),
    );
  }

  /** The service must have survived: one start, still running, live, no crash or failure line. */
  async function expectSurvived(service: ServiceProcess, port: number): Promise<void> {
    expect(await isRunning(service), 'the service process is still running').to.equal(true);
    expect(await healthz(port)).to.equal(200);
    expect(service.lines.filter((line) => line.message === 'Starting')).to.have.length(1);
    const fatal = service.lines.filter(
      (line) =>
        line.level === 'error' && /Uncaught|Unhandled|must be restarted|Start-up failed/.test(line.message),
    );
    expect(fatal, 'crash lines').to.deep.equal([]);
    expect(service.stderr.join(''), 'stderr').to.equal('');
  }

  type Expected = { to: 'output' } | { to: 'dlq'; code: string; stage: string; reason: RegExp };

  interface Case {
    key: string;
    value: Buffer | null;
    headers?: Message['headers'];
    expected: Expected;
    /** Headers the record must still carry wherever it ends, as latin1 text (null: no value). */
    keeps?: Array<[string, Array<string | null>]>;
  }

  const output = (): Expected => ({ to: 'output' });
  const dlq = (code: string, stage: string, reason: RegExp): Expected => ({ to: 'dlq', code, stage, reason });
  const text = (value: string) => Buffer.from(value, 'utf8');
  const bytes = (...parts: Array<string | number[]>) =>
    Buffer.concat(
      parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))),
    );
  const deep = (open: string, close: string, depth: number, inner = '') =>
    open.repeat(depth) + inner + close.repeat(depth);
  const DEPTH = 100_000;
  const NEAR_MAX = 900 * 1024;
  const HOSTILE_HEADERS: Array<[string, string]> = [
    ['constructor', 'c'],
    ['toString', 't'],
    ['hasOwnProperty', 'h'],
    ['valueOf', 'v'],
    ['__proto__', 'p'],
  ];
  const POLLUTER = '{"Id":"polluted","polluted":"yes"}';

  /** The catalogue: each hostile message with where it must end and why. */
  function hostileCases(): Case[] {
    const binary = randomBytes(4096);
    binary[0] = 0xff; // never valid UTF-8
    const bigBinary = randomBytes(NEAR_MAX);
    bigBinary[0] = 0xff;
    return [
      { key: 'null-value', value: null, expected: dlq('EMPTY_VALUE', 'decode', /value is empty/) },
      {
        key: 'empty-value',
        value: Buffer.alloc(0),
        expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
      },
      {
        key: 'headers-only',
        value: null,
        headers: { trace: 'trace-1', 'x-bytes': Buffer.from([0, 0xff, 1]) },
        expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
        keeps: [
          ['trace', ['trace-1']],
          ['x-bytes', ['\u0000\u00ff\u0001']],
        ],
      },
      {
        key: 'near-max-valid',
        value: text(JSON.stringify({ Id: 'near-max', pad: 'x'.repeat(NEAR_MAX) })),
        expected: output(),
      },
      {
        key: 'near-max-garbage',
        value: Buffer.alloc(NEAR_MAX, 'this is not JSON '),
        expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      },
      {
        key: 'near-max-binary',
        value: bigBinary,
        expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
      },
      {
        key: 'invalid-utf8-in-string',
        value: bytes('{"Id":"caf', [0xc3, 0x28], '"}'),
        expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
      },
      {
        key: 'overlong-utf8',
        value: bytes('{"Id":"', [0xc0, 0xaf], '"}'),
        expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
      },
      {
        key: 'surrogate-utf8',
        value: bytes('{"Id":"', [0xed, 0xa0, 0x80], '"}'),
        expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
      },
      {
        key: 'byte-order-mark',
        value: bytes([0xef, 0xbb, 0xbf], '{"Id":"bom"}'),
        expected: dlq('INVALID_JSON', 'decode', /byte order mark/),
      },
      { key: 'binary-garbage', value: binary, expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/) },
      {
        key: 'nested-100k-arrays',
        value: text(deep('[', ']', DEPTH)),
        expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
      },
      {
        key: 'nested-100k-objects',
        value: text(deep('{"a":', '}', DEPTH, '1')),
        expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
      },
      {
        key: 'nested-100k-in-valid-event',
        value: text(`{"Id":"deep","x":${deep('[', ']', DEPTH)}}`),
        expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
      },
      {
        key: 'nested-100k-unclosed',
        value: text('['.repeat(DEPTH)),
        expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
      },
      {
        key: 'numbers-beyond-2^53',
        value: text(
          '{"Id":"big-numbers","a":123456789012345678901234567890,"b":9007199254740993,"c":-9007199254740993,"d":1e400}',
        ),
        expected: output(),
      },
      {
        key: 'id-number-beyond-2^53',
        value: text('{"Id":9007199254740993}'),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /\/Id must be string/),
      },
      {
        key: 'proto-key-with-id',
        value: text(`{"Id":"proto-1","__proto__":${POLLUTER}}`),
        expected: output(),
      },
      {
        key: 'proto-key-only',
        value: text(`{"__proto__":${POLLUTER}}`),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /must have required property 'Id'/),
      },
      {
        key: 'constructor-key-with-id',
        value: text(`{"Id":"ctor-1","constructor":{"prototype":${POLLUTER}}}`),
        expected: output(),
      },
      {
        key: 'constructor-key-only',
        value: text(`{"constructor":{"prototype":${POLLUTER}}}`),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /must have required property 'Id'/),
      },
      {
        key: 'nested-proto-keys',
        value: text(
          `{"Id":"np","a":{"__proto__":${POLLUTER}},"b":[{"constructor":{"prototype":${POLLUTER}}}]}`,
        ),
        expected: output(),
      },
      {
        key: 'duplicate-keys-last-valid',
        value: text('{"Id":"","Id":"dup-last"}'),
        expected: output(),
      },
      {
        key: 'duplicate-keys-last-empty',
        value: text('{"Id":"dup-first","Id":""}'),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /\/Id must NOT have fewer than 1 characters/),
      },
      {
        key: 'duplicate-proto-keys',
        value: text(`{"__proto__":1,"__proto__":${POLLUTER},"Id":"dup-proto"}`),
        expected: output(),
      },
      {
        key: 'json-null',
        value: text('null'),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /must be object/),
      },
      {
        key: 'json-array',
        value: text('[{"Id":"in-array"}]'),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /must be object/),
      },
      {
        key: 'json-string',
        value: text('"{\\"Id\\":\\"x\\"}"'),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /must be object/),
      },
      {
        key: 'truncated-json',
        value: text('{"Id":"trunc"'),
        expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      },
      {
        key: 'raw-nul-in-string',
        value: bytes('{"Id":"nul', [0], '"}'),
        expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      },
      { key: 'escaped-lone-surrogate', value: text('{"Id":"\\ud800"}'), expected: output() },
      {
        key: 'hostile-header-names-valid',
        value: text('{"Id":"header-names"}'),
        headers: ownHeaders(HOSTILE_HEADERS),
        expected: output(),
        keeps: HOSTILE_HEADERS.map(([name, value]) => [name, [value]]),
      },
      {
        key: 'hostile-header-names-invalid',
        value: text('not json'),
        headers: ownHeaders(HOSTILE_HEADERS),
        expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
        keeps: HOSTILE_HEADERS.map(([name, value]) => [name, [value]]),
      },
      {
        key: 'repeated-header',
        value: text('{"Id":"repeated-header"}'),
        headers: { trace: ['a', 'b'] },
        expected: output(),
        keeps: [['trace', ['a', 'b']]],
      },
    ];
  }

  /** Records only the Java client can write: header values that are null. */
  const JAVA_CASES: Array<JavaRecord & { expected: Expected }> = [
    {
      key: 'null-header-value-valid',
      value: '{"Id":"null-header"}',
      headers: [
        ['h-null', null],
        ['h-ok', 'v'],
      ],
      expected: output(),
    },
    {
      key: 'null-header-value-invalid',
      value: 'garbage',
      headers: [
        ['h-null', null],
        ['h-ok', 'v'],
      ],
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
    },
    {
      key: 'java-null-value-with-headers',
      value: null,
      headers: [
        ['h-null', null],
        ['h-ok', 'v'],
      ],
      expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
    },
  ];

  it('sends every hostile message to the output or the DLQ with its reason, and keeps running', async () => {
    const started = Date.now();
    const names = await topics();
    const groupId = randomName('group');
    await watchCommits(names, groupId);
    const { service, port } = await startService(names, groupId);

    const normal = (from: number, count: number): Case[] =>
      Array.from({ length: count }, (_, i) => ({
        key: `normal-${from + i}`,
        value: text(JSON.stringify({ Id: `normal-${from + i}`, n: from + i })),
        expected: output(),
      }));
    const hostile = hostileCases();
    const cases: Case[] = [...normal(0, 30), ...hostile, ...normal(30, 30)];
    await produceOneByOne(
      kafka,
      names.source,
      cases.map(({ key, value, headers }) => ({ key, value, ...(headers ? { headers } : {}) })),
    );
    await produceWithJava(process.env.KAFKA_BROKERS!, names.source, JAVA_CASES);
    for (const { key, value, headers, expected } of JAVA_CASES) {
      cases.push({
        key,
        value: value === null ? null : text(value),
        expected,
        keeps: headers.map(([name, v]) => [name, [v]]),
      });
    }
    await commitsAtEnd(groupId, names.source, 120_000);

    // Canaries, once everything above has settled: a prototype polluted with an Id would let
    // the event without one pass the schema (ajv reads `data.Id`, inheritance included).
    const canaries: Case[] = [0, 1, 2].flatMap((partition) => [
      {
        key: `canary-no-id-${partition}`,
        value: text('{"name":"canary"}'),
        expected: dlq('SCHEMA_VIOLATION', 'validate', /must have required property 'Id'/),
      },
      { key: `canary-valid-${partition}`, value: text(`{"Id":"canary-${partition}"}`), expected: output() },
    ]);
    await produceOneByOne(
      kafka,
      names.source,
      canaries.map(({ key, value }, i) => ({ key, value, partition: Math.floor(i / 2) })),
    );
    cases.push(...canaries, ...normal(60, 30));
    await produceOneByOne(
      kafka,
      names.source,
      normal(60, 30).map(({ key, value }) => ({ key, value })),
    );
    await commitsAtEnd(groupId, names.source, 120_000);

    // Where each message ended, read back with an independent consumer.
    const sources = groupByKey(await readAll(kafka, names.source));
    const outputs = groupByKey(await readAll(kafka, names.output));
    const letters = groupByKey(await readAll(kafka, names.dlq));
    const problems: string[] = [];
    let lost = 0;
    let duplicates = 0;
    for (const testCase of cases) {
      const { key, value, expected } = testCase;
      const source = sources.get(key)?.[0];
      expect(source, `source record ${key}`).to.not.equal(undefined);
      const inOutput = outputs.get(key) ?? [];
      const inDlq = letters.get(key) ?? [];
      if (inOutput.length + inDlq.length === 0) {
        lost += 1;
        problems.push(`${key}: neither in the output nor in the DLQ`);
        continue;
      }
      duplicates += inOutput.length + inDlq.length - 1;
      const landed = expected.to === 'output' ? inOutput[0] : inDlq[0];
      if (!landed) {
        const other = inOutput[0] ?? inDlq[0]!;
        problems.push(
          `${key}: expected in the ${expected.to}, found in the ${inOutput.length > 0 ? 'output' : 'DLQ'} ` +
            `(${header(other, 'error_code')}: ${header(other, 'error_message')?.slice(0, 200)})`,
        );
        continue;
      }
      if (inOutput.length > 0 && inDlq.length > 0) problems.push(`${key}: both in the output and in the DLQ`);
      problems.push(...checkRecord(testCase, landed, source!, names.source, groupId));
      if (
        value !== null &&
        landed.value !== null &&
        !landed.value.equals(value) &&
        expected.to === 'output'
      ) {
        problems.push(`${key}: output bytes differ`);
      }
    }
    const unknown = [...outputs.keys(), ...letters.keys()].filter((key) => !cases.some((c) => c.key === key));
    for (const key of unknown) problems.push(`${key}: unexpected record`);

    const survived = await isRunning(service);
    const metrics = await scrape(port);
    const verdict = await commitVerdict();
    recordScenario({
      scenario: 'Hostile input: catalogue (default pipeline, OUTPUT_TOPIC)',
      events: cases.length,
      faults: `${hostile.length + JAVA_CASES.length} hostile messages, one per kind; 6 canaries after them`,
      lost,
      duplicates,
      watcher: verdict.summary,
      notes:
        `${problems.length} problems; DLQ ${metric(metrics, 'dlq_messages_total')}, processed ` +
        `${metric(metrics, 'events_processed_total')}; still running: ${survived}; ` +
        `run ${Math.round((Date.now() - started) / 1000)} s`,
    });
    expect(problems, 'hostile messages that did not end where they should').to.deep.equal([]);
    expect(lost).to.equal(0);
    expectCommitInvariants(verdict);
    await expectSurvived(service, port);
    expect((await readyz(port)).status, 'ready after the hostile input').to.equal(200);
  });

  /** What a record that landed must look like, compared with its source record. */
  function checkRecord(
    { key, value, expected, keeps = [] }: Case,
    landed: ReadMessage,
    source: ReadMessage,
    sourceTopic: string,
    groupId: string,
  ): string[] {
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(`${key}: ${what}`);
    };
    check(String(landed.key) === key, 'key changed');
    check(
      value === null ? landed.value === null : landed.value !== null && landed.value.equals(value),
      `value bytes changed (${value?.length ?? 'null'} → ${landed.value?.length ?? 'null'})`,
    );
    for (const [name, values] of keeps) {
      const got = headerValues(landed, name);
      // kafkajs cannot write a null header value: the service writes it as an empty one.
      const same = values.every((v, i) => got[i] === v || (v === null && got[i] === ''));
      check(
        got.length === values.length && same,
        `header ${name}: ${JSON.stringify(got)} ≠ ${JSON.stringify(values)}`,
      );
    }
    const origin = expected.to === 'output' ? 'source' : 'original';
    check(header(landed, `${origin}_topic`) === sourceTopic, `${origin}_topic`);
    check(header(landed, `${origin}_partition`) === String(source.partition), `${origin}_partition`);
    check(header(landed, `${origin}_offset`) === source.offset, `${origin}_offset`);
    if (expected.to === 'dlq') {
      check(header(landed, 'error_code') === expected.code, `error_code ${header(landed, 'error_code')}`);
      check(header(landed, 'error_stage') === expected.stage, `error_stage ${header(landed, 'error_stage')}`);
      const message = header(landed, 'error_message') ?? '';
      check(expected.reason.test(message), `error_message "${message.slice(0, 200)}" !~ ${expected.reason}`);
      check(message.length < 2000, `error_message of ${message.length} characters`);
      check(header(landed, 'retry_attempts') === '0', 'retry_attempts');
      check(header(landed, 'consumer_group') === groupId, 'consumer_group');
      check(header(landed, 'original_timestamp') === source.timestamp, 'original_timestamp');
      if (expected.code === 'SCHEMA_VIOLATION') {
        const violations = JSON.parse(header(landed, 'schema_errors') ?? '[]') as unknown[];
        check(violations.length > 0, 'schema_errors');
      }
    }
    return problems;
  }

  it('keeps memory bounded through a burst of large hostile messages', async () => {
    const started = Date.now();
    const names = await topics();
    const groupId = randomName('group');
    await watchCommits(names, groupId);
    // 32 workers: dead letters and output writes of large messages pile up while a request is
    // in flight, as they do in production with a pool of that size.
    const { service, port } = await startService(names, groupId, { WORKER_POOL_SIZE: '32' });
    await sleep(2000);
    const rssBefore = metric(await scrape(port), 'process_resident_memory_bytes');

    // Six kinds of large hostile message, cycled; a third of them are valid events.
    const BURST = 3000;
    const SIZE = 150 * 1024;
    const KINDS: Array<{ name: string; make: (i: number) => Buffer; code: string | undefined }> = [
      { name: 'deep', make: () => Buffer.from(deep('[', ']', DEPTH)), code: 'JSON_TOO_DEEP' },
      { name: 'garbage', make: (i) => Buffer.alloc(SIZE, `garbage ${i} `), code: 'INVALID_JSON' },
      {
        name: 'binary',
        make: () => {
          const value = randomBytes(SIZE);
          value[0] = 0xff;
          return value;
        },
        code: 'INVALID_UTF8',
      },
      {
        name: 'proto',
        make: (i) => text(`{"Id":"burst-${i}","__proto__":${POLLUTER},"pad":"${'p'.repeat(SIZE)}"}`),
        code: undefined,
      },
      {
        name: 'dup-empty-id',
        make: (i) => text(`{"Id":"burst-${i}","pad":"${'d'.repeat(SIZE)}","Id":""}`),
        code: 'SCHEMA_VIOLATION',
      },
      {
        name: 'big-numbers',
        make: (i) =>
          text(`{"Id":"burst-${i}","n":[${'123456789012345678901234567890,'.repeat(SIZE / 31)}1]}`),
        code: undefined,
      },
    ];
    const kindOf = (i: number) => KINDS[i % KINDS.length]!;

    // Produced 12 at a time, 4 per partition, so a record batch stays under 1 MB.
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let produced = 0;
    const samples: number[] = [];
    const sampler = (async () => {
      while (produced >= 0) {
        samples.push(metric(await scrape(port), 'process_resident_memory_bytes'));
        await sleep(500);
      }
    })().catch((error: unknown) => error);
    let bytesProduced = 0;
    try {
      for (let i = 0; i < BURST; i += 12) {
        const messages: Message[] = [];
        for (let j = i; j < Math.min(BURST, i + 12); j++) {
          const value = kindOf(j).make(j);
          bytesProduced += value.length;
          messages.push({ key: `burst-${j}`, value, partition: j % 3 });
        }
        await producer.send({ topic: names.source, acks: -1, messages });
        produced = i + messages.length;
      }
    } finally {
      await producer.disconnect();
    }
    await commitsAtEnd(groupId, names.source, 300_000);
    const after = await scrape(port);
    const rssAfter = metric(after, 'process_resident_memory_bytes');
    // No broker fault, no restart: no write may have failed (a request the broker refuses for
    // its size fails every message in it), so nothing was retried and nothing duplicated.
    const failedWrites = {
      outputRetries: metric(after, 'retry_attempts_total'),
      dlq: metric(after, 'myeventstream_dlq_write_failures_total'),
    };
    produced = -1;
    expect(await sampler, 'scraping /metrics during the burst').to.equal(undefined);
    const rssPeak = Math.max(rssBefore, rssAfter, ...samples);

    // Every burst message where it belongs, counted without holding the values.
    const seen = new Map<string, { output: number; dlq: number; codes: Set<string> }>();
    const entry = (key: string) => {
      let found = seen.get(key);
      if (!found) seen.set(key, (found = { output: 0, dlq: 0, codes: new Set() }));
      return found;
    };
    await readAll(kafka, names.output, (message) => (entry(String(message.key)).output += 1));
    await readAll(kafka, names.dlq, (message: KafkaMessage) => {
      const found = entry(String(message.key));
      found.dlq += 1;
      found.codes.add(header(message, 'error_code') ?? '?');
    });
    let lost = 0;
    let duplicates = 0;
    const misrouted: string[] = [];
    for (let i = 0; i < BURST; i++) {
      const found = seen.get(`burst-${i}`);
      const { code, name } = kindOf(i);
      if (!found) {
        lost += 1;
        continue;
      }
      duplicates += found.output + found.dlq - 1;
      const right =
        code === undefined ? found.output > 0 && found.dlq === 0 : found.dlq > 0 && found.output === 0;
      if (!right || (code !== undefined && !(found.codes.size === 1 && found.codes.has(code)))) {
        misrouted.push(`burst-${i} (${name}): output ${found.output}, DLQ ${[...found.codes].join('/')}`);
      }
    }
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    const verdict = await commitVerdict();
    recordScenario({
      scenario: 'Hostile input: memory under a burst of large hostile messages',
      events: BURST,
      faults: `${BURST} hostile messages of ~150-200 KB (${mb(bytesProduced)} MB; deep nesting, garbage, binary, __proto__, duplicate keys, huge numbers)`,
      lost,
      duplicates,
      watcher: verdict.summary,
      notes:
        `RSS before ${mb(rssBefore)} MB, peak ${mb(rssPeak)} MB, after ${mb(rssAfter)} MB ` +
        `(${samples.length} samples); ${misrouted.length} misrouted; output write retries ` +
        `${failedWrites.outputRetries}, DLQ write failures ${failedWrites.dlq}; WORKER_POOL_SIZE 32, QUEUE_BUFFER_SIZE 1000; ` +
        `run ${Math.round((Date.now() - started) / 1000)} s`,
    });
    expect(misrouted.slice(0, 10), `${misrouted.length} misrouted`).to.deep.equal([]);
    expect(lost).to.equal(0);
    expect(failedWrites).to.deep.equal({ outputRetries: 0, dlq: 0 });
    expect(duplicates).to.equal(0);
    expectCommitInvariants(verdict);
    expect(rssPeak, 'resident memory').to.be.below(2 ** 30);
    await expectSurvived(service, port);
  });

  it('holds a dead letter too large for the DLQ topic until the topic accepts it, losing nothing', async () => {
    const started = Date.now();
    const names = await topics(1);
    const groupId = randomName('group');
    await watchCommits(names, groupId);
    const { service, port } = await startService(names, groupId);

    // A record that fits the broker's default limit (message.max.bytes, 1048588 bytes for a
    // record batch) with ~200 bytes to spare; its dead letter adds ~400 bytes of headers.
    const limit = 1_048_588;
    const atLimit = Buffer.alloc(limit - 200, 'x');
    atLimit[0] = 0xff; // INVALID_UTF8
    await produceOneByOne(kafka, names.source, [
      { key: 'before', value: '{"Id":"before"}' },
      { key: 'at-limit', value: atLimit },
      { key: 'after', value: '{"Id":"after"}' },
    ]);

    // The letter cannot be written: the message stays unsettled, its offset uncommitted, the
    // service not ready and saying why; the events around it are processed.
    let reasons: string[] = [];
    const deadline = Date.now() + 120_000;
    let failures = 0;
    while (Date.now() < deadline) {
      const ready = await readyz(port);
      reasons = ready.reasons;
      failures = metric(await scrape(port), 'myeventstream_dlq_write_failures_total');
      if (ready.status === 503 && failures >= 3) break;
      await sleep(250);
    }
    expect(reasons.join(' | ')).to.match(
      /dlq: dead-letter writes failing: .*larger than the max message size/,
    );
    await sleep(1000);
    const stuck = await committedOffsets(kafka, groupId, names.source);
    expect(stuck.get(0), 'commit stops at the oversized message').to.equal('1');
    expect(headerKeys(await readAll(kafka, names.output))).to.deep.equal(['after', 'before']);
    expect(await isRunning(service)).to.equal(true);

    // The operator raises the DLQ topic's limit: the letter goes through, the commit moves on.
    await withAdmin(kafka, (admin) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: names.dlq,
            // alterConfigs replaces the topic's settings: the append times must be set again.
            configEntries: [{ name: 'max.message.bytes', value: String(2 * limit) }, ...LOG_APPEND_TIME],
          },
        ],
      }),
    );
    await commitsAtEnd(groupId, names.source, 120_000);
    const letters = await readAll(kafka, names.dlq);
    expect(letters).to.have.length(1);
    const letter = letters[0]!;
    expect(String(letter.key)).to.equal('at-limit');
    expect(letter.value?.equals(atLimit), 'the dead letter keeps the value bytes').to.equal(true);
    expect(header(letter, 'error_code')).to.equal('INVALID_UTF8');
    let ready = await readyz(port);
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await sleep(200);
      ready = await readyz(port);
    }
    expect(ready.status).to.equal(200);
    await expectSurvived(service, port);
    const verdict = await commitVerdict();
    recordScenario({
      scenario: 'Hostile input: dead letter larger than the DLQ topic accepts',
      events: 3,
      faults: `1 message ${limit - 200} bytes (fits the source topic, its dead letter does not)`,
      lost: 0,
      duplicates: letters.length - 1,
      watcher: verdict.summary,
      notes:
        `held unsettled (commit at 1, /readyz 503, ${failures} failed writes) until the DLQ topic's ` +
        `max.message.bytes was raised; run ${Math.round((Date.now() - started) / 1000)} s`,
    });
    expectCommitInvariants(verdict);
  });
});

function headerKeys(messages: ReadMessage[]): string[] {
  return messages.map((message) => String(message.key)).sort();
}
