import { expect } from 'chai';
import {
  BatchingProducer,
  UnacknowledgedWriteError,
  type OutgoingMessage,
} from '../../lib/sinks/batching-producer.js';
import type { OutgoingRecord, WriteAnswer } from '../../lib/sinks/record-writer.js';

interface Request {
  records: readonly OutgoingRecord[];
  ack(answer?: Partial<WriteAnswer>): void;
  fail(error: unknown): void;
}

/**
 * A writer whose every write waits until the spec acknowledges or fails it. By default an
 * answer names no partitions, so nothing is checked against it.
 */
function fakeWriter() {
  const requests: Request[] = [];
  const writer = {
    write(records: readonly OutgoingRecord[]): Promise<WriteAnswer> {
      return new Promise((resolve, reject) => {
        requests.push({
          records: [...records],
          ack: (answer = {}) =>
            resolve({ partitions: records.map(() => undefined), acknowledged: [], ...answer }),
          fail: reject,
        });
      });
    },
  };
  return { writer, requests };
}

/** Lets the producer run: an answer is handled in microtasks, the flush it schedules a turn later. */
const tick = async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
};

type State = 'pending' | 'resolved' | { rejected: unknown };

/** Follows a send's promise so the spec can ask where it stands at any moment. */
function track(promise: Promise<void>): { readonly state: State } {
  const tracked: { state: State } = { state: 'pending' };
  promise.then(
    () => (tracked.state = 'resolved'),
    (error: unknown) => (tracked.state = { rejected: error }),
  );
  return tracked;
}

const message = (value: string): OutgoingMessage => ({ key: null, value });

/** The topics and message values of a request, grouped by topic in order of appearance. */
const contents = (request: Request | undefined) => {
  const byTopic = new Map<string, unknown[]>();
  for (const { topic, message } of request?.records ?? []) {
    if (!byTopic.has(topic)) byTopic.set(topic, []);
    byTopic.get(topic)!.push(message.value);
  }
  return [...byTopic].map(([topic, values]) => ({ topic, values }));
};

