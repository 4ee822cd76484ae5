/**
 * A bare kafkajs consumer, run by the benchmark as a child process so its CPU time and memory
 * are its own: `eachBatch` doing nothing but counting (mode "bare"), or also decoding each value
 * (strict UTF-8, JSON.parse) and validating it with ajv against the service's default schema
 * (mode "ajv"), or doing that through the flow's RxJS shape and nothing else (mode "rxjs": each
 * batch through `mergeMap` with WORKER_POOL_SIZE's default concurrency into a per-message chain
 * of `map(decode)`, `map(validate)`, `count`, `map` to an outcome and a `catchError` branch; no
 * credits, settlement, commits or metrics: the floor the agreed shape puts under the service's
 * default-pipeline row), or forwarding each batch to `outputTopic` as one `sendBatch` with acks from all
 * in-sync replicas, awaited before the batch's offsets are resolved (mode "forward": what a
 * hand-written kafkajs forwarder does, the baseline of the service's OUTPUT_TOPIC row).
 * Consumer settings are the service's. Prints one JSON line with the result: messages, bytes,
 * seconds and CPU seconds from the first batch to the last, and peak RSS.
 * Argument: JSON {brokers, topic, count, mode, groupId, outputTopic}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type AnySchema } from 'ajv';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { catchError, count, from, lastValueFrom, map, mergeMap, of, type Observable } from 'rxjs';
import { projectRoot } from '../lib/project-root.js';
import { procSnapshot } from './proc.js';
import { SETTINGS } from '../lib/config/schema.js';
import { ignoreKafkajsNegativeTimeouts } from '../lib/kafka/negative-timeout-warning.js';

interface Args {
  brokers: string[];
  topic: string;
  count: number;
  mode: BareMode;
  groupId: string;
  /** Mode "forward": where each batch is written. */
  outputTopic?: string;
}

export type BareMode = 'bare' | 'ajv' | 'rxjs' | 'forward';

export interface BareResult {
  messages: number;
  bytes: number;
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  invalid: number;
}

ignoreKafkajsNegativeTimeouts();

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const schema = JSON.parse(
    readFileSync(join(projectRoot(), 'config', 'schemas', 'event.schema.json'), 'utf8'),
  ) as AnySchema;
  const check = new Ajv({ allErrors: true, strict: true }).compile(schema);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const kafka = new Kafka({ clientId: 'bench-bare', brokers: args.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: args.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 500,
    // The service's fetch sizes (KAFKA_FETCH_MAX_BYTES, KAFKA_FETCH_MAX_PARTITION_BYTES defaults).
    maxBytes: SETTINGS.get('kafka.fetchMaxBytes')!.default as number,
    maxBytesPerPartition: SETTINGS.get('kafka.fetchMaxPartitionBytes')!.default as number,
    allowAutoTopicCreation: false,
  });
  // The service's producer settings: acks from all in-sync replicas, no idempotence.
  const producer = args.mode === 'forward' ? kafka.producer({ allowAutoTopicCreation: false }) : undefined;
  if (producer && !args.outputTopic) throw new Error('mode "forward" needs outputTopic');
  await producer?.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: args.topic, fromBeginning: true });
  let seen = 0;
  let bytes = 0;
  let invalid = 0;
  let first = 0;
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  const ajv = args.mode === 'ajv';
  // The work of both the "ajv" and the "rxjs" rows: strict UTF-8, then JSON.parse.
  const parse = (value: Buffer | null): unknown => JSON.parse(decoder.decode(value ?? new Uint8Array()));
  const decode = (message: KafkaMessage) => ({ message, event: parse(message.value) });
  const validate = <T extends { event: unknown }>(decoded: T): T => {
    if (!check(decoded.event)) throw new Error('invalid');
    return decoded;
  };
  const workers = SETTINGS.get('pipeline.workerPoolSize')!.default as number;
  // The agreed shape per message: a chain whose completion is the outcome, its error the DLQ branch.
  const handle = (message: KafkaMessage): Observable<boolean> =>
    of(message).pipe(
      map(decode),
      map(validate),
      count(),
      map(() => true),
      catchError(() => of(false)),
    );
  const result = await new Promise<BareResult>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, resolveOffset }) => {
        if (first === 0) {
          first = performance.now();
          cpuAtFirst = process.cpuUsage();
        }
        for (const message of batch.messages) {
          const value = message.value;
          bytes += (value?.length ?? 0) + (message.key?.length ?? 0);
          if (ajv) {
            try {
              if (!check(parse(value))) invalid++;
            } catch {
              invalid++;
            }
          }
        }
        if (args.mode === 'rxjs') {
          const valid = await lastValueFrom(
            from(batch.messages).pipe(
              mergeMap(handle, workers),
              count((ok) => ok),
            ),
          );
          invalid += batch.messages.length - valid;
        }
        if (producer && batch.messages.length > 0) {
          await producer.sendBatch({
            acks: -1,
            topicMessages: [
              {
                topic: args.outputTopic!,
                messages: batch.messages.map(({ key, value, headers }) => ({ key, value, headers })),
              },
            ],
          });
          resolveOffset(batch.lastOffset());
        }
        seen += batch.messages.length;
        await heartbeat();
        if (seen >= args.count) {
          const cpu = process.cpuUsage(cpuAtFirst);
          resolve({
            messages: seen,
            bytes,
            seconds: (performance.now() - first) / 1000,
            cpuSeconds: (cpu.user + cpu.system) / 1e6,
            peakRssBytes: procSnapshot('self').peakRssBytes,
            invalid,
          });
        }
      },
    });
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await consumer.disconnect();
  await producer?.disconnect();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bare consumer failed: ${String(error)}\n`);
    process.exit(1);
  },
);
