import { randomBytes } from 'node:crypto';

/**
 * The catalogue of hostile messages the hostile-input fault specs feed the service, whatever
 * the broker: each message's value bytes and header lines, where it must end (the output, or
 * the DLQ with its error code, stage and reason) and which headers it must still carry there.
 * The Kafka spec (hostile-input.spec.ts) and the NATS spec (nats-hostile-and-dlq-outage.spec.ts)
 * write them with their own clients; a message a broker cannot carry (a value that is null
 * rather than empty, a header value that is not text) names that in `needs`.
 */

export type Expected = { to: 'output' } | { to: 'dlq'; code: string; stage: string; reason: RegExp };

export const output = (): Expected => ({ to: 'output' });
export const dlq = (code: string, stage: string, reason: RegExp): Expected => ({
  to: 'dlq',
  code,
  stage,
  reason,
});

/** One header as written: a name may repeat, each line is one value. */
export type HeaderLine = [name: string, value: string | Buffer];

/** What a message needs of the broker beyond value bytes and header values that are text. */
export type Need = 'null-value' | 'binary-header-value';

export interface HostileCase {
  key: string;
  /** null: a message without a value (Kafka's null), which is not an empty one. */
  value: Buffer | null;
  headers?: HeaderLine[];
  expected: Expected;
  /**
   * Headers the message must still carry wherever it ends, as the reader gives them (the Kafka
   * spec reads header bytes as latin1, NATS header values are UTF-8 text); null: no value.
   */
  keeps?: Array<[string, Array<string | null>]>;
  needs?: Need[];
}

export const text = (value: string): Buffer => Buffer.from(value, 'utf8');
export const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))),
  );
export const deep = (open: string, close: string, depth: number, inner = ''): string =>
  open.repeat(depth) + inner + close.repeat(depth);

export const DEPTH = 100_000;
/** Under Kafka's 1 MB record batch and NATS's 1 MiB max_payload, with room for headers. */
export const NEAR_MAX = 900 * 1024;
/** Header names that are members of Object.prototype. */
export const HOSTILE_HEADERS: Array<[string, string]> = [
  ['constructor', 'c'],
  ['toString', 't'],
  ['hasOwnProperty', 'h'],
  ['valueOf', 'v'],
  ['__proto__', 'p'],
];
export const POLLUTER = '{"Id":"polluted","polluted":"yes"}';

/** `count` valid events, keys `normal-<from>`, `normal-<from + 1>`, ... */
export function normalCases(from: number, count: number): HostileCase[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `normal-${from + i}`,
    value: text(JSON.stringify({ Id: `normal-${from + i}`, n: from + i })),
    expected: output(),
  }));
}

/**
 * The canaries sent once the hostile messages settled: a prototype polluted with an Id would
 * let the event without one pass the schema (ajv reads `data.Id`, inheritance included).
 */
export function canaryCases(label: string): HostileCase[] {
  return [
    {
      key: `canary-no-id-${label}`,
      value: text('{"name":"canary"}'),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /must have required property 'Id'/),
    },
    { key: `canary-valid-${label}`, value: text(`{"Id":"canary-${label}"}`), expected: output() },
  ];
}

