import { spawn } from 'node:child_process';
import type { Admin } from 'kafkajs';
import { eventFactory } from './events.js';
import type { KeySpec } from './keys.js';
import { seededRandom } from './random.js';
import { track } from './service-process.js';

export const KCAT = process.env.KCAT ?? 'kcat';

export interface PrefillOptions {
  brokers: string[];
  topic: string;
  count: number;
  template?: string;
  size?: number;
  keys: KeySpec;
  seed?: number;
  progress?: (done: number) => void;
}

/**
 * Fills a topic with `count` events through `kcat -P` (librdkafka: far faster than a Node
 * producer, so filling does not dominate the benchmark), reading key<TAB>value lines from
 * stdin. Returns the bytes of keys and values written.
 */
export async function prefillWithKcat(options: PrefillOptions): Promise<{ bytes: number; seconds: number }> {
  const started = performance.now();
  const makeEvent = eventFactory({
    template: options.template,
    size: options.size,
    keys: options.keys,
    malformed: 0,
    failing: 0,
    failAttempts: 1,
    random: seededRandom(options.seed ?? 1),
  });
  const child = track(
    spawn(
      KCAT,
      [
        '-P',
        '-b',
        options.brokers.join(','),
        '-t',
        options.topic,
        '-K',
        '\t',
        '-X',
        'linger.ms=20',
        '-X',
        'queue.buffering.max.kbytes=262144',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    ),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  let bytes = 0;
  const stdin = child.stdin!;
  stdin.on('error', () => undefined);
  for (let seq = 0; seq < options.count;) {
    const lines: string[] = [];
    const end = Math.min(options.count, seq + 1000);
    for (; seq < end; seq++) {
      const event = makeEvent(seq);
      const key = event.key ?? '';
      bytes += Buffer.byteLength(event.value) + Buffer.byteLength(key);
      lines.push(`${key}\t${event.value}\n`);
    }
    if (!stdin.write(lines.join(''))) {
      await Promise.race([new Promise((resolve) => stdin.once('drain', resolve)), exited]);
    }
    if (child.exitCode !== null) break;
    if (seq % 50_000 === 0) options.progress?.(seq);
  }
  stdin.end();
  const code = await exited;
  if (code !== 0 || /ERROR/.test(stderr)) {
    throw new Error(`kcat -P into ${options.topic} failed (exit ${code}): ${stderr.trim().slice(-500)}`);
  }
  return { bytes, seconds: (performance.now() - started) / 1000 };
}

/** Messages in a topic: the sum over partitions of high minus low watermark. */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
}
