import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import { pipe } from 'rxjs';
import { freePort } from '../../lib/broker/free-port.js';
import { startHttpServer, type RunningHttpServer } from '../../lib/observability/http-server.js';
import { decodeJson } from '../../lib/operators/decode-json.js';
import { process as processStep } from '../../lib/operators/process.js';
import { validate } from '../../lib/operators/validate.js';
import { definePipeline } from '../../lib/pipeline/define-pipeline.js';
import type { KafkaEventService } from '../../lib/kafka/kafka-service.js';
import { committedOffsets, createTopic, endOffsets, randomName, testKafka } from './support/kafka.js';
import { inProcessService, metricValue } from './support/in-process-service.js';
import { produceAll, waitForCommitsAtEnd } from './support/produce.js';
import { sleep } from './support/topic-reader.js';

const schema = {
  type: 'object',
  required: ['Id'],
  properties: { Id: { type: 'string', minLength: 1 }, kind: { type: 'string' } },
};

/** One sample line of /metrics: `name{labels} value`, matched on the name and a label subset. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('metrics of a known mix, on /metrics and through a real Prometheus', function () {
  this.timeout(120_000);
  let kafka: Kafka;
  let service: KafkaEventService;
  let http: RunningHttpServer;
  let names: { topic: string; dlqTopic: string; groupId: string };
  const counts = { valid: 100, flaky: 20, poison: 5, malformed: 10, invalid: 10 };
  const total = Object.values(counts).reduce((a, b) => a + b, 0);

  before(async () => {
    kafka = testKafka();
    names = { topic: randomName('metrics'), dlqTopic: randomName('dlq'), groupId: randomName('group') };
    await createTopic(kafka, names.topic, 2);
    await createTopic(kafka, names.dlqTopic, 1);
    const event = (kind: string, i: number): Message => ({
      key: `${kind}-${i}`,
      value: JSON.stringify({ Id: `${kind}-${i}`, kind }),
    });
    const messages: Message[] = [
      ...Array.from({ length: counts.valid }, (_, i) => event('valid', i)),
      ...Array.from({ length: counts.flaky }, (_, i) => event('flaky', i)),
      ...Array.from({ length: counts.poison }, (_, i) => event('poison', i)),
      ...Array.from({ length: counts.malformed }, (_, i) => ({ key: `malformed-${i}`, value: '{"Id": ' })),
      ...Array.from({ length: counts.invalid }, (_, i) => ({ key: `invalid-${i}`, value: '{"Id": ""}' })),
    ];
    await produceAll(kafka, names.topic, messages);

    // flaky: fails its first attempt only; poison: fails every attempt.
    const attempts = new Map<string, number>();
    const pipeline = definePipeline(() =>
      pipe(
        decodeJson<{ Id: string; kind: string }>(),
        validate<{ Id: string; kind: string }>(schema),
        processStep(
          async (event: { Id: string; kind: string }) => {
            const attempt = (attempts.get(event.Id) ?? 0) + 1;
            attempts.set(event.Id, attempt);
            if (event.kind === 'poison' || (event.kind === 'flaky' && attempt === 1))
              throw new Error('downstream unavailable');
          },
          { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 } },
        ),
      ),
    );
    service = inProcessService(kafka, pipeline, { ...names, schema });
    http = await startHttpServer({
      port: 0,
      registry: service.registry,
      health: { isLive: () => true, readiness: () => service.readiness.readiness() },
    });
    await service.start();
    while (
      (await metricValue(service, 'events_processed_total')) +
        (await metricValue(service, 'dlq_messages_total')) <
      total
    ) {
      await sleep(50);
    }
    await waitForCommitsAtEnd(async () => ({
      committed: await committedOffsets(kafka, names.groupId, names.topic),
      ends: await endOffsets(kafka, names.topic),
    }));
    // Let the commit that reached the end be reported before reading the gauges.
    await sleep(300);
  });

  after(async () => {
    await service?.stop();
    await http?.close();
  });

  it('counts every message once, each retry and each dead letter, by stage and code', async () => {
    const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    const service = { service: 'spec' };
    expect(sample(text, 'events_ingested_total', service)).to.equal(total);
    expect(sample(text, 'events_processed_total', service)).to.equal(counts.valid + counts.flaky);
    expect(sample(text, 'dlq_messages_total', service)).to.equal(
      counts.malformed + counts.invalid + counts.poison,
    );
    expect(sample(text, 'retry_attempts_total', service)).to.equal(counts.flaky + 2 * counts.poison);
    expect(sample(text, 'retry_exhausted_total', service)).to.equal(counts.poison);
    const deadLetters = (stage: string, code: string) =>
      sample(text, 'myeventstream_dead_letters_total', { ...service, stage, code });
    expect(deadLetters('decode', 'INVALID_JSON')).to.equal(counts.malformed);
    expect(deadLetters('validate', 'SCHEMA_VIOLATION')).to.equal(counts.invalid);
    expect(deadLetters('process', 'PROCESS_FAILED')).to.equal(counts.poison);
    expect(deadLetters('decode', 'EMPTY_VALUE')).to.equal(0);
    const durations = (outcome: string) =>
      sample(text, 'myeventstream_processing_duration_seconds_count', { ...service, outcome });
    expect(durations('processed')).to.equal(counts.valid + counts.flaky);
    expect(durations('dead_lettered')).to.equal(counts.malformed + counts.invalid + counts.poison);
    expect(sample(text, 'myeventstream_end_to_end_latency_seconds_count', service)).to.equal(total);
    expect(sample(text, 'queue_depth', service)).to.equal(0);
    expect(sample(text, 'myeventstream_messages_in_flight', service)).to.equal(0);
    expect(sample(text, 'myeventstream_messages_in_backoff', service)).to.equal(0);
    expect(sample(text, 'myeventstream_commits_total', service)).to.be.greaterThan(0);
    expect(sample(text, 'myeventstream_dlq_write_failures_total', service)).to.equal(0);
    const ends = await endOffsets(kafka, names.topic);
    for (const [partition, end] of ends) {
      const where = { ...service, topic: names.topic, partition: String(partition) };
      expect(sample(text, 'myeventstream_committed_offset', where), `partition ${partition}`).to.equal(
        Number(end),
      );
      expect(sample(text, 'myeventstream_consumer_lag', where), `partition ${partition}`).to.equal(0);
    }
    expect(sample(text, 'process_resident_memory_bytes')).to.be.greaterThan(0);
  });

  it('is scraped by a real Prometheus, which answers a query with the same value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'myeventstream-prometheus-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: myeventstream',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${http.port}']`,
        '',
      ].join('\n'),
    );
    let prometheus: ChildProcess | undefined;
    try {
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: 'ignore' },
      );
      const spawnError = new Promise<never>((_, reject) =>
        prometheus!.once('error', (error) =>
          reject(new Error(`prometheus could not start (apt-get install prometheus): ${error.message}`)),
        ),
      );
      const query = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('events_processed_total{service="spec"}')}`;
      let value: string | undefined;
      const deadline = Date.now() + 60_000;
      while (value === undefined && Date.now() < deadline) {
        const answer = await Promise.race([
          fetch(query)
            .then((r) => r.json() as Promise<{ data?: { result?: Array<{ value: [number, string] }> } }>)
            .catch(() => undefined),
          spawnError,
        ]);
        value = answer?.data?.result?.[0]?.value[1];
        if (value === undefined) await sleep(500);
      }
      expect(value).to.equal(String(counts.valid + counts.flaky));
    } finally {
      prometheus?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
