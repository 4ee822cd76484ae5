import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';

/**
 * The comparison every marble spec's TestScheduler uses: deep equality, with each error spelled
 * out first. Chai compares two errors by name, message and code alone, so a StageError with the
 * wrong stage, retriable flag, attempt count or cause would pass; those decide retries and what
 * the dead letter says.
 */
export function expectSameFrames(actual: unknown, expected: unknown): void {
  expect(spellOutErrors(actual)).to.deep.equal(spellOutErrors(expected));
}

/** A TestScheduler for marble specs, comparing errors by all their fields. */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler(expectSameFrames);
}

/**
 * A copy of `value` with every error, also inside arrays, plain objects and other errors'
 * causes, replaced by a plain record of its name, message, cause and own enumerable fields
 * (stage, code, retriable, attempts, violations for a StageError). Other objects (Buffers,
 * signals, class instances) stay as they are: deep equality already compares them.
 */
function spellOutErrors(value: unknown, copies = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (value instanceof Error) return spellOutError(value, copies);
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (const item of value) copy.push(spellOutErrors(item, copies));
    return copy;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<PropertyKey, unknown> = {};
  copies.set(value, copy);
  copyEnumerable(value, copy, copies);
  return copy;
}

function spellOutError(error: Error, copies: Map<object, unknown>): Record<PropertyKey, unknown> {
  const record: Record<PropertyKey, unknown> = {};
  copies.set(error, record);
  record.name = error.name;
  record.message = error.message;
  // The cause is an own but not enumerable property; absent and undefined are told apart.
  if ('cause' in error) record.cause = spellOutErrors(error.cause, copies);
  copyEnumerable(error, record, copies);
  return record;
}

function copyEnumerable(from: object, to: Record<PropertyKey, unknown>, copies: Map<object, unknown>): void {
  for (const key of Reflect.ownKeys(from)) {
    if (Object.prototype.propertyIsEnumerable.call(from, key)) {
      to[key] = spellOutErrors((from as Record<PropertyKey, unknown>)[key], copies);
    }
  }
}