describe('BatchingProducer', () => {
  it('sends the messages of one turn of the event loop in one request, in order', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer);
    const headers = { trace: 'abc' };
    const sent = [
      track(batching.send('a', { key: 'k1', value: '1', headers })),
      track(batching.send('b', message('2'))),
      track(batching.send('a', message('3'))),
    ];
    expect(requests, 'nothing before the turn is over').to.have.length(0);

    await tick();
    expect(requests).to.have.length(1);
    expect(requests[0]?.records.map(({ topic, message }) => ({ topic, message }))).to.deep.equal([
      { topic: 'a', message: { key: 'k1', value: '1', headers } },
      { topic: 'b', message: message('2') },
      { topic: 'a', message: message('3') },
    ]);
    expect(sent.map((s) => s.state)).to.deep.equal(Array(3).fill('pending'));
    requests[0]?.ack();
    await tick();
    expect(sent.map((s) => s.state)).to.deep.equal(Array(3).fill('resolved'));
  });

  it('keeps up to maxInFlight requests awaiting the broker; what queues meanwhile goes together in the next one', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer, { maxInFlight: 2 });
    const first = track(batching.send('a', message('1')));
    await tick();
    const second = track(batching.send('a', message('2')));
    await tick();
    expect(requests, 'two in flight').to.have.length(2);
    const queued = [track(batching.send('a', message('3'))), track(batching.send('b', message('4')))];
    await tick();
    expect(requests, 'a third waits for an answer').to.have.length(2);

    requests[1]?.ack();
    await tick();
    expect([first.state, second.state]).to.deep.equal(['pending', 'resolved']);
    expect(requests).to.have.length(3);
    expect(contents(requests[2])).to.deep.equal([
      { topic: 'a', values: ['3'] },
      { topic: 'b', values: ['4'] },
    ]);
    requests[0]?.ack();
    requests[2]?.ack();
    await tick();
    expect([first.state, ...queued.map((q) => q.state)]).to.deep.equal(Array(3).fill('resolved'));
    expect(requests, 'nothing left to send').to.have.length(3);
  });

  it('with maxInFlight 1, sends a request only once the previous one was answered', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer, { maxInFlight: 1 });
    void batching.send('a', message('1'));
    await tick();
    void batching.send('a', message('2'));
    void batching.send('a', message('3'));
    await tick();
    expect(requests).to.have.length(1);
    requests[0]?.ack();
    await tick();
    expect(requests.map(contents)).to.deep.equal([
      [{ topic: 'a', values: ['1'] }],
      [{ topic: 'a', values: ['2', '3'] }],
    ]);
  });

  it('rejects exactly the messages of a failed request, and still sends the later ones', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer, { maxInFlight: 1 });
    const first = track(batching.send('a', message('1')));
    await tick();
    const failing = [track(batching.send('a', message('2'))), track(batching.send('b', message('3')))];
    requests[0]?.ack();
    await tick();
    const later = track(batching.send('a', message('4')));

    const refused = new Error('NOT_ENOUGH_REPLICAS');
    requests[1]?.fail(refused);
    await tick();
    expect(first.state).to.equal('resolved');
    expect(failing.map((f) => f.state)).to.deep.equal([{ rejected: refused }, { rejected: refused }]);
    expect(later.state).to.equal('pending');
    expect(contents(requests[2])).to.deep.equal([{ topic: 'a', values: ['4'] }]);

    requests[2]?.ack();
    await tick();
    expect(later.state).to.equal('resolved');
  });

  it('keeps sending after a failure of the very first request', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer);
    const failed = track(batching.send('a', message('1')));
    await tick();
    const down = new Error('down');
    requests[0]?.fail(down);
    await tick();
    expect(failed.state).to.deep.equal({ rejected: down });

    const next = track(batching.send('a', message('2')));
    await tick();
    expect(requests).to.have.length(2);
    requests[1]?.ack();
    await tick();
    expect(next.state).to.equal('resolved');
  });

  it('splits the queue into requests of at most maxBatch messages, in order, several in flight at once', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer, { maxBatch: 2 });
    const sent = ['1', '2', '3', '4', '5'].map((value, i) =>
      track(batching.send(i % 2 === 0 ? 'a' : 'b', message(value))),
    );
    await tick();
    expect(requests.map(contents)).to.deep.equal([
      [
        { topic: 'a', values: ['1'] },
        { topic: 'b', values: ['2'] },
      ],
      [
        { topic: 'a', values: ['3'] },
        { topic: 'b', values: ['4'] },
      ],
      [{ topic: 'a', values: ['5'] }],
    ]);
    requests[1]?.ack();
    await tick();
    expect(sent.map((s) => s.state)).to.deep.equal(['pending', 'pending', 'resolved', 'resolved', 'pending']);
  });

  it('keeps a request within maxBatchBytes; a single larger message goes alone', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer, { maxBatchBytes: 1000 });
    const value = (bytes: number) => 'x'.repeat(bytes);
    void batching.send('a', message(value(400)));
    void batching.send('a', message(value(400)));
    void batching.send('a', message(value(400)));
    void batching.send('a', message(value(5000)));
    void batching.send('a', message(value(10)));
    await tick();
    expect(requests.map((r) => r.records.map(({ message }) => String(message.value).length))).to.deep.equal([
      [400, 400],
      [400],
      [5000],
      [10],
    ]);
  });
});

describe('BatchingProducer against answers that lack a partition', () => {
  it('fails the messages of a partition missing from the answer, and only those', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer);
    const sent = ['0', '1', '2', '3', '4', '5'].map((value) => track(batching.send('out', message(value))));
    const unplaced = track(batching.send('other', message('6')));
    await tick();
    // Message i went to partition i % 3 of 'out'; the broker's answer lacks partition 1, and
    // the client did not say where the last one went.
    requests[0]?.ack({
      partitions: [0, 1, 2, 0, 1, 2, undefined],
      acknowledged: [
        { topic: 'out', partition: 0 },
        { topic: 'out', partition: 2 },
        { topic: 'other', partition: 1 },
      ],
    });
    await tick();
    expect(sent.map((s) => (s.state === 'resolved' ? 'resolved' : 'failed'))).to.deep.equal([
      'resolved',
      'failed',
      'resolved',
      'resolved',
      'failed',
      'resolved',
    ]);
    for (const failed of [sent[1]!, sent[4]!]) {
      const { rejected } = failed.state as { rejected: unknown };
      expect(rejected).to.be.instanceOf(UnacknowledgedWriteError);
      expect((rejected as UnacknowledgedWriteError).retriable).to.equal(true);
      expect((rejected as Error).message).to.include('out partition 1');
    }
    expect(unplaced.state).to.equal('resolved');
  });

  it('takes a partition of one topic for itself, not for the same partition of another topic', async () => {
    const { writer, requests } = fakeWriter();
    const batching = new BatchingProducer(writer);
    const sent = [track(batching.send('a', message('1'))), track(batching.send('b', message('2')))];
    await tick();
    requests[0]?.ack({ partitions: [0, 0], acknowledged: [{ topic: 'a', partition: 0 }] });
    await tick();
    expect(sent[0]!.state).to.equal('resolved');
    expect(sent[1]!.state).to.have.property('rejected').that.is.instanceOf(UnacknowledgedWriteError);
  });
});