/** The catalogue: each hostile message with where it must end and why. */
export function hostileCases(): HostileCase[] {
  const binary = randomBytes(4096);
  binary[0] = 0xff; // never valid UTF-8
  const bigBinary = randomBytes(NEAR_MAX);
  bigBinary[0] = 0xff;
  return [
    {
      key: 'null-value',
      value: null,
      expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
      needs: ['null-value'],
    },
    {
      key: 'empty-value',
      value: Buffer.alloc(0),
      expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
    },
    {
      key: 'headers-only',
      value: null,
      headers: [
        ['trace', 'trace-1'],
        ['x-bytes', Buffer.from([0, 0xff, 1])],
      ],
      expected: dlq('EMPTY_VALUE', 'decode', /value is empty/),
      keeps: [
        ['trace', ['trace-1']],
        ['x-bytes', ['\u0000\u00ff\u0001']],
      ],
      needs: ['null-value', 'binary-header-value'],
    },
    {
      key: 'near-max-valid',
      value: text(JSON.stringify({ Id: 'near-max', pad: 'x'.repeat(NEAR_MAX) })),
      expected: output(),
    },
    {
      key: 'near-max-garbage',
      value: Buffer.alloc(NEAR_MAX, 'this is not JSON '),
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
    },
    {
      key: 'near-max-binary',
      value: bigBinary,
      expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
    },
    {
      key: 'invalid-utf8-in-string',
      value: bytes('{"Id":"caf', [0xc3, 0x28], '"}'),
      expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
    },
    {
      key: 'overlong-utf8',
      value: bytes('{"Id":"', [0xc0, 0xaf], '"}'),
      expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
    },
    {
      key: 'surrogate-utf8',
      value: bytes('{"Id":"', [0xed, 0xa0, 0x80], '"}'),
      expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/),
    },
    {
      key: 'byte-order-mark',
      value: bytes([0xef, 0xbb, 0xbf], '{"Id":"bom"}'),
      expected: dlq('INVALID_JSON', 'decode', /byte order mark/),
    },
    { key: 'binary-garbage', value: binary, expected: dlq('INVALID_UTF8', 'decode', /not valid UTF-8/) },
    {
      key: 'nested-100k-arrays',
      value: text(deep('[', ']', DEPTH)),
      expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
    },
    {
      key: 'nested-100k-objects',
      value: text(deep('{"a":', '}', DEPTH, '1')),
      expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
    },
    {
      key: 'nested-100k-in-valid-event',
      value: text(`{"Id":"deep","x":${deep('[', ']', DEPTH)}}`),
      expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
    },
    {
      key: 'nested-100k-unclosed',
      value: text('['.repeat(DEPTH)),
      expected: dlq('JSON_TOO_DEEP', 'decode', /deeper than \d+ levels/),
    },
    {
      key: 'numbers-beyond-2^53',
      value: text(
        '{"Id":"big-numbers","a":123456789012345678901234567890,"b":9007199254740993,"c":-9007199254740993,"d":1e400}',
      ),
      expected: output(),
    },
    {
      key: 'id-number-beyond-2^53',
      value: text('{"Id":9007199254740993}'),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /\/Id must be string/),
    },
    {
      key: 'proto-key-with-id',
      value: text(`{"Id":"proto-1","__proto__":${POLLUTER}}`),
      expected: output(),
    },
    {
      key: 'proto-key-only',
      value: text(`{"__proto__":${POLLUTER}}`),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /must have required property 'Id'/),
    },
    {
      key: 'constructor-key-with-id',
      value: text(`{"Id":"ctor-1","constructor":{"prototype":${POLLUTER}}}`),
      expected: output(),
    },
    {
      key: 'constructor-key-only',
      value: text(`{"constructor":{"prototype":${POLLUTER}}}`),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /must have required property 'Id'/),
    },
    {
      key: 'nested-proto-keys',
      value: text(
        `{"Id":"np","a":{"__proto__":${POLLUTER}},"b":[{"constructor":{"prototype":${POLLUTER}}}]}`,
      ),
      expected: output(),
    },
    {
      key: 'duplicate-keys-last-valid',
      value: text('{"Id":"","Id":"dup-last"}'),
      expected: output(),
    },
    {
      key: 'duplicate-keys-last-empty',
      value: text('{"Id":"dup-first","Id":""}'),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /\/Id must NOT have fewer than 1 characters/),
    },
    {
      key: 'duplicate-proto-keys',
      value: text(`{"__proto__":1,"__proto__":${POLLUTER},"Id":"dup-proto"}`),
      expected: output(),
    },
    {
      key: 'json-null',
      value: text('null'),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /must be object/),
    },
    {
      key: 'json-array',
      value: text('[{"Id":"in-array"}]'),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /must be object/),
    },
    {
      key: 'json-string',
      value: text('"{\\"Id\\":\\"x\\"}"'),
      expected: dlq('SCHEMA_VIOLATION', 'validate', /must be object/),
    },
    {
      key: 'truncated-json',
      value: text('{"Id":"trunc"'),
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
    },
    {
      key: 'raw-nul-in-string',
      value: bytes('{"Id":"nul', [0], '"}'),
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
    },
    { key: 'escaped-lone-surrogate', value: text('{"Id":"\\ud800"}'), expected: output() },
    {
      key: 'hostile-header-names-valid',
      value: text('{"Id":"header-names"}'),
      headers: HOSTILE_HEADERS,
      expected: output(),
      keeps: HOSTILE_HEADERS.map(([name, value]) => [name, [value]]),
    },
    {
      key: 'hostile-header-names-invalid',
      value: text('not json'),
      headers: HOSTILE_HEADERS,
      expected: dlq('INVALID_JSON', 'decode', /invalid JSON/),
      keeps: HOSTILE_HEADERS.map(([name, value]) => [name, [value]]),
    },
    {
      key: 'repeated-header',
      value: text('{"Id":"repeated-header"}'),
      headers: [
        ['trace', 'a'],
        ['trace', 'b'],
      ],
      expected: output(),
      keeps: [['trace', ['a', 'b']]],
    },
  ];
}

