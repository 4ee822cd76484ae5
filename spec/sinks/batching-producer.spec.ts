import { expect } from 'chai';
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import { BatchingProducer, type OutgoingMessage } from '../../lib/sinks/batching-producer.js';

interface Request {
  batch: ProducerBatch;
  ack(): void;
  fail(error: unknown): void;
}

/** A producer whose every sendBatch waits until the spec acknowledges or fails it. */
function fakeProducer() {
  const requests: Request[] = [];
  const producer = {
    sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
      return new Promise((resolve, reject) => {
        requests.push({ batch, ack: () => resolve([]), fail: reject });
      });
    },
  };
  return { producer, requests };
}

/** Lets the producer's promise chain run: its loop resumes a few microtasks after an ack. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

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

/** The topics and message values of a request, in the order they were sent. */
const contents = (request: Request | undefined) =>
  request?.batch.topicMessages?.map(({ topic, messages }) => ({
    topic,
    values: messages.map((m) => m.value),
  }));

describe('BatchingProducer', () => {
  it('sends the first message at once, in a request of its own, with acks from all replicas', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    const headers = { trace: 'abc' };
    const sent = track(batching.send('orders', { key: 'k1', value: 'v1', headers }));

    expect(requests).to.have.length(1);
    expect(requests[0]?.batch).to.deep.equal({
      acks: -1,
      topicMessages: [{ topic: 'orders', messages: [{ key: 'k1', value: 'v1', headers }] }],
    });
    await tick();
    expect(sent.state).to.equal('pending');
    requests[0]?.ack();
    await tick();
    expect(sent.state).to.equal('resolved');
  });

  it('sends the messages queued while a request is in flight together in the next one, grouped by topic, in order', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    const first = track(batching.send('a', message('1')));
    const queued = [
      track(batching.send('a', message('2'))),
      track(batching.send('b', message('3'))),
      track(batching.send('a', message('4'))),
      track(batching.send('c', message('5'))),
      track(batching.send('b', message('6'))),
    ];
    await tick();
    expect(requests, 'one request at a time').to.have.length(1);

    requests[0]?.ack();
    await tick();
    expect(first.state).to.equal('resolved');
    expect(queued.map((q) => q.state)).to.deep.equal(Array(5).fill('pending'));
    expect(requests).to.have.length(2);
    expect(requests[1]?.batch.acks).to.equal(-1);
    expect(contents(requests[1])).to.deep.equal([
      { topic: 'a', values: ['2', '4'] },
      { topic: 'b', values: ['3', '6'] },
      { topic: 'c', values: ['5'] },
    ]);

    requests[1]?.ack();
    await tick();
    expect(queued.map((q) => q.state)).to.deep.equal(Array(5).fill('resolved'));
    expect(requests, 'nothing left to send').to.have.length(2);
  });

  it('resolves each message only when its own request is acknowledged', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    const first = track(batching.send('a', message('1')));
    const second = track(batching.send('a', message('2')));
    requests[0]?.ack();
    await tick();
    const third = track(batching.send('a', message('3')));
    await tick();
    expect([first.state, second.state, third.state]).to.deep.equal(['resolved', 'pending', 'pending']);

    requests[1]?.ack();
    await tick();
    expect([second.state, third.state]).to.deep.equal(['resolved', 'pending']);
    expect(contents(requests[2])).to.deep.equal([{ topic: 'a', values: ['3'] }]);

    requests[2]?.ack();
    await tick();
    expect(third.state).to.equal('resolved');
  });

  it('rejects exactly the messages of a failed request, and still sends the later ones', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    const first = track(batching.send('a', message('1')));
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
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    const failed = track(batching.send('a', message('1')));
    const down = new Error('down');
    requests[0]?.fail(down);
    await tick();
    expect(failed.state).to.deep.equal({ rejected: down });

    const next = track(batching.send('a', message('2')));
    expect(requests, 'an idle producer sends at once again').to.have.length(2);
    requests[1]?.ack();
    await tick();
    expect(next.state).to.equal('resolved');
  });

  it('sends at once again after it went idle', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    void batching.send('a', message('1'));
    requests[0]?.ack();
    await tick();
    void batching.send('a', message('2'));
    expect(requests).to.have.length(2);
    expect(contents(requests[1])).to.deep.equal([{ topic: 'a', values: ['2'] }]);
  });

  it('splits the queue into requests of at most maxBatch messages, in order', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, 2);
    const sent = ['1', '2', '3', '4', '5', '6'].map((value, i) =>
      track(batching.send(i % 2 === 0 ? 'a' : 'b', message(value))),
    );
    for (let i = 0; i < 4; i += 1) {
      requests[i]?.ack();
      await tick();
    }
    expect(requests.map(contents)).to.deep.equal([
      [{ topic: 'a', values: ['1'] }],
      [
        { topic: 'b', values: ['2'] },
        { topic: 'a', values: ['3'] },
      ],
      [
        { topic: 'b', values: ['4'] },
        { topic: 'a', values: ['5'] },
      ],
      [{ topic: 'b', values: ['6'] }],
    ]);
    expect(requests.every((r) => r.batch.acks === -1)).to.equal(true);
    expect(sent.map((s) => s.state)).to.deep.equal(Array(6).fill('resolved'));
  });

  it('resolves the messages of a split request only as each part is acknowledged', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, 2);
    const sent = ['1', '2', '3', '4'].map((value) => track(batching.send('a', message(value))));
    requests[0]?.ack();
    await tick();
    requests[1]?.ack();
    await tick();
    expect(sent.map((s) => s.state)).to.deep.equal(['resolved', 'resolved', 'resolved', 'pending']);
  });
});
