import { createHash } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage } from '../core/errors.js';
import { connectNats } from '../nats/connection.js';
import { deliveryHeaders, publishHeaders } from '../nats/nats-headers.js';
import type { ReplayOptions } from './args.js';
import { showBytes, terminalSafe } from './display.js';
import { CliFailure } from './errors.js';
import type { Io } from './io.js';
import { letterInfo, type DlqRecord, type LetterInfo } from './letter.js';
import { natsReplayedHeaders, replayDurableName, replayMessageId } from './nats-replay-message.js';
import { Pacer } from './progress.js';
import { replayedFrom, targetOf } from './replay-message.js';
import { newReplayResult, type PlannedReplay, type ReplayResult, type ReplayRun } from './replay.js';
import {
  canResume,
  describeFingerprint,
  describeSelection,
  matches,
  selectionFingerprint,
} from './selection.js';

export interface NatsReplaySettings {
  dlqSubject: string;
  servers: string[];
}

/** How long a read waits for the next letter before asking whether any is left. */
const NEXT_WAIT_MS = 2000;
/** Unused replay consumers are removed by the server after this long. */
const DRY_RUN_INACTIVE_NS = 30_000_000_000;

/**
 * `myeventstream dlq replay` with BROKER=nats: the behaviour of the Kafka command on the stream
 * that takes the dead-letter subject (DLQ_TOPIC or --topic), read up to its last sequence when
 * the run started. The stream is partition 0 and the stream sequence the offset.
 *
 * Delivery guarantee: the replay group is a durable consumer (named after --group) on the
 * dead-letter stream that takes explicit acks, one letter at a time. A selected letter is
 * published with a JetStream publish whose ack (the target stream stored it) is awaited, then
 * the letter is acked with its ack confirmed by the server; a letter not selected is acked at
 * once. A rerun resumes after the last acked letter, so an interrupted run never loses one; after
 * SIGINT/SIGTERM or a failed write none is written twice. A hard stop between the publish and the
 * letter's ack publishes it once more on the next run, with the same message id: the target
 * stream drops it as a duplicate inside its duplicate window (two minutes by default).
 *
 * The durable's description holds the selection and --to, as the Kafka group's commit metadata
 * does: a run with another selection is refused (a dry run warns and lists what a group of its
 * own would publish).
 */
