import { expect } from 'chai';
import { createRequire } from 'node:module';
import { coordinatorRetryDelay, withCoordinatorRetries } from '../../lib/cli/coordinator-retries.js';

/** The error kafkajs raises for a broker's error code (14, 15, 16: the coordinator is not ready). */
const { createErrorFromCode: protocolError } = createRequire(import.meta.url)(
  'kafkajs/src/protocol/error.js',
) as { createErrorFromCode(code: number): Error };

/** A request failing with `failures` in turn, then answering 'offsets'. */
function requestFailingWith(failures: unknown[]) {
  const calls = { count: 0 };
  const request = async () => {
    const failure = failures[calls.count++];
    if (failure !== undefined) throw failure;
    return 'offsets';
  };
  return { request, calls };
}

describe('withCoordinatorRetries', () => {
  it('asks again while the coordinator loads, is not available or moved, with growing waits', async () => {
    const waits: number[] = [];
    const { request, calls } = requestFailingWith([protocolError(14), protocolError(15), protocolError(16)]);
    const answer = await withCoordinatorRetries(request, { wait: async (ms) => void waits.push(ms) });
    expect(answer).to.equal('offsets');
    expect(calls.count).to.equal(4);
    expect(waits).to.deep.equal([250, 500, 1000]);
  });

  it('gives the last error after the attempts run out', async () => {
    const notCoordinator = protocolError(16);
    const { request, calls } = requestFailingWith(Array.from({ length: 10 }, () => notCoordinator));
    const error = await withCoordinatorRetries(request, { attempts: 3, wait: async () => undefined }).catch(
      (e: unknown) => e,
    );
    expect(error).to.equal(notCoordinator);
    expect(calls.count).to.equal(3);
  });

  it('gives any other error at once', async () => {
    for (const other of [protocolError(3), new Error('boom'), 'not an error']) {
      const { request, calls } = requestFailingWith([other]);
      const error = await withCoordinatorRetries(request, { wait: async () => undefined }).catch(
        (e: unknown) => e,
      );
      expect(error).to.equal(other);
      expect(calls.count).to.equal(1);
    }
  });

  it('waits at most 2 s between attempts, under 10 s over the default 8 attempts', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map(coordinatorRetryDelay);
    expect(waits).to.deep.equal([250, 500, 1000, 2000, 2000, 2000, 2000]);
    expect(waits.reduce((a, b) => a + b)).to.equal(9750);
  });
});
