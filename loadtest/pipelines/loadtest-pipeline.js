// The load test's pipeline, loaded by the compiled service through PIPELINE (run `npm run build`
// first): decode, validate, a process step, then forward to OUTPUT_TOPIC when one is set.
//   LOADTEST_PROCESS_MS   time each attempt takes, asynchronously (a timer; default 0: none)
//   LOADTEST_FAIL_FIELD   event field asking for transient failures (default loadtest_fail):
//                         a number N fails the event's first N attempts, true fails the first
// A failed attempt throws a plain Error, which the service retries with backoff
// (RETRY_* settings); an event asking for more failures than RETRY_MAX_ATTEMPTS allows ends in
// the dead-letter topic with PROCESS_FAILED.
import { identity, pipe } from 'rxjs';
import { decodeJson, definePipeline, forwardTo, process, validate } from '../../dist/lib/index.js';

const env = globalThis.process.env;
const delayMs = Number(env.LOADTEST_PROCESS_MS ?? 0);
const failField = env.LOADTEST_FAIL_FIELD || 'loadtest_fail';

if (!(delayMs >= 0))
  throw new Error(`LOADTEST_PROCESS_MS must be a number of at least 0 (got "${env.LOADTEST_PROCESS_MS}")`);

function failuresAskedFor(event) {
  const asked = event !== null && typeof event === 'object' ? event[failField] : undefined;
  if (asked === true) return 1;
  return typeof asked === 'number' && asked > 0 ? asked : 0;
}

export default definePipeline((context) => {
  // Attempts made per event: process() runs the step again for each retry with the same
  // event object, but (with PROCESS_TIMEOUT_MS set, as the service's default is) with a fresh
  // copy of the delivery each time, so the delivery cannot be the key.
  const attempts = new WeakMap();
  const step = (event) => {
    const asked = failuresAskedFor(event);
    if (asked > 0) {
      const attempt = (attempts.get(event) ?? 0) + 1;
      attempts.set(event, attempt);
      if (attempt <= asked) {
        const fail = () => {
          throw new Error(
            `transient failure asked for by the event (attempt ${attempt} of ${asked} failing)`,
          );
        };
        return delayMs > 0 ? sleep(delayMs).then(fail) : fail();
      }
    }
    return delayMs > 0 ? sleep(delayMs) : undefined;
  };
  return pipe(
    decodeJson(),
    validate(context.schema),
    process(step, { retry: context.retry }),
    context.outputTopic ? forwardTo(context.outputTopic, context) : identity,
  );
});

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
