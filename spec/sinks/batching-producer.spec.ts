import { expect } from 'chai';
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import {
  BatchingProducer,
  UnacknowledgedWriteError,
  type OutgoingMessage,
} from '../../lib/sinks/batching-producer.js';
import { recordingPartitioner } from '../../lib/sinks/recording-partitioner.js';

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

/** The topics and message values of a request, in the order they were sent. */
const contents = (request: Request | undefined) =>
  request?.batch.topicMessages?.map(({ topic, messages }) => ({
    topic,
    values: messages.map((m) => m.value),
  }));

describe('BatchingProducer', () => {
  it('sends the messages of one turn of the event loop in one request, grouped by topic, with acks from all replicas', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
    const headers = { trace: 'abc' };
    const sent = [
      track(batching.send('a', { key: 'k1', value: '1', headers })),
      track(batching.send('b', message('2'))),
      track(batching.send('a', message('3'))),
    ];
    expect(requests, 'nothing before the turn is over').to.have.length(0);

    await tick();
    expect(requests).to.have.length(1);
    expect(requests[0]?.batch).to.deep.equal({
      acks: -1,
      topicMessages: [
        { topic: 'a', messages: [{ key: 'k1', value: '1', headers }, message('3')] },
        { topic: 'b', messages: [message('2')] },
      ],
    });
    expect(sent.map((s) => s.state)).to.deep.equal(Array(3).fill('pending'));
    requests[0]?.ack();
    await tick();
    expect(sent.map((s) => s.state)).to.deep.equal(Array(3).fill('resolved'));
  });

  it('keeps up to maxInFlight requests awaiting the broker; what queues meanwhile goes together in the next one', async () => {
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, { maxInFlight: 2 });
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
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, { maxInFlight: 1 });
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
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, { maxInFlight: 1 });
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
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer);
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
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, { maxBatch: 2 });
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
    const { producer, requests } = fakeProducer();
    const batching = new BatchingProducer(producer, { maxBatchBytes: 1000 });
    const value = (bytes: number) => 'x'.repeat(bytes);
    void batching.send('a', message(value(400)));
    void batching.send('a', message(value(400)));
    void batching.send('a', message(value(400)));
    void batching.send('a', message(value(5000)));
    void batching.send('a', message(value(10)));
    await tick();
    expect(
      requests.map((r) => r.batch.topicMessages![0]!.messages.map((m) => String(m.value).length)),
    ).to.deep.equal([[400, 400], [400], [5000], [10]]);
  });
});

describe('BatchingProducer against answers that lack a partition', () => {
  it('fails the messages of a partition missing from the answer, and only those', async () => {
    const partitions = recordingPartitioner();
    const pick = partitions.createPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    let answer: RecordMetadata[] = [];
    const producer = {
      // Picks partitions as kafkajs does, then answers like kafkajs 2.2.4 after a leader moved
      // onto a broker that had answered already: one partition is simply not in the answer.
      async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
        const picked = new Set<number>();
        for (const { topic, messages } of batch.topicMessages!)
          for (const message of messages) picked.add(pick({ topic, partitionMetadata, message }));
        const [dropped, ...kept] = [...picked].sort();
        expect(dropped).to.not.equal(undefined);
        answer = kept.map((partition) => ({ topicName: 'out', partition, errorCode: 0 }));
        return answer;
      },
    };
    const batching = new BatchingProducer(producer, { partitionOf: partitions.partitionOf });
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i}`, value: `v${i}` }));
    const results = await Promise.allSettled(messages.map((message) => batching.send('out', message)));
    const acknowledged = new Set(answer.map(({ partition }) => partition));
    results.forEach((result, i) => {
      const partition = partitions.partitionOf('out', messages[i]!)!;
      if (acknowledged.has(partition)) expect(result.status, `message ${i}`).to.equal('fulfilled');
      else {
        expect(result.status, `message ${i}`).to.equal('rejected');
        expect((result as PromiseRejectedResult).reason).to.be.instanceOf(UnacknowledgedWriteError);
      }
    });
    expect(results.filter((r) => r.status === 'rejected').length).to.be.greaterThan(0);
  });
});
