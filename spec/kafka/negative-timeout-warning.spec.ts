import { expect } from 'chai';
import { createRequire } from 'node:module';
import { ignoreKafkajsNegativeTimeouts } from '../../lib/kafka/negative-timeout-warning.js';

// kafkajs's own request queue, as its connections create it.
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (
  options: object,
) => { scheduleCheckPendingRequests(): void; destroy(): void };

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The warnings emitted while `run` runs and the timers it set fire. */
async function warningsDuring(run: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error) => seen.push(warning);
  process.on('warning', listener);
  try {
    run();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // 'warning' is emitted on the next tick after emitWarning.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

function kafkajsQueueScheduling(): void {
  const queue = new RequestQueue({
    instrumentationEmitter: { emit() {} },
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: 'spec',
    broker: 'localhost:9092',
    logger: silentLogger,
  });
  queue.scheduleCheckPendingRequests();
  queue.destroy();
}

describe('the kafkajs negative-timeout warning', () => {
  it('is raised by kafkajs on this Node.js, so the filter has something to do', async function () {
    const seen = await warningsDuring(kafkajsQueueScheduling);
    if (Number(process.versions.node.split('.')[0]) < 24) this.skip();
    expect(seen.map((w) => w.name)).to.include('TimeoutNegativeWarning');
  });

  it('is dropped when kafkajs raises it', async () => {
    const restore = ignoreKafkajsNegativeTimeouts();
    try {
      const seen = await warningsDuring(kafkajsQueueScheduling);
      expect(seen.map((w) => w.name)).to.not.include('TimeoutNegativeWarning');
    } finally {
      restore();
    }
  });

  it('still reaches the log from anywhere else, as does any other warning', async () => {
    const restore = ignoreKafkajsNegativeTimeouts();
    try {
      const seen = await warningsDuring(() => {
        process.emitWarning('-5 is a negative number', 'TimeoutNegativeWarning');
        process.emitWarning('something else', { type: 'SpecWarning', code: 'SPEC' });
      });
      expect(seen.map((w) => w.name)).to.deep.equal(['TimeoutNegativeWarning', 'SpecWarning']);
    } finally {
      restore();
    }
  });
});
