import type { InspectOptions } from './args.js';
import type { Io } from './io.js';
import { boundedRead, createKafka, topicOffsets, withAdmin } from './kafka-io.js';
import { resolveConnection, type CliSettings } from './settings.js';
import { renderSummary, SummaryBuilder, type PartitionRead, type Summary } from './summary.js';

export type InspectOutcome = { summary: Summary & { brokers: string[] } } | 'stopped';

/**
 * Reads the dead-letter topic from its first offsets to the end offsets taken before reading
 * (letters written meanwhile are left for the next inspection) and prints the summary.
 */
export async function inspect(
  options: InspectOptions,
  settings: CliSettings,
  io: Io,
  signal: AbortSignal,
): Promise<InspectOutcome> {
  const { dlqTopic, dlqBrokers } = resolveConnection(settings, options);
  const kafka = createKafka(dlqBrokers, `${settings.clientId}-dlq-cli`, options.verbose);
  const offsets = await withAdmin(kafka, dlqBrokers, (admin) =>
    topicOffsets(admin, dlqTopic, dlqBrokers, 'dead-letter topic'),
  );
  const builder = new SummaryBuilder({ samples: options.samples, bucket: options.bucket });
  const read = new Map<number, { messages: number; first: string; last: string }>();
  const outcome = await boundedRead({
    kafka,
    brokers: dlqBrokers,
    topic: dlqTopic,
    plans: offsets.map(({ partition, low, high }) => ({ partition, from: low, end: high })),
    sessionTimeoutMs: settings.sessionTimeoutMs,
    signal,
    handle: async (record) => {
      builder.add(record);
      // Records of a partition arrive in offset order.
      const soFar = read.get(record.partition);
      read.set(record.partition, {
        messages: (soFar?.messages ?? 0) + 1,
        first: soFar?.first ?? record.offset,
        last: record.offset,
      });
      return 'continue';
    },
  });
  if (outcome === 'stopped') return 'stopped';
  const partitions: PartitionRead[] = offsets.map(({ partition, low, high }) => ({
    partition,
    startOffset: low.toString(),
    endOffset: high.toString(),
    messages: read.get(partition)?.messages ?? 0,
    firstRead: read.get(partition)?.first ?? null,
    lastRead: read.get(partition)?.last ?? null,
  }));
  const summary = { brokers: dlqBrokers, ...builder.result(dlqTopic, partitions) };
  await io.out(options.json ? `${JSON.stringify(summary, null, 2)}\n` : renderSummary(summary));
  return { summary };
}
