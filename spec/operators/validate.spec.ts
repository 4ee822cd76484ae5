import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catchError, map, type Observable, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { StageError } from '../../lib/core/errors.js';
import { validate, type ValidateOptions } from '../../lib/operators/validate.js';
import type { Delivery } from '../../lib/core/delivery.js';
import { projectRoot } from '../../lib/project-root.js';
import { makeDelivery } from './support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

interface Payment {
  Id: string;
  amount: number;
  tags?: string[];
}

const paymentSchema = {
  type: 'object',
  required: ['Id', 'amount'],
  properties: {
    Id: { type: 'string', minLength: 1 },
    amount: { type: 'number', minimum: 0 },
    tags: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: false,
};

/** Runs one event through validate synchronously and returns the error it raised. */
function validationError(
  event: unknown,
  schema: object | ValidateFunction = paymentSchema,
  options?: ValidateOptions,
): StageError {
  let error: unknown;
  let passed = false;
  of(makeDelivery({ event }))
    .pipe(validate(schema, options))
    .subscribe({ next: () => (passed = true), error: (e: unknown) => (error = e) });
  expect(passed, 'event passed').to.equal(false);
  expect(error).to.be.instanceOf(StageError);
  expect(error).to.include({ stage: 'validate', code: 'SCHEMA_VIOLATION', retriable: false });
  return error as StageError;
}

describe('validate', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = marbleScheduler();
  });

  describe('as an operator', () => {
    const a = makeDelivery({ event: { Id: 'a', amount: 1 } });
    const b = makeDelivery({ event: { Id: 'b', amount: 2, tags: ['x'] } });
    const c = makeDelivery({ event: { Id: 'c', amount: 0 } });
    const e = makeDelivery({ event: { Id: 'e', amount: -1 } });
    const values = { a, b, c, e };
    // Compiling costs tens of milliseconds; one operator serves any number of subscriptions.
    const validatePayment = validate<Payment>(paymentSchema);

    it('completes when the source completes empty', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Delivery>('|');
        const e1subs = '    (^!)';
        const expected = '  |';
        expectObservable(e1.pipe(validatePayment)).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('never emits when the source never does', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Delivery>('-');
        const e1subs = '    ^';
        const expected = '  -';
        expectObservable(e1.pipe(validatePayment)).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('passes one valid delivery on unchanged', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  --a--|', values);
        const e1subs = '  ^----!';
        const expected = '--a--|';
        expectObservable(e1.pipe(validatePayment)).toBe(expected, values);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('passes many valid deliveries in order', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-b-c-|', values);
        const e1subs = '  ^------!';
        const expected = '-a-b-c-|';
        expectObservable(e1.pipe(validatePayment)).toBe(expected, values);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('passes an error from upstream through', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-#', values, new Error('upstream'));
        const e1subs = '  ^--!';
        const expected = '-a-#';
        expectObservable(e1.pipe(validatePayment)).toBe(expected, values, new Error('upstream'));
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('stops at an early unsubscribe', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-b-c-|', values);
        const unsub = '   ---!';
        const e1subs = '  ^--!';
        const expected = '-a--';
        expectObservable(e1.pipe(validatePayment), unsub).toBe(expected, values);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('raises an invalid event as an error notification and unsubscribes from the source', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-e-c-|', values);
        const e1subs = '  ^--!';
        const expected = '-a-#';
        const error = new StageError('event violates schema: /amount must be >= 0', {
          stage: 'validate',
          code: 'SCHEMA_VIOLATION',
          retriable: false,
          violations: [{ path: '/amount', keyword: 'minimum', message: 'must be >= 0' }],
        });
        expectObservable(e1.pipe(validatePayment)).toBe(expected, values, error);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('emits the very delivery it received, typed with the schema type', () => {
      const seen: Delivery<Payment>[] = [];
      const ids: Observable<string> = of(a).pipe(
        validatePayment,
        map((d) => (seen.push(d), d.event.Id)),
      );
      ids.subscribe();
      expect(seen[0]).to.equal(a);
    });

    it('lets the per-message catchError see a violation instead of throwing out of subscribe', () => {
      let caught: unknown;
      expect(() =>
        of(e)
          .pipe(
            validatePayment,
            catchError((error: unknown) => of((caught = error))),
          )
          .subscribe(),
      ).not.to.throw();
      expect(caught).to.be.instanceOf(StageError);
    });
  });

  describe('violations', () => {
    it('reports every violation (allErrors) with path, keyword and message', () => {
      const error = validationError({ amount: 'ten', tags: ['ok', 7], extra: true });
      expect(error.violations).to.deep.equal([
        { path: '/', keyword: 'required', message: "must have required property 'Id'" },
        {
          path: '/',
          keyword: 'additionalProperties',
          message: "must NOT have additional properties 'extra'",
        },
        { path: '/amount', keyword: 'type', message: 'must be number' },
        { path: '/tags/1', keyword: 'type', message: 'must be string' },
      ]);
    });

    it('summarises the first three violations in the message', () => {
      const error = validationError({ amount: 'ten', tags: ['ok', 7], extra: true });
      expect(error.message).to.equal(
        "event violates schema: / must have required property 'Id'; " +
          "/ must NOT have additional properties 'extra'; /amount must be number; and 1 more",
      );
      expect(validationError({ Id: '', amount: 1 }, paymentSchema, { maxInMessage: 1 }).message).to.equal(
        'event violates schema: /Id must NOT have fewer than 1 characters',
      );
    });

    it('reports a root type mismatch at "/"', () => {
      expect(validationError('not an object').violations).to.deep.equal([
        { path: '/', keyword: 'type', message: 'must be object' },
      ]);
      expect(validationError(undefined).violations?.[0]).to.include({ path: '/', keyword: 'type' });
    });

    it('keeps at most maxViolations on the error, so a huge invalid event stays small', () => {
      const event = { Id: 'x', amount: 1, tags: Array.from({ length: 500 }, (_, i) => i) };
      const error = validationError(event, paymentSchema, { maxViolations: 10 });
      expect(error.violations).to.have.length(10);
      expect(error.message).to.match(/and 497 more$/);
      expect(validationError(event).violations).to.have.length(100);
    });

    it('reads the violations before the next event reuses the validator', () => {
      const check = new Ajv({ allErrors: true }).compile(paymentSchema);
      const first = validationError({ Id: 'x', amount: -1 }, check);
      validationError({ amount: 1 }, check);
      expect(first.violations).to.deep.equal([
        { path: '/amount', keyword: 'minimum', message: 'must be >= 0' },
      ]);
    });
  });

  describe('the schema', () => {
    it('is compiled once, when the operator is created', () => {
      const compiled: unknown[] = [];
      const compile = Ajv.prototype.compile;
      Ajv.prototype.compile = function (this: Ajv, ...args: Parameters<Ajv['compile']>) {
        compiled.push(args[0]);
        return compile.apply(this, args);
      } as Ajv['compile'];
      try {
        const operator = validate(paymentSchema);
        expect(compiled).to.have.length(1);
        of(makeDelivery({ event: { Id: 'a', amount: 1 } }), makeDelivery({ event: { Id: 'b', amount: 2 } }))
          .pipe(operator)
          .subscribe();
        of(makeDelivery({ event: { Id: 'c', amount: 3 } }))
          .pipe(operator)
          .subscribe();
        expect(compiled).to.have.length(1);
      } finally {
        Ajv.prototype.compile = compile;
      }
    });

    it('compiles the bundled default event schema in strict mode', () => {
      const path = join(projectRoot(), 'config', 'schemas', 'event.schema.json');
      const schema = JSON.parse(readFileSync(path, 'utf8')) as object;
      const operator = validate(schema);
      let passed = 0;
      of(makeDelivery({ event: { Id: 'evt-1', anything: [1, 2] } }))
        .pipe(operator)
        .subscribe(() => passed++);
      expect(passed).to.equal(1);
      expect(validationError({ Id: '' }, schema).violations?.[0]).to.include({
        path: '/Id',
        keyword: 'minLength',
      });
      expect(validationError({}, schema).message).to.equal(
        "event violates schema: / must have required property 'Id'",
      );
    });

    it('accepts boolean schemas', () => {
      expect(validationError({}, false as unknown as object).violations?.[0]).to.include({
        keyword: 'false schema',
      });
    });

    it('fails at creation, clearly, on an unknown keyword (strict mode)', () => {
      expect(() => validate({ type: 'object', requried: ['Id'] })).to.throw(
        Error,
        'validate: schema does not compile: strict mode: unknown keyword: "requried"',
      );
    });

    it('fails at creation on an invalid schema or an unknown format', () => {
      expect(() => validate({ type: 'objekt' })).to.throw(/schema does not compile: .*type/);
      expect(() => validate({ type: 'string', format: 'uuid' })).to.throw(
        /schema does not compile: unknown format "uuid"/,
      );
    });

    it('takes ajv options such as formats', () => {
      const options = { ajv: { formats: { upper: (s: string) => s === s.toUpperCase() } } };
      const schema = { type: 'string', format: 'upper' };
      expect(validationError('abc', schema, options).violations).to.deep.equal([
        { path: '/', keyword: 'format', message: 'must match format "upper"' },
      ]);
      expect(() =>
        validate({ type: 'string', format: 'uuid' }, { ajv: { validateFormats: false } }),
      ).not.to.throw();
    });

    it('accepts an already compiled ValidateFunction', () => {
      const check = new Ajv().compile<Payment>(paymentSchema);
      let passed = 0;
      of(makeDelivery({ event: { Id: 'a', amount: 1 } }))
        .pipe(validate<Payment>(check))
        .subscribe(() => passed++);
      expect(passed).to.equal(1);
      expect(validationError({ Id: 'a' }, check).violations?.[0]).to.include({ keyword: 'required' });
    });

    it('rejects $async schemas at creation', () => {
      expect(() => validate({ $async: true, type: 'object' })).to.throw(/\$async/);
    });

    it('turns a validator that throws into SCHEMA_VIOLATION carrying the cause', () => {
      const bug = new TypeError('custom keyword bug');
      const throwing = (() => {
        throw bug;
      }) as unknown as ValidateFunction;
      const error = validationError({ Id: 'a', amount: 1 }, throwing);
      expect(error.message).to.equal('schema validation threw: custom keyword bug');
      expect(error.cause).to.equal(bug);
      expect(error.violations).to.deep.equal([]);
    });
  });
});
