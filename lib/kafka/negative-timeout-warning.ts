const KAFKAJS_REQUEST_QUEUE = '/kafkajs/src/network/requestQueue/';

/**
 * kafkajs 2.2.4's request queue schedules its check of pending requests with
 * `setTimeout(throttledUntil - Date.now())`, and `throttledUntil` starts at -1: a negative
 * delay, which Node.js 24 reports as a TimeoutNegativeWarning before running the callback after
 * 1 ms, exactly what kafkajs counts on. Every client connection did it, so a normal log carried
 * a warning nobody can act on. This drops exactly that warning: the same warning raised from
 * anywhere else, and every other warning, is emitted as before. Returns a function that undoes it.
 */
export function ignoreKafkajsNegativeTimeouts(): () => void {
  const emitWarning = process.emitWarning;
  const filtered = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (isFromKafkajsRequestQueue(warning, rest[0])) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  process.emitWarning = filtered;
  return () => {
    if (process.emitWarning === filtered) process.emitWarning = emitWarning;
  };
}

function isFromKafkajsRequestQueue(warning: string | Error, typeOrOptions: unknown): boolean {
  const type =
    warning instanceof Error
      ? warning.name
      : typeof typeOrOptions === 'string'
        ? typeOrOptions
        : (typeOrOptions as { type?: unknown } | undefined)?.type;
  if (type !== 'TimeoutNegativeWarning') return false;
  // Only now, for the rare warning of this type, is the stack taken: who set the timer?
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack.includes(KAFKAJS_REQUEST_QUEUE);
}
