/**
 * Showing message bytes and header text on a terminal without letting them drive it: dead
 * letters are by definition messages nobody could read, so they may hold anything (binary,
 * invalid UTF-8, escape sequences, bidi overrides). Nothing here writes raw bytes.
 */

/** Control characters (C0, DEL, C1), zero-width and bidi formatting characters, separators. */
const UNSAFE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/gu;

function escapeChar(char: string): string {
  switch (char) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

/** The text with every character that could move the cursor, recolour or reorder escaped. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** The text in double quotes, quotes and backslashes escaped, and terminal-safe. */
export function quoted(text: string): string {
  return `"${terminalSafe(text.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
}

/** Shortens to `max` characters (code points, never splitting one), marking the cut with "…". */
export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  const chars = Array.from(text);
  if (chars.length <= max) return { text, truncated: false };
  return { text: chars.slice(0, max).join(''), truncated: true };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text when they are valid UTF-8 without NUL; undefined for anything binary. */
export function asText(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A key, value or header shown safely: text when it is text, base64 when it is not. */
export interface ShownBytes {
  /** Length of the whole value in bytes; null for a null key or value. */
  bytes: number | null;
  encoding: 'utf8' | 'base64' | null;
  /** The (possibly truncated) text, or base64 of the (possibly truncated) bytes. */
  data: string | null;
  truncated: boolean;
}

/** For JSON output: text up to `maxChars` characters, or base64 of the first `maxBytes` bytes. */
export function showBytes(value: Buffer | null | undefined, maxChars = 200, maxBytes = 150): ShownBytes {
  if (value === null || value === undefined)
    return { bytes: null, encoding: null, data: null, truncated: false };
  const text = asText(value);
  if (text !== undefined) {
    const cut = truncate(text, maxChars);
    return { bytes: value.length, encoding: 'utf8', data: cut.text, truncated: cut.truncated };
  }
  return {
    bytes: value.length,
    encoding: 'base64',
    data: value.subarray(0, maxBytes).toString('base64'),
    truncated: value.length > maxBytes,
  };
}

/**
 * For a terminal: `null`, a quoted and escaped string (cut after `maxChars` with "…"), or
 * `<binary N bytes: ff fe 00 …>` with the first `maxBytes` bytes in hex.
 */
export function describeShown(shown: ShownBytes, maxChars = 80, maxBytes = 24): string {
  if (shown.data === null || shown.bytes === null) return 'null';
  if (shown.encoding === 'utf8') {
    const cut = truncate(shown.data, maxChars);
    return `${quoted(cut.text)}${cut.truncated || shown.truncated ? `… (${shown.bytes} bytes)` : ''}`;
  }
  const head = Buffer.from(shown.data, 'base64').subarray(0, maxBytes);
  const hex = [...head].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `<binary ${shown.bytes} bytes: ${hex}${shown.bytes > head.length ? ' …' : ''}>`;
}

/** `describeShown` of raw bytes. */
export function describeBytes(value: Buffer | null | undefined, maxChars = 80, maxBytes = 24): string {
  return describeShown(showBytes(value, maxChars, maxBytes), maxChars, maxBytes);
}
