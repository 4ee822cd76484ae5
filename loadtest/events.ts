import { keyChooser, type KeySpec } from './keys.js';
import type { Random } from './random.js';
import { compileTemplate, DEFAULT_TEMPLATE, FAIL_FIELD, injectField, malform, padTo } from './template.js';

/** What an event is made to test: a valid one, one the service must dead-letter, or one it retries. */
export type EventKind = 'ok' | 'malformed' | 'failing';

export interface GeneratedEvent {
  seq: number;
  key: string | null;
  value: string;
  kind: EventKind;
}

export interface EventFactoryOptions {
  template?: string;
  size?: number;
  keys: KeySpec;
  /** Share of events sent as malformed JSON, from 0 to 1. */
  malformed: number;
  /** Share of events carrying FAIL_FIELD, from 0 to 1. */
  failing: number;
  /** Attempts a failing event asks to fail. */
  failAttempts: number;
  random: Random;
  now?: () => number;
}

/**
 * Makes the events of a run: the template rendered for each sequence number, padded to `size`,
 * with a key from the distribution, and a share turned malformed or failing. A failing event is
 * padded after the field is added, so it keeps the size too.
 */
export function eventFactory(options: EventFactoryOptions): (seq: number) => GeneratedEvent {
  const template = compileTemplate(options.template ?? DEFAULT_TEMPLATE);
  const nextKey = keyChooser(options.keys, options.random);
  const { random, size, malformed, failing, failAttempts } = options;
  const now = options.now ?? Date.now;
  const failValue = String(failAttempts);
  if (failing > 0) {
    // Fail at start-up, not in the middle of the run, when the template is no object.
    injectField(template.render({ seq: 0, now: 0, random: () => 0.5 }), FAIL_FIELD, failValue);
  }
  return (seq) => {
    const key = nextKey();
    let value = template.render({ seq, now: now(), random });
    const pick = random();
    let kind: EventKind = 'ok';
    if (pick < malformed) kind = 'malformed';
    else if (pick < malformed + failing) kind = 'failing';
    if (kind === 'failing') value = injectField(value, FAIL_FIELD, failValue);
    if (size !== undefined) value = padTo(value, size);
    if (kind === 'malformed') value = malform(value);
    return { seq, key, value, kind };
  };
}
