/**
 * Quick side-by-side: messages/s of a bare kafkajs eachBatch consumer doing nothing, and of the
 * compiled service with the default pipeline, on the same prefilled topic.
 *   npm run build && KAFKA_BROKERS=127.0.0.1:9092 npx tsx loadtest/compare-with-bare.ts [count]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { projectRoot } from '../lib/project-root.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const count = Number(process.argv[2] ?? 200_000);
const kafka = new Kafka({ clientId: 'compare', brokers, logLevel: logLevel.NOTHING });
const suffix = randomBytes(4).toString('hex');
const topic = `compare-${suffix}`;

async function prefill(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 6 },
      { topic: `${topic}-dlq`, numPartitions: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const padding = 'x'.repeat(180);
  for (let i = 0; i < count; i += 5000) {
    const messages = Array.from({ length: Math.min(5000, count - i) }, (_, j) => ({
      key: `k${i + j}`,
      value: JSON.stringify({ Id: `id-${i + j}`, padding }),
    }));
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

async function bare(): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bare-${suffix}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (first === 0) first = Date.now();
        for (const message of batch.messages) resolveOffset(message.offset);
        seen += batch.messages.length;
        await heartbeat();
        if (seen >= count) resolve(Date.now() - first);
      },
    });
  });
  const elapsed = await done;
  await consumer.disconnect();
  return elapsed;
}

async function service(): Promise<number> {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const nodeArgs = process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, join(projectRoot(), 'dist', 'lib', 'main.js')], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC: topic,
      DLQ_TOPIC: `${topic}-dlq`,
      KAFKA_GROUP_ID: `service-${suffix}`,
      METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: 'inherit',
  });
  let first = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const processed = await fetch(`http://127.0.0.1:${port}/metrics`)
      .then((r) => r.text())
      .then((text) => Number(/^events_processed_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0))
      .catch(() => 0);
    if (processed > 0 && first === 0) first = Date.now();
    if (processed >= count) break;
  }
  const elapsed = Date.now() - first;
  child.kill('SIGTERM');
  return elapsed;
}

await prefill();
const bareMs = await bare();
const serviceMs = await service();
const rate = (ms: number) => Math.round((count / ms) * 1000);
console.log(
  JSON.stringify({
    count,
    bare: { ms: bareMs, perSecond: rate(bareMs) },
    service: { ms: serviceMs, perSecond: rate(serviceMs) },
    ratio: +(bareMs / serviceMs).toFixed(2),
  }),
);
