import { AssertionError, expect } from 'chai';
import { PermanentError, StageError, type StageErrorOptions } from '../../lib/core/errors.js';
import { marbleScheduler } from './marbles.js';

const boom = new Error('boom');

function processFailed(overrides: Partial<StageErrorOptions> = {}, message = 'process failed'): StageError {
  return new StageError(message, {
    stage: 'process',
    code: 'PROCESS_FAILED',
    retriable: true,
    attempts: 4,
    cause: boom,
    ...overrides,
  });
}

/** Whether a marble expectation of `expected` accepts an observable that errors with `actual`. */
function acceptsError(actual: unknown, expected: unknown): boolean {
  return accepts('#', actual, '#', expected);
}

function accepts(
  actualMarbles: string,
  actual: unknown,
  expectedMarbles: string,
  expected: unknown,
): boolean {
  try {
    marbleScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold(actualMarbles, { v: actual }, actual)).toBe(
        expectedMarbles,
        { v: expected },
        expected,
      );
    });
    return true;
  } catch (error) {
    if (error instanceof AssertionError) return false;
    throw error;
  }
}

describe('marbleScheduler', () => {
  it('accepts an error equal in every field, though not the same object', () => {
    expect(acceptsError(processFailed(), processFailed())).to.equal(true);
  });

  const wrongFields: Array<[field: string, wrong: Partial<StageErrorOptions>]> = [
    ['stage', { stage: 'validate' }],
    ['code', { code: 'OUTPUT_WRITE_FAILED' }],
    ['retriable', { retriable: false }],
    ['attempts', { attempts: 1 }],
    ['cause', { cause: new Error('other') }],
    ['cause (missing)', { cause: undefined }],
    ['violations', { violations: [{ path: '/id', keyword: 'type', message: 'must be string' }] }],
  ];
  for (const [field, wrong] of wrongFields) {
    it(`rejects a StageError whose ${field} differs`, () => {
      expect(acceptsError(processFailed(), processFailed(wrong))).to.equal(false);
      expect(acceptsError(processFailed(wrong), processFailed())).to.equal(false);
    });
  }

  it('rejects a StageError whose message differs', () => {
    expect(acceptsError(processFailed(), processFailed({}, 'other'))).to.equal(false);
  });

  it('compares a cause by its own fields, however deep', () => {
    const wrapped = (attempts: number) => processFailed({ cause: processFailed({ attempts }) });
    expect(acceptsError(wrapped(2), wrapped(2))).to.equal(true);
    expect(acceptsError(wrapped(2), wrapped(3))).to.equal(false);
  });

  it('tells a StageError from a PermanentError and from a plain Error of the same message', () => {
    const message = 'no such account';
    expect(acceptsError(new PermanentError(message), new PermanentError(message))).to.equal(true);
    expect(acceptsError(new PermanentError(message), new Error(message))).to.equal(false);
    expect(acceptsError(processFailed({}, message), new Error(message))).to.equal(false);
  });

  it('compares the fields a foreign error carries, such as a retriable flag', () => {
    const kafkaError = (retriable: boolean) => Object.assign(new Error('timeout'), { retriable });
    expect(acceptsError(kafkaError(true), kafkaError(true))).to.equal(true);
    expect(acceptsError(kafkaError(true), kafkaError(false))).to.equal(false);
  });

  it('compares errors inside the values a stream emits, such as a settlement', () => {
    const settlement = (attempts: number) => ({
      outcome: 'dead-lettered',
      error: processFailed({ attempts }),
    });
    expect(accepts('v', settlement(4), 'v', settlement(4))).to.equal(true);
    expect(accepts('v', settlement(4), 'v', settlement(1))).to.equal(false);
    expect(accepts('v', [settlement(4)], 'v', [settlement(1)])).to.equal(false);
  });

  it('still compares everything else as deep equality does', () => {
    expect(accepts('v', { key: Buffer.from('a') }, 'v', { key: Buffer.from('a') })).to.equal(true);
    expect(accepts('v', { key: Buffer.from('a') }, 'v', { key: Buffer.from('b') })).to.equal(false);
    expect(accepts('v', { a: 1 }, 'v', { a: 1, b: undefined })).to.equal(false);
    expect(accepts('-v', 1, 'v', 1)).to.equal(false);
  });

  it('compares structures that refer to themselves', () => {
    const looped = (attempts: number) => {
      const value: Record<string, unknown> = { error: processFailed({ attempts }) };
      value.self = value;
      return value;
    };
    expect(accepts('v', looped(4), 'v', looped(4))).to.equal(true);
    expect(accepts('v', looped(4), 'v', looped(1))).to.equal(false);
  });
});
