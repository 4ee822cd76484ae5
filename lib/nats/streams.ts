import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import { errorMessage } from '../core/errors.js';
import { StartupError } from '../startup-error.js';
import type { NatsSettings } from './nats-settings.js';
import { streamNameFor, subjectMatches } from './subjects.js';

/** What the durable consumer must be: its limits follow the service's credits. */
export interface DurableSpec {
  stream: string;
  durable: string;
  /** Empty: every subject of the stream. */
  subject: string;
  ackWaitMs: number;
  /** QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE: the server delivers no more unacknowledged ones. */
  maxAckPending: number;
}

/**
 * Makes sure the streams exist: NATS_STREAM, and one that takes each subject the service
 * writes to (OUTPUT_TOPIC, DLQ_TOPIC), since a JetStream publish that no stream takes fails.
 * With CREATE_TOPICS=true missing ones are created (NATS_STREAM with the subjects NATS_SUBJECT,
 * or `<NATS_STREAM>.>`; a written subject in a stream named after it); otherwise a missing one
 * stops start-up naming its setting. A written subject the consumer would read back is refused.
 * Returns the names of the streams created.
 */
export async function prepareStreams(jsm: JetStreamManager, settings: NatsSettings): Promise<string[]> {
  const created: string[] = [];
  const { stream, subject, createStreams } = settings;
  const existing = await jsm.streams.info(stream).catch(() => undefined);
  if (!existing) {
    if (!createStreams)
      throw new StartupError(
        'NATS_STREAM',
        `Stream ${stream} (NATS_STREAM) does not exist. Create it, or set CREATE_TOPICS=true to let the service create it.`,
      );
    await jsm.streams.add({ name: stream, subjects: [subject || `${stream}.>`] });
    created.push(stream);
  }
  const written: Array<[string, string | undefined]> = [
    ['OUTPUT_TOPIC', settings.outputSubject],
    ['DLQ_TOPIC', settings.dlqSubject],
  ];
  for (const [setting, target] of written) {
    if (target === undefined) continue;
    const holder = await jsm.streams.find(target).catch(() => undefined);
    if (holder === stream && (subject === '' || subjectMatches(subject, target)))
      throw new StartupError(
        setting,
        `${setting}=${target} is a subject of NATS_STREAM=${stream} that the service consumes: it would read its own writes. Write to a subject outside it, or set NATS_SUBJECT to leave it out.`,
      );
    if (holder !== undefined) continue;
    if (!createStreams)
      throw new StartupError(
        setting,
        `No stream takes the subject ${target} (${setting}). Create one, or set CREATE_TOPICS=true to let the service create it.`,
      );
    const name = streamNameFor(target);
    await jsm.streams.add({ name, subjects: [target] }).catch((error: unknown) => {
      throw new StartupError(
        setting,
        `Creating stream ${name} for ${target} failed: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    });
    created.push(name);
  }
  return created;
}

/**
 * Creates the durable pull consumer, or updates an existing one so its ack wait, its
 * max_ack_pending and its filter follow the settings (it keeps its position either way).
 */
export async function ensureDurable(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
  const wanted: Partial<ConsumerConfig> = {
    ack_wait: spec.ackWaitMs * 1_000_000,
    max_ack_pending: spec.maxAckPending,
    filter_subject: spec.subject || undefined,
  };
  const current = await jsm.consumers.info(spec.stream, spec.durable).catch(() => undefined);
  if (current) {
    await jsm.consumers.update(spec.stream, spec.durable, wanted);
    return;
  }
  await jsm.consumers.add(spec.stream, {
    ...wanted,
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  });
}
