import type { Kafka } from 'kafkajs';
import { endOffsets, randomName } from '../../integration/support/kafka.js';
import type { ServiceProcess } from '../../integration/support/service-process.js';
import type { ReadMessage } from '../../integration/support/topic-reader.js';

/**
 * What a service process shows from outside (its HTTP endpoints, its exit) and what it wrote
 * (whole topics, read by an independent consumer). Shared by the DLQ-outage, hostile-input
 * and bad-config fault specs.
 */

/** GET /readyz: the status code and the reasons the service gives for not being ready. */
export async function readyz(port: number): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await response.json()) as { ready: boolean; reasons?: string[] };
  return { status: response.status, reasons: body.reasons ?? [] };
}

/** GET /healthz: the status code. */
export async function healthz(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  await response.arrayBuffer();
  return response.status;
}

/** GET /metrics, as metric name → sum of its series (labels dropped). */
export async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, value] = match;
    values.set(name!, (values.get(name!) ?? 0) + Number(value));
  }
  return values;
}

/** One metric of a scrape; throws when the service does not export it. */
export function metric(values: Map<string, number>, name: string): number {
  const value = values.get(name);
  if (value === undefined) throw new Error(`the service exports no metric ${name}`);
  return value;
}

/** The exit of a process that must stop on its own within `timeoutMs`. */
export async function exitWithin(
  service: ServiceProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms; stderr: ${service.stderr.join('')}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the process is still running (it has not exited). */
export async function isRunning(service: ServiceProcess): Promise<boolean> {
  const marker = Symbol('running');
  const first = await Promise.race([service.exited, new Promise((resolve) => setImmediate(resolve, marker))]);
  return first === marker;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads a whole topic from the beginning, with a fresh group, until every partition was read
 * up to the end offsets it had when the read began: an exact, independent count. `visit` sees
 * each message (for topics too large to hold); without it the messages are returned.
 */
export async function readAll(
  kafka: Kafka,
  topic: string,
  visit?: (message: ReadMessage) => void,
  timeoutMs = 180_000,
): Promise<ReadMessage[]> {
  const ends = await endOffsets(kafka, topic);
  const remaining = new Map([...ends].filter(([, end]) => end !== '0').map(([p, end]) => [p, BigInt(end)]));
  const messages: ReadMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: randomName('read-all'), sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const end = remaining.get(partition);
        if (end === undefined) return;
        if (visit) visit({ ...message, partition });
        else messages.push({ ...message, partition });
        if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (remaining.size > 0 && Date.now() < deadline) await sleep(100);
    if (remaining.size > 0) {
      throw new Error(`${topic}: partitions ${[...remaining.keys()].join(', ')} not read to the end`);
    }
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** Messages by key (as text), in the order read. */
export function groupByKey(messages: ReadMessage[]): Map<string, ReadMessage[]> {
  const byKey = new Map<string, ReadMessage[]>();
  for (const message of messages) {
    const key = String(message.key);
    const copies = byKey.get(key);
    if (copies) copies.push(message);
    else byKey.set(key, [message]);
  }
  return byKey;
}
