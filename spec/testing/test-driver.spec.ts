import { expect } from 'chai';
import { asyncScheduler, filter, pipe, timer } from 'rxjs';
import {
  decodeJson,
  defaultPipeline,
  definePipeline,
  forwardTo,
  mapEvents,
  routeTo,
  PermanentError,
  process,
  validate,
  type Pipeline,
} from '../../lib/index.js';
import { createTestDriver, type TestDriver, type TestDriverOptions } from '../../lib/testing/index.js';

/** decode → validate → process(fn, ctx.retry) → forwardTo(ctx.outputTopic): the README's shape. */
function processing(fn: (event: unknown) => unknown): Pipeline {
  return definePipeline((ctx) =>
    pipe(
      decodeJson(),
      validate(ctx.schema),
      process(fn, { retry: ctx.retry }),
      forwardTo(ctx.outputTopic ?? 'out', ctx),
    ),
  );
}

/** A function failing its first `failures` calls (asynchronously, as real I/O does), counting calls. */
function flaky(failures: number) {
  const calls = { count: 0 };
  const fn = async () => {
    calls.count += 1;
    if (calls.count <= failures) throw new Error(`connect ECONNREFUSED (call ${calls.count})`);
  };
  return Object.assign(fn, { calls });
}

/** A Promise the test resolves when it wants. */
function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('createTestDriver', () => {
  let driver: TestDriver | undefined;
  const start = (pipeline: Pipeline, options: TestDriverOptions = {}) =>
    (driver = createTestDriver(pipeline, { outputTopic: 'out', ...options }));

  afterEach(() => {
    driver?.dispose();
    driver = undefined;
  });

  describe('with the default pipeline', () => {
    it('forwards a valid event untouched, with headers naming its source, and commits past it', async () => {
      const d = start(defaultPipeline);
      const offset = d.send({ key: 'order-1', value: { Id: 'e-1', amount: 3 }, headers: { trace: 't-1' } });
      await d.settle();

      expect(offset).to.equal('0');
      expect(d.produced).to.deep.equal([
        {
          topic: 'out',
          key: 'order-1',
          value: '{"Id":"e-1","amount":3}',
          headers: { trace: 't-1', source_topic: 'events', source_partition: '0', source_offset: '0' },
        },
      ]);
      expect(d.deadLetters).to.deep.equal([]);
      expect(d.settled.map(({ offset, outcome }) => [offset, outcome])).to.deep.equal([['0', 'processed']]);
      expect(d.committed).to.deep.equal({ 0: '1' });
      expect(d.pending).to.equal(0);
    });

    it('writes nothing when no output topic is set, as the service without OUTPUT_TOPIC', async () => {
      const d = start(defaultPipeline, { outputTopic: undefined });
      d.send({ value: { Id: 'e-1' } });
      await d.settle();
      expect(d.produced).to.deep.equal([]);
      expect(d.settled[0]?.outcome).to.equal('processed');
      expect(d.committed).to.deep.equal({ 0: '1' });
    });

    it('dead-letters malformed JSON at once with the original bytes and the full set of headers', async () => {
      const d = start(defaultPipeline, { startTime: Date.UTC(2026, 10, 26, 17, 45, 54, 269) });
      d.send({ key: 'k-1', value: '{"Id": ', headers: { trace: 't-1' }, timestamp: 1795715152218 });
      await d.settle();

      expect(d.produced).to.deep.equal([]);
      expect(d.retries).to.deep.equal([]);
      expect(d.deadLetters).to.have.length(1);
      const [letter] = d.deadLetters;
      expect(letter?.key).to.equal('k-1');
      expect(letter?.value).to.equal('{"Id": ');
      expect(letter?.headers).to.deep.include({
        trace: 't-1',
        original_topic: 'events',
        original_partition: '0',
        original_offset: '0',
        retry_attempts: '0',
        max_retries: '3',
        timestamp: '2026-11-26T17:45:54.269Z',
        error_stage: 'decode',
        error_code: 'INVALID_JSON',
        original_timestamp: '1795715152218',
        consumer_group: 'myeventstream-consumer',
      });
      expect(letter?.headers.error_message).to.match(/^invalid JSON: /);
      expect(letter?.headers).not.to.have.property('schema_errors');
      expect(d.settled[0]?.outcome).to.equal('dead-lettered');
      expect(d.committed).to.deep.equal({ 0: '1' });
    });

    it('keeps the exact bytes of a value that is not UTF-8 on the dead letter', async () => {
      const d = start(defaultPipeline);
      const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      d.send({ value: bytes });
      await d.settle();
      expect(d.deadLetters[0]?.headers.error_code).to.equal('INVALID_UTF8');
      expect(Buffer.compare(d.deadLetters[0]?.raw.value as Buffer, bytes)).to.equal(0);
    });

    it('dead-letters an event the schema rejects, listing the violations in schema_errors', async () => {
      const d = start(defaultPipeline);
      d.send({ value: { Id: '' } });
      await d.settle();

      const headers = d.deadLetters[0]?.headers;
      expect(headers?.error_stage).to.equal('validate');
      expect(headers?.error_code).to.equal('SCHEMA_VIOLATION');
      expect(headers?.retry_attempts).to.equal('0');
      expect(JSON.parse(headers?.schema_errors as string)).to.deep.equal([
        { path: '/Id', keyword: 'minLength', message: 'must NOT have fewer than 1 characters' },
      ]);
      expect(d.produced).to.deep.equal([]);
    });

    it('validates against the schema option when one is given', async () => {
      const schema = { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } };
      const d = start(defaultPipeline, { schema });
      d.send({ value: { sku: 'A-1' } });
      d.send({ value: { Id: 'has an Id but no sku' } });
      await d.settle();
      expect(d.produced.map((m) => m.value)).to.deep.equal(['{"sku":"A-1"}']);
      expect(d.deadLetters[0]?.headers.schema_errors).to.equal(
        JSON.stringify([{ path: '/', keyword: 'required', message: "must have required property 'sku'" }]),
      );
    });

    it('commits each partition up to the end once everything settled', async () => {
      const d = start(defaultPipeline, { partitions: 3 });
      d.send({ value: { Id: 'a' } });
      d.send({ value: 'not json' });
      d.send({ value: { Id: '' } });
      d.send({ value: { Id: 'b' }, partition: 2 });
      await d.settle();

      expect(d.committed).to.deep.equal({ 0: '3', 2: '1' });
      expect(d.produced).to.have.length(2);
      expect(d.deadLetters.map((l) => l.headers.error_code)).to.deep.equal([
        'INVALID_JSON',
        'SCHEMA_VIOLATION',
      ]);
    });

    it('refuses a partition the topic does not have', () => {
      const d = start(defaultPipeline, { partitions: 2 });
      expect(() => d.send({ value: {}, partition: 2 })).to.throw(RangeError, /from 0 to 1/);
    });
  });

  describe('routeTo after mapEvents', () => {
    const pricing = (write?: 'event') =>
      definePipeline((ctx) =>
        pipe(
          decodeJson(),
          mapEvents((event) => ({ ...(event as { Id: string }), priced: true })),
          routeTo(() => 'out', ctx, write ? { write } : undefined),
        ),
      );

    it('writes the original value by default', async () => {
      const d = start(pricing());
      d.send({ key: 'k-1', value: '{"Id":"e-1"}' });
      await d.settle();
      expect(d.producedTo('out').map((m) => m.value)).to.deep.equal(['{"Id":"e-1"}']);
    });

    it("writes the mapped event, JSON-encoded, with the original key and headers, with write: 'event'", async () => {
      const d = start(pricing('event'));
      d.send({ key: 'k-1', value: '{"Id":"e-1"}', headers: { trace: 't-1' } });
      await d.settle();
      const [written] = d.producedTo('out');
      expect(JSON.parse(written!.value!)).to.deep.equal({ Id: 'e-1', priced: true });
      expect(written!.key).to.equal('k-1');
      expect(written!.headers).to.include({ trace: 't-1', source_topic: d.topic, source_offset: '0' });
      expect(d.committed).to.deep.equal({ 0: '1' });
    });
  });

  describe('retries in virtual time', () => {
    it('retries a failing process step after 100 and 200 virtual ms, then forwards it', async () => {
      const fn = flaky(2);
      const d = start(processing(fn));
      d.send({ key: 'k', value: { Id: 'e-1' } });

      await d.advance(0);
      expect(fn.calls.count, 'at 0').to.equal(1);
      await d.advance(99);
      expect(fn.calls.count, 'at 99').to.equal(1);
      await d.advance(1);
      expect(fn.calls.count, 'at 100').to.equal(2);
      await d.advance(199);
      expect(fn.calls.count, 'at 299').to.equal(2);
      expect(d.produced, 'at 299').to.deep.equal([]);
      expect(d.committed, 'at 299').to.deep.equal({ 0: '0' });
      await d.advance(1);
      expect(fn.calls.count, 'at 300').to.equal(3);
      expect(d.produced.map((m) => m.value)).to.deep.equal(['{"Id":"e-1"}']);
      expect(d.committed).to.deep.equal({ 0: '1' });
      expect(d.now).to.equal(300);
      expect(d.retries.map(({ attempt, delayMs, at }) => ({ attempt, delayMs, at }))).to.deep.equal([
        { attempt: 1, delayMs: 100, at: 0 },
        { attempt: 2, delayMs: 200, at: 100 },
      ]);
    });

    it('dead-letters after the last retry (100 + 200 + 400 ms) with PROCESS_FAILED', async () => {
      const fn = flaky(Infinity);
      const d = start(processing(fn));
      d.send({ value: { Id: 'e-1' } });

      await d.advance(699);
      expect(fn.calls.count).to.equal(3);
      expect(d.deadLetters).to.deep.equal([]);
      await d.advance(1);
      expect(fn.calls.count).to.equal(4);
      const headers = d.deadLetters[0]?.headers;
      expect(headers).to.deep.include({
        error_stage: 'process',
        error_code: 'PROCESS_FAILED',
        error_message: 'process failed after 4 attempts: connect ECONNREFUSED (call 4)',
        retry_attempts: '3',
        max_retries: '3',
        timestamp: '1970-01-01T00:00:00.700Z',
      });
      expect(d.settled[0]).to.include({ outcome: 'dead-lettered', at: 700 });
    });

    it('settle() runs the backoff without waiting for it in real time', async () => {
      const fn = flaky(Infinity);
      const d = start(processing(fn), { retry: { maxAttempts: 10, baseDelayMs: 1000, maxDelayMs: 60_000 } });
      d.send({ value: { Id: 'e-1' } });
      const began = Date.now();
      await d.settle();
      // 1 + 2 + 4 + 8 + 16 + 32 seconds, then four times the 60 s cap: 5 virtual minutes.
      expect(d.now).to.equal(303_000);
      expect(Date.now() - began).to.be.below(2000);
      expect(fn.calls.count).to.equal(11);
      expect(d.deadLetters[0]?.headers.retry_attempts).to.equal('10');
    });

    it('uses the retry option as ctx.retry', async () => {
      const fn = flaky(Infinity);
      const d = start(processing(fn), { retry: { maxAttempts: 1, baseDelayMs: 50 } });
      expect(d.context.retry).to.include({ maxAttempts: 1, baseDelayMs: 50, multiplier: 2, jitter: 0 });
      d.send({ value: { Id: 'e-1' } });
      await d.settle();
      expect(fn.calls.count).to.equal(2);
      expect(d.settled[0]?.at).to.equal(50);
      expect(d.deadLetters[0]?.headers.max_retries).to.equal('1');
    });

    it('dead-letters a process that never answers with PROCESS_TIMEOUT once every attempt timed out', async () => {
      const signals: AbortSignal[] = [];
      const hang = (_event: unknown, delivery: { signal: AbortSignal }) => {
        signals.push(delivery.signal);
        return new Promise<never>(() => undefined);
      };
      const pipeline = definePipeline((ctx) => pipe(decodeJson(), process(hang, { retry: ctx.retry })));
      const d = start(pipeline, { retry: { maxAttempts: 1, attemptTimeoutMs: 5000 } });
      d.send({ value: { Id: 'e-1' } });
      await d.settle();
      // 5000 ms, 100 ms of backoff, 5000 ms again.
      expect(d.settled[0]).to.include({ outcome: 'dead-lettered', at: 10_100 });
      expect(d.deadLetters[0]?.headers).to.deep.include({
        error_stage: 'process',
        error_code: 'PROCESS_TIMEOUT',
        error_message: 'process failed after 2 attempts: timed out after 5000 ms',
        retry_attempts: '1',
      });
      expect(signals.map((signal) => signal.aborted)).to.deep.equal([true, true]);
    });

    it('keeps jittered delays within ±20 % when the jitter option asks for it', async () => {
      const fn = flaky(1);
      const d = start(processing(fn), { retry: { jitter: 0.2 } });
      d.send({ value: { Id: 'e-1' } });
      await d.settle();
      const delay = d.retries[0]?.delayMs as number;
      expect(delay).to.be.within(80, 120);
      expect(d.settled[0]?.at).to.equal(delay);
    });

    it('sends a PermanentError to the DLQ at once, without retrying', async () => {
      let calls = 0;
      const d = start(
        processing(async () => {
          calls += 1;
          throw new PermanentError('negative amount');
        }),
      );
      d.send({ value: { Id: 'e-1', amount: -5 } });
      await d.advance(0);

      expect(calls).to.equal(1);
      expect(d.retries).to.deep.equal([]);
      expect(d.deadLetters[0]?.headers).to.deep.include({
        error_stage: 'process',
        error_code: 'PROCESS_REJECTED',
        error_message: 'process rejected the event on attempt 1: negative amount',
        retry_attempts: '0',
        timestamp: '1970-01-01T00:00:00.000Z',
      });
      expect(d.committed).to.deep.equal({ 0: '1' });
    });

    it('virtualizes the timers a pipeline uses itself', async () => {
      const d = start(
        definePipeline((ctx) =>
          pipe(
            process(() => timer(5000)),
            forwardTo('out', ctx),
          ),
        ),
      );
      d.send({ value: 'x' });
      await d.advance(4999);
      expect(d.produced).to.have.length(0);
      await d.advance(1);
      expect(d.produced).to.have.length(1);
    });
  });

  describe('failing writes', () => {
    it('retries a failed output write and forwards the message once a write succeeds', async () => {
      const d = start(defaultPipeline);
      d.failProduce('out', 2);
      d.send({ value: { Id: 'e-1' } });

      await d.advance(299);
      expect(d.produced).to.deep.equal([]);
      expect(d.retries.map((r) => r.at)).to.deep.equal([0, 100]);
      await d.advance(1);
      expect(d.produced).to.have.length(1);
      expect(d.deadLetters).to.deep.equal([]);
    });

    it('dead-letters the message with OUTPUT_WRITE_FAILED when the writes keep failing', async () => {
      const d = start(defaultPipeline);
      d.failProduce('out');
      d.send({ value: { Id: 'e-1' } });
      await d.settle();

      expect(d.produced).to.deep.equal([]);
      expect(d.now).to.equal(700);
      expect(d.deadLetters[0]?.headers).to.deep.include({
        error_stage: 'process',
        error_code: 'OUTPUT_WRITE_FAILED',
        retry_attempts: '3',
      });
      expect(d.deadLetters[0]?.headers.error_message).to.match(/^writing to out failed: /);
      expect(d.committed).to.deep.equal({ 0: '1' });
    });

    it('fails only the named topic, and every output write without a topic, but never dead letters', async () => {
      const d = start(definePipeline((ctx) => pipe(decodeJson(), forwardTo('a', ctx), forwardTo('b', ctx))));
      d.failProduce('b', 1);
      d.send({ value: '{}' });
      await d.settle();
      expect(d.producedTo('a')).to.have.length(1);
      expect(d.producedTo('b')).to.have.length(1);
      expect(d.retries).to.have.length(1);

      d.failProduce();
      d.send({ value: '{}' });
      d.send({ value: 'not json' });
      await d.settle();
      expect(d.producedTo('a')).to.have.length(1);
      expect(d.deadLetters.map((l) => l.headers.error_code)).to.deep.equal([
        'INVALID_JSON',
        'OUTPUT_WRITE_FAILED',
      ]);

      d.restoreProduce();
      d.send({ value: '{}' });
      await d.settle();
      expect(d.producedTo('b')).to.have.length(2);
    });

    it('holds a message whose dead letter cannot be written, uncommitted, until the write succeeds', async () => {
      const d = start(defaultPipeline);
      d.failProduce(d.dlqTopic, 3);
      d.send({ value: 'not json' });
      d.send({ value: { Id: 'e-2' } });

      await d.advance(699);
      expect(d.deadLetterWriteFailures).to.equal(3);
      expect(d.deadLetters).to.deep.equal([]);
      expect(d.produced).to.have.length(1);
      expect(d.committed).to.deep.equal({ 0: '0' });
      await d.advance(1);
      expect(d.deadLetters).to.have.length(1);
      expect(d.committed).to.deep.equal({ 0: '2' });
    });

    it('settle() gives up after maxVirtualMs when a dead letter can never be written', async () => {
      const d = start(defaultPipeline);
      d.failProduce(d.dlqTopic);
      d.send({ value: 'not json' });
      let error: unknown;
      await d.settle({ maxVirtualMs: 60_000 }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.match(
        /1 message unsettled \(partition 0 offset 0\).*60000 virtual ms/,
      );
    });
  });

  describe('commits', () => {
    it('never commits past a message that has not settled, however many after it did', async () => {
      const gate = deferred();
      const d = start(
        processing(async (event) => {
          if ((event as { Id: string }).Id === 'slow') await gate.promise;
        }),
      );
      d.send({ value: { Id: 'slow' } });
      d.send({ value: { Id: 'fast-1' } });
      d.send({ value: { Id: 'fast-2' } });

      await d.advance(10_000);
      expect(d.produced.map((m) => m.headers.source_offset)).to.deep.equal(['1', '2']);
      expect(d.pending).to.equal(1);
      expect(d.committed).to.deep.equal({ 0: '0' });

      gate.resolve();
      await d.advance(0);
      expect(d.pending).to.equal(0);
      expect(d.committed).to.deep.equal({ 0: '3' });
    });

    it('counts a message the pipeline filters out as processed', async () => {
      const d = start(
        definePipeline((ctx) =>
          pipe(
            decodeJson<{ keep: boolean }>(),
            filter((delivery) => delivery.event.keep),
            forwardTo('out', ctx),
          ),
        ),
      );
      d.send({ value: { keep: false } });
      d.send({ value: { keep: true } });
      await d.settle();
      expect(d.produced.map((m) => m.value)).to.deep.equal(['{"keep":true}']);
      expect(d.settled.map((s) => s.outcome)).to.deep.equal(['processed', 'processed']);
      expect(d.committed).to.deep.equal({ 0: '2' });
    });
  });

  describe('concurrency', () => {
    it('runs at most workerPoolSize messages at once', async () => {
      let running = 0;
      let most = 0;
      const d = start(
        processing(async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setImmediate(resolve));
          running -= 1;
        }),
        { workerPoolSize: 2 },
      );
      for (let i = 0; i < 6; i++) d.send({ value: { Id: `e-${i}` } });
      expect(running).to.equal(2);
      await d.settle();
      expect(most).to.equal(2);
      expect(d.produced).to.have.length(6);
    });

    it('lets the next message through while one waits out its retry backoff, as the service does', async () => {
      const attempts: Array<[string, number]> = [];
      let failed = false;
      const d = start(
        processing(async (event) => {
          const { Id } = event as { Id: string };
          attempts.push([Id, d.now]);
          if (Id === 'a' && !failed) {
            failed = true;
            throw new Error('connect ECONNREFUSED');
          }
        }),
        { workerPoolSize: 1 },
      );
      d.send({ value: { Id: 'a' } });
      d.send({ value: { Id: 'b' } });
      await d.settle();
      expect(attempts).to.deep.equal([
        ['a', 0],
        ['b', 0],
        ['a', 100],
      ]);
      expect(d.settled.map(({ offset, at }) => [offset, at])).to.deep.equal([
        ['1', 0],
        ['0', 100],
      ]);
    });

    it('runs the messages of one key one at a time under order "key"', async () => {
      const gate = deferred();
      const started: string[] = [];
      const d = start(
        processing(async (event) => {
          const { Id } = event as { Id: string };
          started.push(Id);
          if (Id === 'a-1') await gate.promise;
        }),
        { order: 'key' },
      );
      d.send({ key: 'a', value: { Id: 'a-1' } });
      d.send({ key: 'a', value: { Id: 'a-2' } });
      d.send({ key: 'b', value: { Id: 'b-1' } });
      await d.advance(0);
      expect(started).to.deep.equal(['a-1', 'b-1']);
      gate.resolve();
      await d.settle();
      expect(started).to.deep.equal(['a-1', 'b-1', 'a-2']);
    });
  });

  describe('settle()', () => {
    it('names the messages it waits for when they wait on something outside virtual time', async () => {
      const d = start(processing(() => new Promise<void>(() => undefined)));
      d.send({ value: { Id: 'e-1' } });
      let error: unknown;
      await d.settle({ idleTimeoutMs: 50 }).catch((e: unknown) => (error = e));
      expect((error as Error | undefined)?.message).to.match(
        /1 message unsettled \(partition 0 offset 0\).*outside virtual time/,
      );
    });

    it('waits for work that settles in real time', async () => {
      const d = start(processing(() => new Promise<void>((resolve) => setTimeout(resolve, 30))));
      d.send({ value: { Id: 'e-1' } });
      await d.settle();
      expect(d.produced).to.have.length(1);
      expect(d.now).to.equal(0);
    });
  });

  describe('lifetime', () => {
    it('gives RxJS real time back on dispose', () => {
      const d = start(defaultPipeline, { startTime: 5 });
      expect(asyncScheduler.now()).to.equal(5);
      d.dispose();
      expect(Math.abs(asyncScheduler.now() - Date.now())).to.be.below(1000);
      expect(() => d.send({ value: {} })).to.throw(/disposed/);
    });

    it('disposes the previous driver when a new one is created', async () => {
      const first = start(defaultPipeline);
      const second = start(defaultPipeline);
      expect(() => first.send({ value: {} })).to.throw(/disposed/);
      second.send({ value: { Id: 'e-1' } });
      await second.settle();
      expect(second.produced).to.have.length(1);
      first.dispose();
      expect(asyncScheduler.now()).to.equal(0);
    });

    it('rejects what is not a pipeline, and throws what the pipeline build throws', () => {
      expect(() => createTestDriver((() => undefined) as unknown as Pipeline)).to.throw(
        TypeError,
        /definePipeline/,
      );
      const broken = definePipeline(() =>
        validate({ type: 'object', properties: { a: { type: 'strnig' } } }),
      );
      expect(() => createTestDriver(broken)).to.throw(/schema does not compile/);
      expect(Math.abs(asyncScheduler.now() - Date.now())).to.be.below(1000);
    });
  });
});
