/**
 * The NATS rows of the benchmark (`npm run bench:nats -- [count]`): one stream prefilled with
 * the benchmark's events (about 1 KB of JSON each), then each row timed from its first ack to
 * its last, read from the durable consumer's ack floor. Rows: a bare pull consumer that acks
 * every message and does nothing else, the service (BROKER=nats) with the default pipeline, and
 * the service forwarding to an output subject. Needs the NATS server at NATS_URL (default the
 * local one) and a build (`npm run build`). Prints a table; nothing is asserted.
 */
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { procSnapshot } from './proc.js';
import { serviceEntry, serviceNodeFlags } from './service-process.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const count = Number(process.argv[2] ?? 100_000);
const id = randomBytes(4).toString('hex');
const stream = `bench-${id}`;
const subject = `${stream}.events`;
const log = (line: string) => process.stderr.write(`[bench:nats] ${line}\n`);

interface Row {
  row: string;
  seconds: number;
  cpuSeconds?: number;
  peakRssMiB?: number;
}

function event(seq: number): string {
  const base = {
    Id: randomUUID(),
    seq,
    type: 'order.created',
    customerId: `c-${1 + Math.floor(Math.random() * 100_000)}`,
    amount: 1 + Math.floor(Math.random() * 100_000),
    createdAt: Date.now(),
  };
  // Padded to about 1 KB, as the Kafka benchmark's events.
  return JSON.stringify({ ...base, note: 'x'.repeat(Math.max(0, 1000 - JSON.stringify(base).length)) });
}

async function prefill(nc: NatsConnection): Promise<void> {
  const js = jetstream(nc);
  for (let from = 0; from < count; from += 1000) {
    const acks = [];
    for (let seq = from; seq < Math.min(count, from + 1000); seq++)
      acks.push(js.publish(subject, event(seq)));
    await Promise.all(acks);
  }
}

/** Resolves with the seconds from the durable's first ack to its last (ack floor at `count`). */
async function timeAcks(jsm: JetStreamManager, durable: string, deadlineMs = 600_000): Promise<number> {
  const started = Date.now();
  let first: number | undefined;
  for (;;) {
    const info = await jsm.consumers.info(stream, durable);
    const floor = info.ack_floor.stream_seq;
    if (first === undefined && info.num_ack_pending + floor > 0) first = Date.now();
    if (floor >= count && info.num_ack_pending === 0) return (Date.now() - (first ?? started)) / 1000;
    if (Date.now() - started > deadlineMs) throw new Error(`${durable}: not done after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function bareRow(nc: NatsConnection, jsm: JetStreamManager): Promise<Row> {
  const durable = 'bare';
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    max_ack_pending: 1010,
  });
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  const timing = timeAcks(jsm, durable);
  const cpu = process.cpuUsage();
  let seen = 0;
  while (seen < count) {
    const messages = await consumer.fetch({ max_messages: 1010, expires: 1000 });
    for await (const message of messages) {
      message.ack();
      seen += 1;
    }
  }
  await nc.flush();
  const seconds = await timing;
  const used = process.cpuUsage(cpu);
  return {
    row: 'bare pull consumer, fetch 1010 + ack each',
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

async function serviceRow(
  jsm: JetStreamManager,
  row: string,
  durable: string,
  env: Record<string, string>,
): Promise<Row> {
  const child = spawn(process.execPath, [...serviceNodeFlags(), serviceEntry()], {
    env: {
      PATH: process.env.PATH ?? '',
      BROKER: 'nats',
      NATS_URL,
      NATS_STREAM: stream,
      NATS_DURABLE: durable,
      CREATE_TOPICS: 'true',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    // The service creates its durable at start-up; wait for it before timing.
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${row}: the service exited (${child.exitCode})`);
      if (
        await jsm.consumers.info(stream, durable).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = await timeAcks(jsm, durable);
    const snapshot = procSnapshot(child.pid!);
    return {
      row,
      seconds,
      cpuSeconds: snapshot.cpuSeconds,
      peakRssMiB: Math.round(snapshot.peakRssBytes / 2 ** 20),
    };
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  const created: string[] = [];
  try {
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    created.push(stream);
    log(`prefilling ${count} events into ${stream}`);
    await prefill(nc);
    const output = `bench-out-${id}.valid`;
    created.push(`bench-out-${id}_valid`, `bench-dlq-${id}_dead`);
    const dlq = `bench-dlq-${id}.dead`;
    const before = loadavg()[0]!;
    const rows: Row[] = [];
    rows.push(await bareRow(nc, jsm));
    log(rows.at(-1)!.row);
    rows.push(await serviceRow(jsm, 'service, default pipeline', 'service-default', { DLQ_TOPIC: dlq }));
    log(rows.at(-1)!.row);
    rows.push(
      await serviceRow(jsm, 'service → OUTPUT_TOPIC (JetStream publish)', 'service-forward', {
        DLQ_TOPIC: dlq,
        OUTPUT_TOPIC: output,
      }),
    );
    const bare = rows[0]!;
    const lines = [
      `${count} events of about 1 KB, ${cpus().length} cores, load average ${before.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
      '| row | msg/s | × bare | CPU s | peak RSS MiB |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.row} | ${Math.round(count / r.seconds).toLocaleString('en-US')} | ${(bare.seconds / r.seconds).toFixed(2)} | ${r.cpuSeconds?.toFixed(2) ?? ''} | ${r.peakRssMiB ?? ''} |`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const name of created) await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  }
}

await main();
