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
import { groupByKey, readAll, sleep } from './support/dlq-outage-kit.js';
import { expectSurvived, isRunning, metric, readyz, scrape } from './support/service-probe.js';
import {
  headerValues,
  ownHeaders,
  produceOneByOne,
  produceWithJava,
  type JavaRecord,
} from './support/hostile-input-kit.js';
import {
  canaryCases,
  deep,
  DEPTH,
  dlq,
  hostileCases,
  landedProblems,
  normalCases,
  output,
  POLLUTER,
  text,
  type Expected,
  type HostileCase,
} from './support/hostile-catalogue.js';
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

    const hostile = hostileCases();
    const cases: HostileCase[] = [...normalCases(0, 30), ...hostile, ...normalCases(30, 30)];
    await produceOneByOne(
      kafka,
      names.source,
      cases.map(({ key, value, headers }) => ({
        key,
        value,
        ...(headers ? { headers: ownHeaders(headers) } : {}),
      })),
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

    // Canaries, one pair per partition, once everything above has settled (see canaryCases).
    const canaries = [0, 1, 2].flatMap((partition) => canaryCases(String(partition)));
    await produceOneByOne(
      kafka,
      names.source,
      canaries.map(({ key, value }, i) => ({ key, value, partition: Math.floor(i / 2) })),
    );
    cases.push(...canaries, ...normalCases(60, 30));
    await produceOneByOne(
      kafka,
      names.source,
      normalCases(60, 30).map(({ key, value }) => ({ key, value })),
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
    testCase: HostileCase,
    landed: ReadMessage,
    source: ReadMessage,
    sourceTopic: string,
    groupId: string,
  ): string[] {
    const prefix = testCase.expected.to === 'output' ? 'source' : 'original';
    const origin: Record<string, string> = {
      [`${prefix}_topic`]: sourceTopic,
      [`${prefix}_partition`]: String(source.partition),
      [`${prefix}_offset`]: source.offset,
      ...(testCase.expected.to === 'dlq'
        ? { consumer_group: groupId, original_timestamp: source.timestamp }
        : {}),
    };
    const view = {
      value: landed.value,
      header: (name: string) => header(landed, name),
      headerValues: (name: string) => headerValues(landed, name),
    };
    return [
      ...(String(landed.key) === testCase.key ? [] : [`${testCase.key}: key changed`]),
      ...landedProblems(testCase, view, origin),
    ];
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
