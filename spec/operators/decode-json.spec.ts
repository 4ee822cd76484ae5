import { expect } from 'chai';
import { catchError, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { StageError, type ErrorCode } from '../../lib/core/errors.js';
import { decodeJson, type DecodeJsonOptions } from '../../lib/operators/decode-json.js';
import { withEvent, type Delivery } from '../../lib/core/delivery.js';
import { makeDelivery } from './support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

/** Runs one value through decodeJson synchronously and reports what came out. */
function decode(value: Buffer | null, options?: DecodeJsonOptions): { event?: unknown; error?: unknown } {
  const result: { event?: unknown; error?: unknown } = {};
  of(makeDelivery({ value }))
    .pipe(decodeJson(options))
    .subscribe({ next: (d) => (result.event = d.event), error: (e: unknown) => (result.error = e) });
  return result;
}

function expectDecodeError(value: Buffer | null, code: ErrorCode, options?: DecodeJsonOptions): StageError {
  const { event, error } = decode(value, options);
  expect(event, 'no event').to.equal(undefined);
  expect(error).to.be.instanceOf(StageError);
  expect(error).to.include({ stage: 'decode', code, retriable: false });
  return error as StageError;
}

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('decodeJson', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = marbleScheduler();
  });

  describe('as an operator', () => {
    const a = makeDelivery({ value: Buffer.from('{"id":1}') });
    const b = makeDelivery({ value: Buffer.from('[1,2]') });
    const c = makeDelivery({ value: Buffer.from('"c"') });
    const e = makeDelivery({ value: Buffer.from('{nope') });
    const values = { a, b, c, e };
    const decoded = { x: withEvent(a, { id: 1 }), y: withEvent(b, [1, 2]), z: withEvent(c, 'c') };

    it('completes when the source completes empty', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Delivery>('|');
        const e1subs = '    (^!)';
        const expected = '  |';
        expectObservable(e1.pipe(decodeJson())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('never emits when the source never does', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const e1 = cold<Delivery>('-');
        const e1subs = '    ^';
        const expected = '  -';
        expectObservable(e1.pipe(decodeJson())).toBe(expected);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('decodes one value', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  --a--|', values);
        const e1subs = '  ^----!';
        const expected = '--x--|';
        expectObservable(e1.pipe(decodeJson())).toBe(expected, decoded);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('decodes many values in order', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-b-c-|', values);
        const e1subs = '  ^------!';
        const expected = '-x-y-z-|';
        expectObservable(e1.pipe(decodeJson())).toBe(expected, decoded);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('passes an error from upstream through', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-#', values, new Error('upstream'));
        const e1subs = '  ^--!';
        const expected = '-x-#';
        expectObservable(e1.pipe(decodeJson())).toBe(expected, decoded, new Error('upstream'));
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('stops at an early unsubscribe', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-b-c-|', values);
        const unsub = '   ---!';
        const e1subs = '  ^--!';
        const expected = '-x--';
        expectObservable(e1.pipe(decodeJson()), unsub).toBe(expected, decoded);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('raises a decode failure as an error notification and unsubscribes from the source', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const e1 = hot('  -a-e-c-|', values);
        const e1subs = '  ^--!';
        const expected = '-x-#';
        const cause = jsonParseErrorOf('{nope');
        const error = new StageError(`invalid JSON: ${cause.message}`, {
          stage: 'decode',
          code: 'INVALID_JSON',
          retriable: false,
          cause,
        });
        expectObservable(e1.pipe(decodeJson())).toBe(expected, decoded, error);
        expectSubscriptions(e1.subscriptions).toBe(e1subs);
      });
    });

    it('never throws out of subscribe: the per-message catchError sees the failure', () => {
      const seen: unknown[] = [];
      expect(() =>
        of(makeDelivery({ value: null }))
          .pipe(
            decodeJson(),
            catchError((error: unknown) => of(error)),
          )
          .subscribe((v) => seen.push(v)),
      ).not.to.throw();
      expect(seen).to.have.length(1);
      expect(seen[0]).to.be.instanceOf(StageError).and.include({ code: 'EMPTY_VALUE' });
    });

    it('does nothing before subscribe, and leaves the incoming delivery untouched', () => {
      const delivery = makeDelivery({ value: Buffer.from('{"id":1}') });
      const decoded$ = of(delivery).pipe(decodeJson<{ id: number }>());
      expect(delivery.event).to.equal(undefined);
      let out: Delivery<{ id: number }> | undefined;
      decoded$.subscribe((d) => (out = d));
      expect(out?.event.id).to.equal(1);
      expect(out).not.to.equal(delivery);
      expect(delivery.event).to.equal(undefined);
      expect(out).to.deep.equal({ ...delivery, event: { id: 1 } });
    });

    it('rejects a nonsensical maxDepth when created', () => {
      expect(() => decodeJson({ maxDepth: -1 })).to.throw(RangeError, /maxDepth/);
      expect(() => decodeJson({ maxDepth: 1.5 })).to.throw(RangeError, /maxDepth/);
    });
  });

  describe('empty values', () => {
    it('fails a null value with EMPTY_VALUE', () => {
      expect(expectDecodeError(null, 'EMPTY_VALUE').message).to.equal('value is empty');
    });

    it('fails an empty Buffer with EMPTY_VALUE', () => {
      expectDecodeError(Buffer.alloc(0), 'EMPTY_VALUE');
    });

    it('treats whitespace as malformed JSON, not as empty', () => {
      expectDecodeError(Buffer.from('  \n'), 'INVALID_JSON');
    });
  });

  describe('UTF-8', () => {
    it('decodes multi-byte characters', () => {
      expect(decode(Buffer.from('{"name":"Zoë 🚀 東京"}')).event).to.deep.equal({ name: 'Zoë 🚀 東京' });
    });

    it('fails a truncated two-byte sequence (0xc3 0x28)', () => {
      const error = expectDecodeError(Buffer.from([0xc3, 0x28]), 'INVALID_UTF8');
      expect(error.message).to.equal('value is not valid UTF-8 (2 bytes)');
      expect(error.cause).to.be.instanceOf(TypeError);
    });

    it('fails an invalid byte inside a JSON string instead of substituting U+FFFD', () => {
      expectDecodeError(bytes('{"name":"ab', [0xff], 'cd"}'), 'INVALID_UTF8');
      expectDecodeError(bytes('{"name":"', [0xe2, 0x82], '"}'), 'INVALID_UTF8');
    });

    it('fails an overlong encoding (0xc0 0xaf for "/")', () => {
      expectDecodeError(bytes('"', [0xc0, 0xaf], '"'), 'INVALID_UTF8');
    });

    it('fails a UTF-8-encoded lone surrogate (0xed 0xa0 0x80)', () => {
      expectDecodeError(bytes('"', [0xed, 0xa0, 0x80], '"'), 'INVALID_UTF8');
    });

    it('rejects a leading byte order mark instead of stripping it silently', () => {
      const error = expectDecodeError(bytes([0xef, 0xbb, 0xbf], '{"id":1}'), 'INVALID_JSON');
      expect(error.message).to.match(/byte order mark/);
    });

    it('keeps a JSON-escaped lone surrogate, which is valid JSON in valid UTF-8', () => {
      expect(decode(Buffer.from('"\\ud800"')).event).to.equal('\ud800');
    });
  });

  describe('JSON', () => {
    it('fails malformed JSON with INVALID_JSON and the parser message', () => {
      const text = '{"a":';
      const error = expectDecodeError(Buffer.from(text), 'INVALID_JSON');
      expect(error.message).to.equal(`invalid JSON: ${syntaxErrorOf(text)}`);
      expect(error.cause).to.be.instanceOf(SyntaxError);
    });

    it('fails trailing garbage and single quotes', () => {
      expectDecodeError(Buffer.from('{"a":1} x'), 'INVALID_JSON');
      expectDecodeError(Buffer.from("{'a':1}"), 'INVALID_JSON');
    });

    it('accepts any JSON text at the top: object, array, string, number, boolean, null', () => {
      expect(decode(Buffer.from(' {"a":[1,{"b":null}]} ')).event).to.deep.equal({ a: [1, { b: null }] });
      expect(decode(Buffer.from('true')).event).to.equal(true);
      expect(decode(Buffer.from('null')).event).to.equal(null);
      expect(decode(Buffer.from('-1.5e3')).event).to.equal(-1500);
    });

    it('parses integers beyond 2^53 as the nearest double (JSON.parse semantics)', () => {
      const { event, error } = decode(
        Buffer.from('{"n":9007199254740993,"big":123456789012345678901234567890}'),
      );
      expect(error).to.equal(undefined);
      expect(event).to.deep.equal({ n: 9007199254740992, big: 1.2345678901234568e29 });
    });

    it('keeps the last value of a duplicate key (JSON.parse semantics)', () => {
      expect(decode(Buffer.from('{"a":1,"b":2,"a":3}')).event).to.deep.equal({ a: 3, b: 2 });
    });
  });

  describe('nesting depth', () => {
    it('accepts nesting up to maxDepth and rejects one level more', () => {
      expect(decode(Buffer.from('[[[1]]]'), { maxDepth: 3 }).event).to.deep.equal([[[1]]]);
      const error = expectDecodeError(Buffer.from('[[[[1]]]]'), 'JSON_TOO_DEEP', { maxDepth: 3 });
      expect(error.message).to.equal('JSON nests deeper than 3 levels');
    });

    it('counts objects and arrays alike, siblings not adding up', () => {
      expect(decode(Buffer.from('{"a":[{}],"b":[{}],"c":{"d":[]}}'), { maxDepth: 3 }).error).to.equal(
        undefined,
      );
      expectDecodeError(Buffer.from('{"a":[{"b":[]}]}'), 'JSON_TOO_DEEP', { maxDepth: 3 });
    });

    it('ignores brackets inside strings, escaped quotes included', () => {
      const text = JSON.stringify({ a: '[[[[{{{{', b: 'say \\"[[[[" twice', c: '\\' });
      expect(decode(Buffer.from(text), { maxDepth: 1 }).event).to.deep.equal(JSON.parse(text));
    });

    it('accepts many more brackets than maxDepth when they do not nest', () => {
      const siblings = JSON.stringify({ list: Array.from({ length: 300 }, () => [{}]), s: '['.repeat(300) });
      expect(decode(Buffer.from(siblings)).error).to.equal(undefined);
    });

    it('defaults to 256 levels', () => {
      expect(decode(Buffer.from('['.repeat(256) + ']'.repeat(256))).error).to.equal(undefined);
      expectDecodeError(Buffer.from('['.repeat(257) + ']'.repeat(257)), 'JSON_TOO_DEEP');
    });

    it('turns away "[" × 100000 before the parser sees it', () => {
      const parse = JSON.parse;
      let parsed = 0;
      JSON.parse = (...args: Parameters<typeof parse>) => (parsed++, parse(...args));
      try {
        expectDecodeError(Buffer.from('['.repeat(100_000)), 'JSON_TOO_DEEP');
        expectDecodeError(Buffer.from('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)), 'JSON_TOO_DEEP');
      } finally {
        JSON.parse = parse;
      }
      expect(parsed).to.equal(0);
    });

    it('maps a RangeError from the parser to JSON_TOO_DEEP as a fallback', () => {
      const parse = JSON.parse;
      const overflow = new RangeError('Maximum call stack size exceeded');
      JSON.parse = () => {
        throw overflow;
      };
      try {
        const error = expectDecodeError(Buffer.from('[[1]]'), 'JSON_TOO_DEEP', { maxDepth: Infinity });
        expect(error.cause).to.equal(overflow);
      } finally {
        JSON.parse = parse;
      }
    });
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      // Clean up if a regression did pollute, so other specs are not affected.
      delete (Object.prototype as Record<string, unknown>)['polluted'];
    });

    it('keeps "__proto__" as a plain own data property and leaves Object.prototype alone', () => {
      const text = '{"__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}';
      const event = decode(Buffer.from(text)).event as Record<string, Record<string, unknown>>;

      expect(Object.prototype).not.to.have.property('polluted');
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
      expect(Object.getPrototypeOf(event)).to.equal(Object.prototype);
      expect(Object.hasOwn(event, '__proto__')).to.equal(true);
      expect(Object.getOwnPropertyDescriptor(event, '__proto__')).to.deep.include({
        value: { polluted: true },
        writable: true,
        enumerable: true,
      });
      expect(Object.hasOwn(event['nested'] as object, '__proto__')).to.equal(true);
      expect(Object.getPrototypeOf(event['nested'])).to.equal(Object.prototype);
      expect(event).not.to.have.property('polluted');
    });

    it('leaves constructor.prototype payloads as plain data', () => {
      const event = decode(Buffer.from('{"constructor":{"prototype":{"polluted":true}}}')).event;
      expect(Object.prototype).not.to.have.property('polluted');
      expect(Object.getPrototypeOf(event)).to.equal(Object.prototype);
    });
  });
});

function syntaxErrorOf(text: string): string {
  return jsonParseErrorOf(text).message;
}

/** The SyntaxError JSON.parse throws for `text`, as decodeJson keeps it for the cause. */
function jsonParseErrorOf(text: string): Error {
  try {
    JSON.parse(text);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`${text} parsed`);
}