export async function replayNats(
  options: ReplayOptions,
  settings: NatsReplaySettings,
  io: Io,
  signal: AbortSignal,
): Promise<ReplayRun> {
  const subject = options.topic ?? settings.dlqSubject;
  const fingerprint = selectionFingerprint(options.selection, options.to);
  const durable = replayDurableName(options.group);
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
    const { state } = await jsm.streams.info(stream);
    const end = state.last_seq;
    let held = await jsm.consumers.info(stream, durable).catch(() => undefined);
    if (held && !resumable(held, subject, options)) {
      const own = `${options.group}-${createHash('sha256').update(fingerprint).digest('hex').slice(0, 8)}`;
      const what =
        held.config.filter_subject === subject
          ? `a replay of ${terminalSafe(describeFingerprint(held.config.description ?? ''))}`
          : `a replay of another subject (${terminalSafe(held.config.filter_subject ?? 'every subject')})`;
      const message = `replay group "${options.group}" (durable ${durable} on stream ${stream}) holds the progress of ${what}`;
      if (!options.dryRun) {
        throw new CliFailure(
          `${message}; rerun that replay with the same options, or give this one its own group, e.g. --group ${own}`,
        );
      }
      io.err(
        `Warning: ${message}, so a replay with these options is refused on it. Listed is what it would publish with its own group, e.g. --group ${own}, which starts at the first sequence.\n`,
      );
      held = undefined;
    }
    // The group's position: after the last letter it acked, else the stream's first.
    const from = held ? held.ack_floor.stream_seq + 1 : state.first_seq;
    const result = newReplayResult(subject, options, [
      { partition: 0, from: String(from), end: String(end + 1) },
    ]);
    const pending = Math.max(0, end + 1 - from);
    io.err(
      `${options.dryRun ? 'Dry run: reading' : 'Replaying'} ${describeSelection(options.selection)} from ${subject} (stream ${stream}) at ${settings.servers.join(',')} (${pending} sequence(s) to read, group ${options.group}) to ${options.to ?? 'the original subjects'}\n`,
    );
    const readOnly = options.dryRun ? await readOnlyConsumer(jsm, stream, subject, from) : undefined;
    const consumer = await jetstream(nc).consumers.get(
      stream,
      readOnly ?? (await replayConsumer(jsm, stream, subject, durable, fingerprint, held)),
    );
    const run = new Run(options, subject, result, io, jetstream(nc), signal);
    const progress = setInterval(
      () =>
        io.err(
          `... ${result.wouldPublish ? `${result.wouldPublish.count} selected` : `${result.published} replayed`}, ${result.skipped} skipped\n`,
        ),
      10_000,
    );
    progress.unref();
    try {
      result.outcome = pending === 0 ? 'end' : await run.read(consumer, end);
    } catch (error) {
      run.failure ??= error instanceof CliFailure ? error : new CliFailure(errorMessage(error));
      result.outcome = 'failed';
    } finally {
      clearInterval(progress);
      if (readOnly) await jsm.consumers.delete(stream, readOnly).catch(() => undefined);
    }
    let failure = run.failure;
    if (failure) result.outcome = 'failed';
    if (!failure && options.dryRun && result.problems > 0) {
      failure = new CliFailure(
        `${result.problems} selected dead letter(s) could not be replayed (see the list)`,
      );
    }
    return failure ? { result, failure } : { result };
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/**
 * Whether a replay group's durable may be resumed by this run: it reads the same subject, and
 * its description is this selection's (see canResume; a durable made by hand, without one, is
 * taken as a deliberate starting point).
 */
function resumable(held: ConsumerInfo, subject: string, options: ReplayOptions): boolean {
  if (held.config.filter_subject !== subject) return false;
  return canResume(held.config.description, options.selection, options.to);
}

/** The replay group's durable: created, or given this run's selection in its description. */
async function replayConsumer(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  durable: string,
  fingerprint: string,
  held: ConsumerInfo | undefined,
): Promise<string> {
  if (!held) {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      description: fingerprint,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      // One letter at a time: the next is delivered only once this one is acked, so the
      // group's ack floor is exactly where a rerun resumes.
      max_ack_pending: 1,
      ack_wait: 60_000_000_000,
    });
  } else if (held.config.description !== fingerprint) {
    await jsm.consumers.update(stream, durable, { description: fingerprint });
  }
  return durable;
}

/** A consumer of its own that takes no acks, from the replay group's position: for --dry-run. */
async function readOnlyConsumer(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  from: number,
): Promise<string> {
  const { name } = await jsm.consumers.add(stream, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
    inactive_threshold: DRY_RUN_INACTIVE_NS,
  });
  return name;
}

class Run {
  failure: CliFailure | undefined;
  private readonly pacer: Pacer;
  private duplicateNoted = false;

  constructor(
    private readonly options: ReplayOptions,
    private readonly subject: string,
    private readonly result: ReplayResult,
    private readonly io: Io,
    private readonly js: JetStreamClient,
    private readonly signal: AbortSignal,
  ) {
    this.pacer = new Pacer(options.rate);
  }

  /** Reads letters up to sequence `end`, one at a time. */
  async read(consumer: Consumer, end: number): Promise<ReplayResult['outcome']> {
    for (;;) {
      if (this.signal.aborted) return 'stopped';
      const message = await consumer.next({ expires: NEXT_WAIT_MS });
      if (!message) {
        const info = await consumer.info(true);
        if (info.num_pending === 0 && info.num_ack_pending === 0) return 'end';
        continue;
      }
      if (message.seq > end) {
        // Written after the run started: left for the next run.
        if (!this.options.dryRun) message.nak();
        return 'end';
      }
      const verdict = await this.handle(message);
      if (verdict !== 'continue') return verdict;
      if (message.seq >= end) return 'end';
    }
  }

