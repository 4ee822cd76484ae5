import { expect } from 'chai';
import { createServer } from 'node:net';
import { isRetriable, PermanentError, StageError } from '../../lib/core/errors.js';

/** A local port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What `fetch(url)` rejects with. */
async function fetchFailure(url: string): Promise<unknown> {
  try {
    await fetch(url);
  } catch (error) {
    return error;
  }
  throw new Error(`fetch ${url} did not fail`);
}

/** A TypeError as fetch makes it, with a system error of `code` as its cause. */
function fetchFailedWith(code: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

describe('isRetriable', () => {
  it('retries fetch when the server refuses the connection (a real fetch to a closed port)', async () => {
    const error = await fetchFailure(`http://127.0.0.1:${await closedPort()}/customers/c-1`);
    expect(error).to.be.instanceOf(TypeError);
    expect((error as TypeError).cause).to.have.property('code', 'ECONNREFUSED');
    expect(isRetriable(error)).to.equal(true);
  });

  for (const code of [
    'ETIMEDOUT',
    'ENOTFOUND',
    'ECONNRESET',
    'EAI_AGAIN',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_SOCKET',
  ]) {
    it(`retries fetch failing with ${code}`, () => {
      expect(isRetriable(fetchFailedWith(code))).to.equal(true);
    });
  }

  it('finds the network error inside an AggregateError cause (a host with several addresses)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:80'), { code: 'ECONNREFUSED' });
    const error = new TypeError('fetch failed', { cause: new AggregateError([refused], 'all failed') });
    expect(isRetriable(error)).to.equal(true);
  });

  it('keeps other TypeErrors permanent: they are bugs', () => {
    expect(isRetriable(new TypeError("Cannot read properties of undefined (reading 'id')"))).to.equal(false);
    expect(isRetriable(new TypeError('fetch failed', { cause: new Error('invalid header') }))).to.equal(
      false,
    );
    expect(isRetriable(new TypeError('fetch failed', { cause: { code: 'ERR_INVALID_URL' } }))).to.equal(
      false,
    );
  });

  it('keeps PermanentError, non-retriable StageErrors and RangeError permanent; plain errors retriable', () => {
    expect(isRetriable(new PermanentError('unknown customer'))).to.equal(false);
    expect(
      isRetriable(new StageError('bad', { stage: 'decode', code: 'INVALID_JSON', retriable: false })),
    ).to.equal(false);
    expect(isRetriable(new RangeError('out of range'))).to.equal(false);
    expect(isRetriable(new Error('customers answered 503'))).to.equal(true);
  });
});
