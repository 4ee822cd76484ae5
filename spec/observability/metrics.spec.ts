import { expect } from 'chai';
import { Registry, register as globalRegister } from 'prom-client';
import { DEAD_LETTER_KINDS } from '../../lib/core/errors.js';
import { createMetrics } from '../../lib/observability/metrics.js';

const GO_NAMES = [
  'queue_depth',
  'events_ingested_total',
  'events_processed_total',
  'retry_attempts_total',
  'dlq_messages_total',
  'retry_exhausted_total',
];

/** The value of one sample line, e.g. `events_ingested_total{service="svc"} 3`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createMetrics', () => {
  let registry: Registry;

  beforeEach(() => {
    registry = new Registry();
  });

  it("exposes the Go service's six metrics by their exact names, labelled with the service", async () => {
    createMetrics(registry, 'svc');
    const text = await registry.metrics();
    for (const name of GO_NAMES) {
      expect(sample(text, `${name}{service="svc"}`), name).to.equal(0);
    }
  });

  it('counts what is incremented', async () => {
    const metrics = createMetrics(registry, 'svc');
    metrics.eventsIngested.inc();
    metrics.eventsIngested.inc(2);
    metrics.eventsProcessed.inc();
    metrics.retryAttempts.inc(4);
    metrics.retryExhausted.inc();
    metrics.commits.inc();
    metrics.deadLettered('validate', 'SCHEMA_VIOLATION');
    const text = await registry.metrics();
    expect(sample(text, 'events_ingested_total{service="svc"}')).to.equal(3);
    expect(sample(text, 'events_processed_total{service="svc"}')).to.equal(1);
    expect(sample(text, 'retry_attempts_total{service="svc"}')).to.equal(4);
    expect(sample(text, 'retry_exhausted_total{service="svc"}')).to.equal(1);
    expect(sample(text, 'myeventstream_commits_total{service="svc"}')).to.equal(1);
    expect(sample(text, 'dlq_messages_total{service="svc"}')).to.equal(1);
    expect(
      sample(
        text,
        'myeventstream_dead_letters_total{service="svc",stage="validate",code="SCHEMA_VIOLATION"}',
      ),
    ).to.equal(1);
  });

  it('pre-creates the dead-letter series of exactly the stage and code pairs that can happen', async () => {
    createMetrics(registry, 'svc');
    const text = await registry.metrics();
    const pairs = [
      ...text.matchAll(/^myeventstream_dead_letters_total\{service="svc",stage="(\w+)",code="(\w+)"\} 0$/gm),
    ].map(([, stage, code]) => `${stage}/${code}`);
    expect(pairs.sort()).to.deep.equal(DEAD_LETTER_KINDS.map(({ stage, code }) => `${stage}/${code}`).sort());
    expect(pairs).to.include.members([
      'decode/INVALID_JSON',
      'validate/SCHEMA_VIOLATION',
      'process/PROCESS_FAILED',
    ]);
    // A decode failure is never PROCESS_FAILED, and a revoked message is never dead-lettered.
    expect(pairs).to.not.include.members(['decode/PROCESS_FAILED']);
    expect(pairs.filter((pair) => pair.endsWith('/REVOKED'))).to.deep.equal([]);
    expect(pairs).to.have.length(9);
  });

  it('pre-initialises the dead-letter breakdown and both processing outcomes to 0', async () => {
    createMetrics(registry, 'svc');
    const text = await registry.metrics();
    expect(
      sample(text, 'myeventstream_dead_letters_total{service="svc",stage="decode",code="INVALID_JSON"}'),
    ).to.equal(0);
    for (const outcome of ['processed', 'dead_lettered']) {
      expect(
        sample(text, `myeventstream_processing_duration_seconds_count{service="svc",outcome="${outcome}"}`),
      ).to.equal(0);
    }
  });

  it('reads point-in-time values from the callbacks at scrape time', async () => {
    let depth = 5;
    let inBackoff = 2;
    createMetrics(registry, 'svc', {
      queueDepth: () => depth,
      oldestUnsettledAgeSeconds: () => 12.5,
      messagesInBackoff: () => inBackoff,
    });
    let text = await registry.metrics();
    expect(sample(text, 'queue_depth{service="svc"}')).to.equal(5);
    expect(sample(text, 'myeventstream_messages_in_backoff{service="svc"}')).to.equal(2);
    depth = 7;
    inBackoff = 0;
    text = await registry.metrics();
    expect(sample(text, 'queue_depth{service="svc"}')).to.equal(7);
    expect(sample(text, 'myeventstream_messages_in_backoff{service="svc"}')).to.equal(0);
    expect(sample(text, 'myeventstream_oldest_unsettled_message_age_seconds{service="svc"}')).to.equal(12.5);
  });

  it('observes durations and clamps end-to-end latency under clock skew to 0', async () => {
    const metrics = createMetrics(registry, 'svc');
    metrics.observeProcessing('processed', 0.02);
    metrics.observeEndToEnd('1000', 3500);
    metrics.observeEndToEnd(5000, 3500);
    const text = await registry.metrics();
    expect(
      sample(text, 'myeventstream_processing_duration_seconds_sum{service="svc",outcome="processed"}'),
    ).to.equal(0.02);
    expect(sample(text, 'myeventstream_end_to_end_latency_seconds_sum{service="svc"}')).to.equal(2.5);
    expect(sample(text, 'myeventstream_end_to_end_latency_seconds_count{service="svc"}')).to.equal(2);
  });

  it('sets committed offset and lag per partition and forgets a revoked partition', async () => {
    const metrics = createMetrics(registry, 'svc');
    metrics.setCommittedOffset('orders', 0, '42');
    metrics.setConsumerLag('orders', 0, 3n);
    const series = '{service="svc",topic="orders",partition="0"}';
    let text = await registry.metrics();
    expect(sample(text, `myeventstream_committed_offset${series}`)).to.equal(42);
    expect(sample(text, `myeventstream_consumer_lag${series}`)).to.equal(3);
    metrics.forgetPartition('orders', 0);
    text = await registry.metrics();
    expect(sample(text, `myeventstream_committed_offset${series}`)).to.equal(undefined);
    expect(sample(text, `myeventstream_consumer_lag${series}`)).to.equal(undefined);
  });

  it('collects the default process metrics into the injected registry', async () => {
    createMetrics(registry, 'svc');
    expect(await registry.metrics()).to.include('process_cpu_user_seconds_total');
  });

  it('leaves the global registry alone', async () => {
    createMetrics(registry, 'svc');
    const global = await globalRegister.metrics();
    for (const name of [...GO_NAMES, 'myeventstream_', 'process_cpu_user_seconds_total']) {
      expect(global, name).not.to.include(name);
    }
  });
});