  private async handle(message: JsMsg): Promise<'continue' | 'limit' | 'stopped' | 'failed'> {
    const record: DlqRecord = {
      partition: 0,
      offset: String(message.seq),
      key: null,
      value: Buffer.from(message.data),
      headers: deliveryHeaders(message.headers),
    };
    const info = letterInfo(record.headers);
    if (!matches(this.options.selection, info)) {
      this.result.skipped += 1;
      if (!this.options.dryRun) await message.ackAck();
      return 'continue';
    }
    const from = replayedFrom(this.subject, record);
    this.noteReplayed(info, from);
    const target = targetOf(info, this.options.to)?.topic;
    const problem =
      target === undefined
        ? `${from} has no original_topic header: replay it with --to SUBJECT (and its own --group)`
        : undefined;
    if (this.options.dryRun) {
      const planned: PlannedReplay = {
        from,
        errorCode: info.code ?? null,
        errorStage: info.stage ?? null,
        timestamp: info.deadLetteredAt?.toISOString() ?? null,
        target: target === undefined ? null : { topic: target, partition: null },
        problem: problem ?? null,
        key: showBytes(record.key, 60, 32),
        valueBytes: record.value?.length ?? null,
        replayedFrom: info.replayedFrom ?? null,
      };
      this.result.planned!.push(planned);
      if (target === undefined) this.result.problems += 1;
      else this.counted(target);
      return this.limitReached() ? 'limit' : 'continue';
    }
    if (target === undefined) {
      message.nak();
      this.failure = new CliFailure(problem!);
      return 'failed';
    }
    const wait = this.pacer.delay(Date.now());
    if (wait > 0 && !(await sleep(wait, this.signal))) {
      message.nak();
      return 'stopped';
    }
    const headers = publishHeaders(natsReplayedHeaders(record.headers ?? {}, from, new Date()));
    try {
      const ack = await this.js.publish(target, message.data, {
        msgID: replayMessageId(from),
        ...(headers ? { headers } : {}),
      });
      if (ack.duplicate) this.noteDuplicate(from, target);
    } catch (error) {
      message.nak();
      this.failure = new CliFailure(
        `writing ${from} to ${target} failed: ${errorMessage(error)}; it was not acked, a rerun resumes there`,
      );
      return 'failed';
    }
    this.counted(target);
    try {
      await message.ackAck();
    } catch (error) {
      this.failure = new CliFailure(
        `${from} was written to ${target} but could not be acked (${errorMessage(error)}); a rerun publishes it once more, which the target stream drops as a duplicate inside its duplicate window`,
      );
      return 'failed';
    }
    return this.limitReached() ? 'limit' : 'continue';
  }

  /** As the Kafka replay: counts letters sent back before, and warns at the first. */
  private noteReplayed(info: LetterInfo, from: string): void {
    if (info.replayedFrom === undefined) return;
    this.result.replayedBefore += 1;
    if (this.result.replayedBefore > 1 || this.options.selection.replayed !== undefined) return;
    this.io.err(
      `Warning: ${terminalSafe(from)} carries replayed_from ${terminalSafe(info.replayedFrom)}: an earlier replay already sent this message back and it failed again. --skip-replayed leaves such dead letters out, --only-replayed takes only them (either resumes this group's progress).\n`,
    );
  }

  /**
   * The target stream already held this letter's replay (same message id inside its duplicate
   * window): an earlier run published it and stopped before its ack, or another group replayed
   * it moments ago. It is not stored twice; said once per run.
   */
  private noteDuplicate(from: string, target: string): void {
    if (this.duplicateNoted) return;
    this.duplicateNoted = true;
    this.io.err(
      `Note: ${terminalSafe(from)} was already replayed to ${terminalSafe(target)} within the stream's duplicate window; the stream keeps the first copy only (so may later letters of this run).\n`,
    );
  }

  private counted(target: string): void {
    const tally = this.result.wouldPublish ?? this.result;
    if (this.result.wouldPublish) this.result.wouldPublish.count += 1;
    else this.result.published += 1;
    tally.byTarget[target] = (tally.byTarget[target] ?? 0) + 1;
  }

  private limitReached(): boolean {
    const count = this.result.wouldPublish?.count ?? this.result.published;
    return this.options.limit !== undefined && count >= this.options.limit;
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
