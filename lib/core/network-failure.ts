/**
 * System error codes of a connection that failed or broke: the peer is down, unreachable, not
 * in DNS yet, or went away mid-request. Each may succeed on a later attempt.
 */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  // undici, under Node's fetch: the connection timed out or its socket closed.
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Causes deeper than this are not followed (a cycle of causes must not hang the check). */
const MAX_CAUSE_DEPTH = 5;

/**
 * Whether `error` is Node's `fetch` failing to reach the server: a `TypeError('fetch failed')`
 * whose cause (or a cause of that, or one error of an AggregateError among them) is a system
 * error with a network code. Other TypeErrors are programming bugs.
 */
export function isFetchNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError && hasNetworkCause(error.cause, MAX_CAUSE_DEPTH);
}

function hasNetworkCause(cause: unknown, depth: number): boolean {
  if (depth === 0 || typeof cause !== 'object' || cause === null) return false;
  const { code, errors, cause: deeper } = cause as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (Array.isArray(errors) && errors.some((inner) => hasNetworkCause(inner, depth - 1))) return true;
  return hasNetworkCause(deeper, depth - 1);
}
