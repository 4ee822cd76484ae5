import { map, type OperatorFunction } from 'rxjs';
import { errorMessage, StageError, type ErrorCode } from '../core/errors.js';
import { withEvent, type Delivery } from '../core/delivery.js';

export interface DecodeJsonOptions {
  /**
   * Deepest nesting of arrays and objects accepted; default 256. V8's JSON.parse itself is not
   * recursive, but what handles the event next is: JSON.stringify (logs, dead-letter payloads),
   * ajv and user code overflow the stack at a few thousand levels. Real events nest a handful of
   * levels, so 256 rejects only hostile or broken input and leaves that code ample headroom.
   * Infinity turns the check off.
   */
  maxDepth?: number;
}

/**
 * Strict UTF-8: a malformed, overlong or surrogate sequence throws instead of becoming U+FFFD,
 * and `ignoreBOM` keeps a byte order mark in the text so it is rejected below, not dropped
 * silently. Without `stream`, decode() keeps no state between calls, so one instance serves all.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses each delivery's value as UTF-8 JSON into its event. Fails the message with a
 * non-retriable StageError of stage 'decode': EMPTY_VALUE (null or zero bytes), INVALID_UTF8,
 * INVALID_JSON (also for a leading BOM, which RFC 8259 forbids senders to add), or JSON_TOO_DEEP.
 * JSON.parse semantics apply: a duplicate key keeps its last value, integers beyond 2^53 lose
 * precision, and `__proto__` becomes an ordinary own property (no prototype is touched).
 */
export function decodeJson<E = unknown>(
  options: DecodeJsonOptions = {},
): OperatorFunction<Delivery<unknown>, Delivery<E>> {
  const { maxDepth = 256 } = options;
  if (maxDepth !== Infinity && !(Number.isInteger(maxDepth) && maxDepth >= 0)) {
    throw new RangeError(`decodeJson: maxDepth must be a non-negative integer or Infinity, got ${maxDepth}`);
  }
  // map turns a throw into an error notification, which the per-message catchError receives.
  return map((delivery) => withEvent(delivery, decode(delivery.value, maxDepth) as E));
}

function decode(value: Buffer | null, maxDepth: number): unknown {
  if (value === null || value.length === 0) throw decodeError('EMPTY_VALUE', 'value is empty');
  let text: string;
  try {
    text = utf8.decode(value);
  } catch (error) {
    throw decodeError('INVALID_UTF8', `value is not valid UTF-8 (${value.length} bytes)`, error);
  }
  if (text.charCodeAt(0) === BOM) {
    throw decodeError('INVALID_JSON', 'invalid JSON: leading byte order mark');
  }
  // Nesting deeper than maxDepth needs more than maxDepth opening brackets: texts with fewer
  // (nearly all) skip the scan, which the native search finds out quicker than a loop.
  if (text.length > maxDepth && hasMoreOpenersThan(text, maxDepth) && exceedsDepth(text, maxDepth)) {
    throw tooDeep(maxDepth);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // Fallback should an engine ever parse recursively: a stack overflow means "too deep".
    if (error instanceof RangeError) throw tooDeep(maxDepth, error);
    throw decodeError('INVALID_JSON', `invalid JSON: ${errorMessage(error)}`, error);
  }
}

const BOM = 0xfeff;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Whether `[` and `{` occur more than `limit` times in all, strings included. */
function hasMoreOpenersThan(text: string, limit: number): boolean {
  let count = 0;
  for (const opener of ['{', '[']) {
    for (let i = text.indexOf(opener); i !== -1; i = text.indexOf(opener, i + 1)) {
      if (++count > limit) return true;
    }
  }
  return false;
}

/**
 * One linear pass over the text counting brackets outside strings, so hostile nesting is turned
 * away before anything builds it. Malformed input may miscount; JSON.parse rejects it anyway.
 */
function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      // Skipping the escaped character keeps \" from ending the string.
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

function tooDeep(maxDepth: number, cause?: unknown): StageError {
  return decodeError('JSON_TOO_DEEP', `JSON nests deeper than ${maxDepth} levels`, cause);
}

function decodeError(code: ErrorCode, message: string, cause?: unknown): StageError {
  return new StageError(message, { stage: 'decode', code, retriable: false, cause });
}
