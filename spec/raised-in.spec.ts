import { expect } from 'chai';
import { firstValueFrom, Observable, of, type OperatorFunction } from 'rxjs';
import {
  DEAD_LETTER_KINDS,
  ERROR_CODES,
  PermanentError,
  RAISED_IN,
  StageError,
  type ErrorCode,
  type Stage,
} from '../lib/core/errors.js';
import { decodeJson } from '../lib/operators/decode-json.js';
import { mapEvents } from '../lib/operators/map-events.js';
import { process } from '../lib/operators/process.js';
import { validate } from '../lib/operators/validate.js';
import type { PipelineContext } from '../lib/pipeline/define-pipeline.js';
import type { Delivery } from '../lib/core/delivery.js';
import { handleMessage, type Settlement } from '../lib/core/handle-message.js';
import { forwardTo } from '../lib/pipeline/route-to.js';
import { classify } from '../lib/sinks/dead-letter.js';
import { makeDelivery } from './operators/support/delivery.js';

interface Raised {
  stage: Stage;
  code: ErrorCode;
  deadLettered: boolean;
}

/**
 * Runs one message through `chain` as the service does (handleMessage) and says how its
 * failure was classified and whether its dead letter was asked for.
 */
async function raise(chain: OperatorFunction<Delivery, unknown>, delivery = makeDelivery()): Promise<Raised> {
  let written: unknown;
  const handler = handleMessage(chain, (_delivery, error) => {
    written = error;
    return of(true);
  });
  const result = await firstValueFrom(handler(delivery));
  const settlement: Settlement = result instanceof Observable ? await firstValueFrom(result) : result;
  expect(settlement.outcome).to.not.equal('processed');
  const { stage, code } = classify(settlement.error);
  expect(settlement.error, `${code}`).to.be.instanceOf(StageError);
  return { stage, code, deadLettered: settlement.outcome === 'dead-lettered' && written !== undefined };
}

const withValue = (value: string | Buffer | null) =>
  makeDelivery({ value: typeof value === 'string' ? Buffer.from(value) : value });

const failingWrites: PipelineContext = {
  schema: {},
  outputTopic: 'out',
  retry: { maxAttempts: 0 },
  logger: undefined as never,
  produce: () => Promise.reject(new Error('broker refused')),
};

describe('RAISED_IN (stage and dead-lettering of every error code)', () => {
  const cases: Array<[string, () => Promise<Raised>]> = [
    ['decodeJson: a null value', () => raise(decodeJson(), withValue(null))],
    ['decodeJson: bytes that are not UTF-8', () => raise(decodeJson(), withValue(Buffer.from([0xc3, 0x28])))],
    ['decodeJson: text that is not JSON', () => raise(decodeJson(), withValue('{'))],
    ['decodeJson: JSON nested too deep', () => raise(decodeJson({ maxDepth: 2 }), withValue('[[[[1]]]]'))],
    [
      'validate: an event against its schema',
      () =>
        raise(
          (source) =>
            source.pipe(
              decodeJson(),
              validate({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }),
            ),
          withValue('{}'),
        ),
    ],
    [
      'process: retries used up',
      () =>
        raise(
          process(
            () => {
              throw new Error('down');
            },
            { retry: { maxAttempts: 0 } },
          ),
        ),
    ],
    [
      'process: the last attempt timed out',
      () =>
        raise(
          process(() => new Promise(() => undefined), { retry: { maxAttempts: 0, attemptTimeoutMs: 5 } }),
        ),
    ],
    [
      'process: a permanent error',
      () =>
        raise(
          process(() => {
            throw new PermanentError('no such customer');
          }),
        ),
    ],
    [
      'mapEvents: a projection that throws',
      () =>
        raise(
          mapEvents(() => {
            throw new Error('bad field');
          }),
        ),
    ],
    ['forwardTo: a write the broker refuses', () => raise(forwardTo('out', failingWrites))],
    [
      'process: the partition revoked during a retry',
      () => {
        const revoked = new AbortController();
        revoked.abort();
        return raise(
          process(
            () => {
              throw new Error('down');
            },
            { retry: { maxAttempts: 3, baseDelayMs: 60_000 } },
          ),
          makeDelivery({ signal: revoked.signal }),
        );
      },
    ],
  ];

  const raised = new Set<ErrorCode>();
  for (const [what, run] of cases) {
    it(`${what}: as the table says`, async () => {
      const { stage, code, deadLettered } = await run();
      raised.add(code);
      expect({ stage, deadLettered }, code).to.deep.equal(RAISED_IN[code]);
    });
  }

  it('counts an error that is no StageError as process/PROCESS_FAILED, a dead-lettered pair', () => {
    const { stage, code } = classify(new Error('from user code'));
    expect(DEAD_LETTER_KINDS).to.deep.include({ stage, code });
  });

  it('has every code raised by one of the cases above', () => {
    expect([...raised].sort()).to.deep.equal([...ERROR_CODES].sort());
  });

  it('lists as dead-letter kinds the dead-lettered codes, each in its stage', () => {
    expect(DEAD_LETTER_KINDS.map(({ code }) => code)).to.not.include('REVOKED');
    expect(DEAD_LETTER_KINDS).to.have.length(ERROR_CODES.length - 1);
    expect(DEAD_LETTER_KINDS).to.deep.include({ stage: 'decode', code: 'INVALID_JSON' });
    expect(DEAD_LETTER_KINDS).to.not.deep.include({ stage: 'decode', code: 'PROCESS_FAILED' });
  });
});