/** A message as it landed in the output or the DLQ, read by whichever client. */
export interface LandedMessage {
  /** null: no value (Kafka's null). */
  value: Buffer | null;
  /** The first value of a header, as text; undefined when the message has none. */
  header(name: string): string | undefined;
  /** Every value of a header in order, as text (see `keeps`; null: a header without a value). */
  headerValues(name: string): Array<string | null>;
}

/**
 * What is wrong with a message that landed where `testCase` expected it: its value bytes, the
 * headers it must keep, the headers naming its origin (`origin`, exact values) and, for a dead
 * letter, the headers describing its failure. Empty when it is right.
 */
export function landedProblems(
  testCase: HostileCase,
  landed: LandedMessage,
  origin: Record<string, string>,
): string[] {
  const { key, value, expected, keeps = [] } = testCase;
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${key}: ${what}`);
  };
  check(
    value === null ? landed.value === null : landed.value !== null && landed.value.equals(value),
    `value bytes changed (${value?.length ?? 'null'} → ${landed.value?.length ?? 'null'})`,
  );
  for (const [name, values] of keeps) {
    const got = landed.headerValues(name);
    // kafkajs cannot write a null header value: the service writes it as an empty one.
    const same = values.every((v, i) => got[i] === v || (v === null && got[i] === ''));
    check(
      got.length === values.length && same,
      `header ${name}: ${JSON.stringify(got)} ≠ ${JSON.stringify(values)}`,
    );
  }
  for (const [name, wanted] of Object.entries(origin)) {
    const got = landed.header(name);
    check(got === wanted, `${name} ${JSON.stringify(got)} ≠ ${JSON.stringify(wanted)}`);
  }
  if (expected.to === 'dlq') {
    check(landed.header('error_code') === expected.code, `error_code ${landed.header('error_code')}`);
    check(landed.header('error_stage') === expected.stage, `error_stage ${landed.header('error_stage')}`);
    const message = landed.header('error_message') ?? '';
    check(expected.reason.test(message), `error_message "${message.slice(0, 200)}" !~ ${expected.reason}`);
    check(message.length < 2000, `error_message of ${message.length} characters`);
    check(landed.header('retry_attempts') === '0', 'retry_attempts');
    if (expected.code === 'SCHEMA_VIOLATION') {
      const violations = JSON.parse(landed.header('schema_errors') ?? '[]') as unknown[];
      check(violations.length > 0, 'schema_errors');
    }
  }
  return problems;
}
