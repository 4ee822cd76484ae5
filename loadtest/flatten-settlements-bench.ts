/**
 * flattenSettlements against RxJS's own mergeMap, in process: the step after the workers that
 * subscribes each message's pending settlement (its writes not acknowledged yet). While a
 * service forwards, about as many are open as the source has credits (QUEUE_BUFFER_SIZE +
 * WORKER_POOL_SIZE, 1,010 by default), and mergeMap adds each inner subscription to its own and
 * removes it with a search through those open, for every message.
 *
 *   tsx loadtest/flatten-settlements-bench.ts [--messages 300000] [--open 1010] [--rounds 5]
 */
import { mergeMap, Observable, type OperatorFunction, Subject } from 'rxjs';
import { parseArgs } from 'node:util';
import type { Settlement, WorkerResult } from '../lib/core/handle-message.js';
import { flattenSettlements } from '../lib/service/flatten-settlements.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '300000' },
    open: { type: 'string', default: '1010' },
    rounds: { type: 'string', default: '5' },
  },
});
const messages = Number(values.messages);
const open = Number(values.open);
const rounds = Number(values.rounds);

const candidates: Record<string, () => OperatorFunction<WorkerResult, Settlement>> = {
  flattenSettlements,
  'mergeMap(result => result instanceof Observable ? result : [result])': () =>
    mergeMap((result: WorkerResult) => (result instanceof Observable ? result : [result])),
};

/** ns per message of messages settled already when their worker hands them on (no writes). */
function measureSettled(flatten: OperatorFunction<WorkerResult, Settlement>): number {
  const results = new Subject<WorkerResult>();
  let settled = 0;
  results.pipe(flatten).subscribe(() => (settled += 1));
  const settlement = { outcome: 'processed' } as Settlement;
  const started = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) results.next(settlement);
  const ns = Number(process.hrtime.bigint() - started) / messages;
  if (settled !== messages) throw new Error(`settled ${settled} of ${messages}`);
  return ns;
}

/** ns per message with `open` pending settlements at every moment, the oldest settling first. */
function measure(flatten: OperatorFunction<WorkerResult, Settlement>): number {
  const results = new Subject<WorkerResult>();
  let settled = 0;
  results.pipe(flatten).subscribe(() => (settled += 1));
  const pending: Subject<Settlement>[] = new Array<Subject<Settlement>>(open);
  const settlement = { outcome: 'processed' } as Settlement;
  const started = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) {
    const slot = i % open;
    const oldest = pending[slot];
    if (oldest) {
      oldest.next(settlement);
      oldest.complete();
    }
    const next = new Subject<Settlement>();
    pending[slot] = next;
    results.next(next);
  }
  const ns = Number(process.hrtime.bigint() - started) / messages;
  if (settled !== messages - open) throw new Error(`settled ${settled} of ${messages - open}`);
  return ns;
}

// Warm-up: each candidate once both ways, so the rounds compare compiled code.
for (const make of Object.values(candidates)) {
  measure(make());
  measureSettled(make());
}
for (let round = 1; round <= rounds; round++) {
  for (const [label, run] of [
    [`${open} pending open`, measure],
    ['settled at hand-on', measureSettled],
  ] as const) {
    const line = Object.entries(candidates).map(([name, make]) => `${name}: ${run(make()).toFixed(0)} ns`);
    console.log(`round ${round}, ${label}: ${line.join(', ')}`);
  }
}
