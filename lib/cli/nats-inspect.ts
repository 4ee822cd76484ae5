import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { InspectOptions } from './args.js';
import { CliFailure } from './errors.js';
import type { Io } from './io.js';
import type { DlqRecord } from './letter.js';
import { renderSummary, SummaryBuilder, type Summary } from './summary.js';
import { errorMessage } from '../core/errors.js';
import { connectNats } from '../nats/connection.js';
import { deliveryHeaders } from '../nats/nats-headers.js';

export type NatsInspectOutcome = { summary: Summary & { servers: string[] } } | 'stopped';

/**
 * `myeventstream dlq inspect` with BROKER=nats: reads the dead letters on the subject DLQ_TOPIC
 * (or --topic) from the stream that takes it, up to the last one there when the read started,
 * and prints the summary the Kafka command prints. The stream is "partition" 0 and the stream
 * sequence the offset. It reads with a consumer of its own that takes no acks: the service's
 * durable consumer is not touched.
 */
export async function inspectNats(
  options: InspectOptions,
  settings: { dlqSubject: string; servers: string[] },
  io: Io,
  signal: AbortSignal,
): Promise<NatsInspectOutcome> {
  const subject = options.topic ?? settings.dlqSubject;
  let nc: NatsConnection;
  try {
    nc = await connectNats(settings.servers, 'myeventstream-dlq-cli');
  } catch (error) {
    throw new CliFailure(`cannot reach NATS at ${settings.servers.join(',')}: ${errorMessage(error)}`);
  }
  try {
    const jsm = await jetstreamManager(nc);
    const stream = await jsm.streams.find(subject).catch(() => {
      throw new CliFailure(
        `no stream takes the dead-letter subject ${subject} on ${settings.servers.join(',')}`,
      );
    });
    // An ephemeral consumer without acks (not an ordered consumer: its subject filter needs
    // a 2.10 server); the server removes it a while after the read if the delete below fails.
    const { name } = await jsm.consumers.add(stream, {
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: 30_000_000_000,
    });
    const consumer = await jetstream(nc).consumers.get(stream, name);
    const total = (await consumer.info(true)).num_pending;
    const builder = new SummaryBuilder({ samples: options.samples, bucket: options.bucket });
    let first: string | null = null;
    let last: string | null = null;
    let read = 0;
    if (total > 0) {
      const messages = await consumer.consume({ max_messages: Math.min(total, 1000) });
      const stop = () => messages.stop();
      signal.addEventListener('abort', stop, { once: true });
      for await (const message of messages) {
        const record: DlqRecord = {
          partition: 0,
          offset: String(message.seq),
          key: null,
          value: Buffer.from(message.data),
          headers: deliveryHeaders(message.headers),
        };
        builder.add(record);
        first ??= record.offset;
        last = record.offset;
        read += 1;
        if (read === total) break;
      }
      signal.removeEventListener('abort', stop);
    }
    await jsm.consumers.delete(stream, name).catch(() => undefined);
    if (signal.aborted) return 'stopped';
    const info = await jsm.streams.info(stream);
    const summary = {
      servers: settings.servers,
      stream,
      ...builder.result(subject, [
        {
          partition: 0,
          startOffset: String(info.state.first_seq),
          endOffset: String((last === null ? info.state.last_seq : Number(last)) + 1),
          messages: read,
          firstRead: first,
          lastRead: last,
        },
      ]),
    };
    await io.out(options.json ? `${JSON.stringify(summary, null, 2)}\n` : renderSummary(summary));
    return { summary };
  } finally {
    await nc.close();
  }
}
