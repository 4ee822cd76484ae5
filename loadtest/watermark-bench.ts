/**
 * Micro-benchmark of one partition's watermark, the per-message bookkeeping of every commit:
 * `node --expose-gc --import tsx loadtest/watermark-bench.ts [--count N]`. Prints nanoseconds
 * per add and per settle, and the heap one stuck offset costs while N later offsets settle.
 * Figures only, never asserted: timings depend on the machine.
 */
import { PartitionWatermark } from '../lib/kafka/commit/partition-watermark.js';

const FIRST_OFFSET = 9007199254740000n; // past 2^53, as real offsets may be
const WINDOW = 1010; // QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE with the defaults

function parseCount(args: string[]): number {
  const at = args.indexOf('--count');
  const count = at === -1 ? 1_000_000 : Number(args[at + 1]);
  if (!Number.isSafeInteger(count) || count < WINDOW)
    throw new Error(`--count must be an integer >= ${WINDOW}`);
  return count;
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
}

/** Offsets as kafkajs hands them over: strings, made before the clock starts. */
function offsets(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (FIRST_OFFSET + BigInt(i)).toString());
}

/**
 * The service's steady state: WINDOW offsets in flight, each settled a little out of order
 * (a fixed stride through the window), one added for each settled.
 */
function steadyState(all: string[]): { addNs: number; settleNs: number } {
  const watermark = new PartitionWatermark();
  let addTime = 0n;
  let settleTime = 0n;
  for (let i = 0; i < WINDOW; i += 1) watermark.add(all[i]!);
  const stride = 7;
  for (let base = 0; base + WINDOW * 2 <= all.length; base += WINDOW) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < WINDOW; i += 1) watermark.settle(all[base + ((i * stride) % WINDOW)]!);
    settleTime += process.hrtime.bigint() - start;
    start = process.hrtime.bigint();
    for (let i = 0; i < WINDOW; i += 1) watermark.add(all[base + WINDOW + i]!);
    addTime += process.hrtime.bigint() - start;
    watermark.commitPoint(); // as the committer does every COMMIT_INTERVAL_MS
  }
  const rounds = Math.floor((all.length - WINDOW) / WINDOW);
  return { addNs: Number(addTime) / (rounds * WINDOW), settleNs: Number(settleTime) / (rounds * WINDOW) };
}

/**
 * One offset never settles while every later one does: the heap it holds on to. Each chunk's
 * offset strings are made fresh and dropped after, as kafkajs's are once a message settled.
 */
function stuckOffset(count: number): { heapBytes: number; addNs: number; settleNs: number; commit: string } {
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const watermark = new PartitionWatermark();
  watermark.add(FIRST_OFFSET.toString());
  let addTime = 0n;
  let settleTime = 0n;
  const chunk = 1000;
  for (let from = 1; from <= count; from += chunk) {
    const batch = Array.from({ length: Math.min(chunk, count + 1 - from) }, (_, i) =>
      (FIRST_OFFSET + BigInt(from + i)).toString(),
    );
    let start = process.hrtime.bigint();
    for (const offset of batch) watermark.add(offset);
    addTime += process.hrtime.bigint() - start;
    start = process.hrtime.bigint();
    for (const offset of batch) watermark.settle(offset);
    settleTime += process.hrtime.bigint() - start;
  }
  collectGarbage();
  const heapBytes = process.memoryUsage().heapUsed - before;
  const commit = watermark.commitPoint() ?? 'none';
  return { heapBytes, addNs: Number(addTime) / count, settleNs: Number(settleTime) / count, commit };
}

const count = parseCount(process.argv.slice(2));
const steady = (() => {
  const all = offsets(count);
  steadyState(all); // warm-up: the JIT settles before anything is timed
  return steadyState(all);
})(); // its offsets are garbage before the heap is measured
const stuck = stuckOffset(count);
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
console.log(
  `steady state, ${WINDOW} in flight: add ${steady.addNs.toFixed(0)} ns, settle ${steady.settleNs.toFixed(0)} ns`,
);
console.log(
  `${count} settles behind one stuck offset: heap +${mb(stuck.heapBytes)} MB, ` +
    `add ${stuck.addNs.toFixed(0)} ns, settle ${stuck.settleNs.toFixed(0)} ns, commit point ${stuck.commit}`,
);
