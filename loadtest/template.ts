import { randomInt, type Random } from './random.js';

/**
 * Payload templates: any text with placeholders, rendered once per event.
 *   {{seq}}              the event's sequence number (0, 1, 2, …)
 *   {{uuid}}             a random UUID (version 4 layout)
 *   {{now}}              milliseconds since the epoch when the event is rendered
 *   {{random:MIN:MAX}}   an integer from MIN to MAX, both included
 * Placeholders are replaced verbatim, so a template decides itself whether a value is quoted:
 * `{"Id":"{{uuid}}","seq":{{seq}}}` (the default) renders `{"Id":"6f1c…","seq":42}`.
 */
export const DEFAULT_TEMPLATE = '{"Id":"{{uuid}}","seq":{{seq}}}';

/** The field an event carries to make the loadtest pipeline fail that many attempts. */
export const FAIL_FIELD = 'loadtest_fail';

/** The field that pads an object payload up to `--size` bytes. */
export const PAD_FIELD = '_pad';

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'seq' }
  | { kind: 'uuid' }
  | { kind: 'now' }
  | { kind: 'random'; min: number; max: number };

export interface RenderContext {
  seq: number;
  /** Milliseconds since the epoch. */
  now: number;
  random: Random;
}

export interface Template {
  readonly parts: readonly TemplatePart[];
  render(context: RenderContext): string;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Parses a template once; an unknown or malformed placeholder throws, naming it. */
export function compileTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ kind: 'text', text: text.slice(last, match.index) });
    parts.push(placeholder(match[1] ?? ''));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return { parts, render: (context) => renderParts(parts, context) };
}

function placeholder(name: string): TemplatePart {
  if (name === 'seq' || name === 'uuid' || name === 'now') return { kind: name };
  const random = /^random:(-?\d+):(-?\d+)$/.exec(name);
  if (random) {
    const min = Number(random[1]);
    const max = Number(random[2]);
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
      throw new Error(`template placeholder {{${name}}}: MIN and MAX must be integers with MIN <= MAX`);
    }
    return { kind: 'random', min, max };
  }
  throw new Error(
    `unknown template placeholder {{${name}}}: use {{seq}}, {{uuid}}, {{now}} or {{random:MIN:MAX}}`,
  );
}

function renderParts(parts: readonly TemplatePart[], context: RenderContext): string {
  let out = '';
  for (const part of parts) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'seq':
        out += context.seq;
        break;
      case 'uuid':
        out += uuid(context.random);
        break;
      case 'now':
        out += context.now;
        break;
      case 'random':
        out += randomInt(context.random, part.min, part.max);
        break;
    }
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A version-4-shaped UUID from `random` (reproducible with a seeded generator). */
export function uuid(random: Random): string {
  const bytes = new Array<number>(16);
  for (let i = 0; i < 16; i += 4) {
    const word = Math.floor(random() * 4294967296);
    bytes[i] = word & 0xff;
    bytes[i + 1] = (word >>> 8) & 0xff;
    bytes[i + 2] = (word >>> 16) & 0xff;
    bytes[i + 3] = (word >>> 24) & 0xff;
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const h = bytes.map((b) => HEX[b]!);
  return `${h.slice(0, 4).join('')}-${h.slice(4, 6).join('')}-${h.slice(6, 8).join('')}-${h
    .slice(8, 10)
    .join('')}-${h.slice(10).join('')}`;
}

/**
 * Pads a payload to `size` bytes (UTF-8). A JSON object gets a `"_pad":"xxx…"` field, so it
 * stays an object of exactly `size` bytes; anything else, or an object too close to `size` for
 * the field, gets trailing spaces (still valid JSON). A payload already that long is unchanged.
 */
export function padTo(payload: string, size: number): string {
  const length = Buffer.byteLength(payload);
  if (length >= size) return payload;
  const trimmed = payload.trimEnd();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    const empty = /^\{\s*\}$/.test(trimmed);
    const field = `${empty ? '' : ','}"${PAD_FIELD}":""`;
    const need = size - Buffer.byteLength(trimmed) - field.length;
    if (need >= 0) {
      return `${trimmed.slice(0, -1)}${field.slice(0, -1)}${'x'.repeat(need)}"}`;
    }
  }
  return payload + ' '.repeat(size - length);
}

/**
 * Adds `"name":rawValue` as the first field of a JSON object payload (rawValue is JSON text).
 * Throws when the payload is not an object: there is nowhere to put the field.
 */
export function injectField(payload: string, name: string, rawValue: string): string {
  const start = payload.indexOf('{');
  if (start < 0 || payload.slice(0, start).trim() !== '') {
    throw new Error(`cannot add "${name}" to a payload that is not a JSON object`);
  }
  const rest = payload.slice(start + 1);
  const empty = rest.trimStart().startsWith('}');
  return `${payload.slice(0, start + 1)}${JSON.stringify(name)}:${rawValue}${empty ? '' : ','}${rest}`;
}

/**
 * A malformed version of a payload, of about the same size: the JSON cut short by its last
 * character (an object or array then misses its closing bracket), or, for other payloads, an
 * object opened in front of it. JSON.parse rejects either.
 */
export function malform(payload: string): string {
  const trimmed = payload.trimEnd();
  if (trimmed.length > 1 && (trimmed.endsWith('}') || trimmed.endsWith(']'))) return trimmed.slice(0, -1);
  return `{${trimmed}`;
}
