import { createHash } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { errorMessage } from '../core/errors.js';
import type { ReplayOptions } from './args.js';
import { describeShown, showBytes, terminalSafe, type ShownBytes } from './display.js';
import { CliFailure } from './errors.js';
import {
  boundedRead,
  committedOffsets,
  createKafka,
  partitionCount,
  pause,
  topicOffsets,
  unreachable,
  waitUntilGroupIdle,
  withAdmin,
  type ReadContext,
  type ReadOutcome,
  type Verdict,
} from './kafka-io.js';
import { letterInfo, type DlqRecord, type LetterInfo } from './letter.js';
import { Pacer, type PartitionPlan } from './progress.js';
import { partitionFor, replayedFrom, replayedMessage, targetOf } from './replay-message.js';
import {
  canResume,
  describeFingerprint,
  describeSelection,
  matches,
  selectionFingerprint,
} from './selection.js';
import { resolveConnection, type CliSettings } from './settings.js';
import type { Io } from './io.js';

/** One letter a dry run would publish. */
export interface PlannedReplay {
  from: string;
  errorCode: string | null;
  errorStage: string | null;
  timestamp: string | null;
  /** Null when it cannot be published (see `problem`). */
  target: { topic: string; partition: number | null } | null;
  problem: string | null;
  key: ShownBytes;
  valueBytes: number | null;
  /** Its replayed_from header: an earlier replay sent it back and it failed again. */
  replayedFrom: string | null;
}

/** What a run did (`replay --json`). */
export interface ReplayResult {
  dlqTopic: string;
  group: string;
  dryRun: boolean;
  selection: string;
  to: string | null;
  /** Where each partition started (the group's committed offset, else the first offset) and its end. */
  partitions: Array<{ partition: number; from: string; end: string }>;
  /** Published and acknowledged; always 0 with --dry-run (see `wouldPublish`). */
  published: number;
  byTarget: Record<string, number>;
  /** --dry-run only: what a replay would publish, in all and by target topic. */
  wouldPublish?: { count: number; byTarget: Record<string, number> };
  /**
   * Selected letters carrying replayed_from: messages an earlier replay already sent back,
   * which failed again (--skip-replayed leaves them out, --only-replayed takes only them).
   */
  replayedBefore: number;
  /** Read but not selected. */
  skipped: number;
  /** Selected letters a dry run found it could not publish. */
  problems: number;
  /** end: the end offsets were reached; limit: --limit reached; stopped: by a signal; failed. */
  outcome: 'end' | 'limit' | 'stopped' | 'failed';
  /** Dry run only. */
  planned?: PlannedReplay[];
}

export interface ReplayRun {
  result: ReplayResult;
  failure?: CliFailure;
}

/**
 * Delivery guarantee: each selected letter is written with acks=-1 by an idempotent producer
 * (so the client's own retries never duplicate it), and only once the write is acknowledged is
 * the letter's DLQ offset committed to the replay group. An interrupted run therefore never
 * loses a letter and, when interrupted by SIGINT/SIGTERM or a failed write, never writes one
 * twice: the letter in hand is finished (written and committed) or not started. Only a hard
 * stop (SIGKILL, power loss, a lost connection to the group coordinator) between an
 * acknowledged write and its commit leaves one letter to be written again by the next run.
 */
export async function replay(
  options: ReplayOptions,
  settings: CliSettings,
  io: Io,
  signal: AbortSignal,
): Promise<ReplayRun> {
  const connection = resolveConnection(settings, options);
  const { dlqTopic, dlqBrokers, targetBrokers } = connection;
  const fingerprint = selectionFingerprint(options.selection, options.to);
  const clientId = `${settings.clientId}-dlq-cli`;
  const dlqKafka = createKafka(dlqBrokers, clientId, options.verbose);
  const targetKafka =
    targetBrokers.join(',') === dlqBrokers.join(',')
      ? dlqKafka
      : createKafka(targetBrokers, clientId, options.verbose);

  const plans = await withAdmin(dlqKafka, dlqBrokers, async (admin) => {
    const offsets = await topicOffsets(admin, dlqTopic, dlqBrokers, 'dead-letter topic');
    const committed = await committedOffsets(admin, options.group, dlqTopic);
    const foreign = [...committed].find(
      ([, { offset, metadata }]) =>
        offset !== undefined && !canResume(metadata, options.selection, options.to),
    );
    if (foreign) {
      const [partition, { metadata }] = foreign;
      const own = `${options.group}-${createHash('sha256').update(fingerprint).digest('hex').slice(0, 8)}`;
      const held = `consumer group "${options.group}" holds the progress of a replay of ${terminalSafe(describeFingerprint(metadata ?? ''))} (partition ${partition})`;
      if (!options.dryRun) {
        throw new CliFailure(
          `${held}; rerun that replay with the same options, or give this one its own group, e.g. --group ${own}`,
        );
      }
      // A dry run changes nothing, so it need not be refused: it lists what a replay with a
      // group of its own would publish, and says that this group would refuse it.
      io.err(
        `Warning: ${held}, so a replay with these options is refused on it. Listed is what it would publish with its own group, e.g. --group ${own}, which starts at the first offsets.\n`,
      );
      committed.clear();
    }
    if (!options.dryRun) {
      await waitUntilGroupIdle(admin, options.group, settings.sessionTimeoutMs + 5000, (members) =>
        io.err(
          `Consumer group "${options.group}" has ${members} member(s); waiting for them to leave (a killed replay's membership expires after KAFKA_SESSION_TIMEOUT_MS)...\n`,
        ),
      );
    }
    return offsets.map(({ partition, low, high }): PartitionPlan => {
      const resumeAt = committed.get(partition)?.offset;
      return { partition, from: resumeAt !== undefined && resumeAt > low ? resumeAt : low, end: high };
    });
  });

  const result = newReplayResult(
    dlqTopic,
    options,
    plans.map((p) => ({ partition: p.partition, from: p.from.toString(), end: p.end.toString() })),
  );
  const pending = plans.reduce((sum, p) => sum + (p.end > p.from ? p.end - p.from : 0n), 0n);
  io.err(
    `${options.dryRun ? 'Dry run: reading' : 'Replaying'} ${describeSelection(options.selection)} from ${dlqTopic} at ${dlqBrokers.join(',')} (${pending} record(s) to read, group ${options.group}) to ${options.to ?? 'the original topics'} at ${targetBrokers.join(',')}\n`,
  );

  const targets = new TargetTopics(targetKafka, targetBrokers);
  let producer: Producer | undefined;
  let failure: CliFailure | undefined;
  try {
    if (!options.dryRun && pending > 0n) {
      producer = targetKafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await producer.connect();
      } catch (error) {
        throw unreachable(targetBrokers, error);
      }
    }
    const handler = options.dryRun
      ? new DryRun(options, dlqTopic, targets, result, io)
      : new LiveReplay(options, dlqTopic, targets, result, io, producer!, fingerprint, signal);
    const progress = setInterval(
      () =>
        io.err(
          `... ${result.wouldPublish ? `${result.wouldPublish.count} selected` : `${result.published} replayed`}, ${result.skipped} skipped\n`,
        ),
      10_000,
    );
    progress.unref();
    let outcome: ReadOutcome;
    try {
      outcome = await boundedRead({
        kafka: dlqKafka,
        brokers: dlqBrokers,
        topic: dlqTopic,
        groupId: options.dryRun ? undefined : options.group,
        plans,
        sessionTimeoutMs: settings.sessionTimeoutMs,
        signal,
        handle: (record, context) => handler.handle(record, context),
        afterBatch: (partition, context) => handler.afterBatch(partition, context),
      });
    } finally {
      clearInterval(progress);
    }
    failure = handler.failure;
    result.outcome = failure
      ? 'failed'
      : outcome === 'done'
        ? 'limit'
        : outcome === 'end'
          ? 'end'
          : 'stopped';
  } catch (error) {
    failure = error instanceof CliFailure ? error : new CliFailure(errorMessage(error));
    result.outcome = 'failed';
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await targets.close();
  }
  if (!failure && options.dryRun && result.problems > 0) {
    failure = new CliFailure(
      `${result.problems} selected dead letter(s) could not be replayed (see the list)`,
    );
  }
  return failure ? { result, failure } : { result };
}

/** Partition counts of the topics written to, asked once each. */
class TargetTopics {
  private admin: Admin | undefined;
  private readonly counts = new Map<string, Promise<number>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly brokers: string[],
  ) {}

  partitions(topic: string): Promise<number> {
    let count = this.counts.get(topic);
    if (!count) {
      count = this.connected().then((admin) => partitionCount(admin, topic, this.brokers, 'target topic'));
      this.counts.set(topic, count);
    }
    return count;
  }

  private async connected(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (error) {
        throw unreachable(this.brokers, error);
      }
      this.admin = admin;
    }
    return this.admin;
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }
}

interface Routed {
  topic: string;
  partition: number | undefined;
}

abstract class Handler {
  failure: CliFailure | undefined;

  constructor(
    protected readonly options: ReplayOptions,
    protected readonly dlqTopic: string,
    protected readonly targets: TargetTopics,
    protected readonly result: ReplayResult,
    private readonly io: Io,
  ) {}

  abstract handle(record: DlqRecord, context: ReadContext): Promise<Verdict>;

  async afterBatch(_partition: number, _context: ReadContext): Promise<void> {}

  protected selected(info: LetterInfo): boolean {
    return matches(this.options.selection, info);
  }

  /** Target topic and partition, or a CliFailure saying why there is none. */
  protected async route(record: DlqRecord, info: LetterInfo): Promise<Routed | CliFailure> {
    const target = targetOf(info, this.options.to);
    if (!target) {
      return new CliFailure(
        `${replayedFrom(this.dlqTopic, record)} has no original_topic header: replay it with --to TOPIC (and its own --group)`,
      );
    }
    try {
      const count = await this.targets.partitions(target.topic);
      return { topic: target.topic, partition: partitionFor(target, count) };
    } catch (error) {
      return error instanceof CliFailure ? error : new CliFailure(errorMessage(error));
    }
  }

  /**
   * Counts a selected letter that an earlier replay already sent back (it carries
   * replayed_from and failed again); the first one is announced with the ways to leave such
   * letters out or take only them, unless the selection already chose.
   */
  protected noteReplayed(info: LetterInfo, from: string): void {
    if (info.replayedFrom === undefined) return;
    this.result.replayedBefore += 1;
    if (this.result.replayedBefore > 1 || this.options.selection.replayed !== undefined) return;
    this.io.err(
      `Warning: ${terminalSafe(from)} carries replayed_from ${terminalSafe(info.replayedFrom)}: an earlier replay already sent this message back and it failed again. --skip-replayed leaves such dead letters out, --only-replayed takes only them (either resumes this group's progress).\n`,
    );
  }

  /** A letter published, or with --dry-run one that would be. */
  protected counted(topic: string): void {
    const tally = this.result.wouldPublish ?? this.result;
    if (this.result.wouldPublish) this.result.wouldPublish.count += 1;
    else this.result.published += 1;
    tally.byTarget[topic] = (tally.byTarget[topic] ?? 0) + 1;
  }

  protected limitReached(): boolean {
    const count = this.result.wouldPublish?.count ?? this.result.published;
    return this.options.limit !== undefined && count >= this.options.limit;
  }
}

/** Lists what would be published; writes and commits nothing. */
class DryRun extends Handler {
  async handle(record: DlqRecord): Promise<Verdict> {
    const info = letterInfo(record.headers);
    if (!this.selected(info)) {
      this.result.skipped += 1;
      return 'continue';
    }
    const from = replayedFrom(this.dlqTopic, record);
    this.noteReplayed(info, from);
    const routed = await this.route(record, info);
    const planned: PlannedReplay = {
      from,
      errorCode: info.code ?? null,
      errorStage: info.stage ?? null,
      timestamp: info.deadLetteredAt?.toISOString() ?? null,
      target:
        routed instanceof CliFailure ? null : { topic: routed.topic, partition: routed.partition ?? null },
      problem: routed instanceof CliFailure ? routed.message : null,
      key: showBytes(record.key, 60, 32),
      valueBytes: record.value?.length ?? null,
      replayedFrom: info.replayedFrom ?? null,
    };
    this.result.planned!.push(planned);
    if (routed instanceof CliFailure) this.result.problems += 1;
    else this.counted(routed.topic);
    return this.limitReached() ? 'done' : 'continue';
  }
}

/** Publishes, then commits; see `replay` for the guarantee. */
class LiveReplay extends Handler {
  private readonly pacer: Pacer;
  /** Offset after the last letter skipped (not selected) and not yet committed, by partition. */
  private readonly skippedUpTo = new Map<number, bigint>();

  constructor(
    options: ReplayOptions,
    dlqTopic: string,
    targets: TargetTopics,
    result: ReplayResult,
    io: Io,
    private readonly producer: Producer,
    private readonly fingerprint: string,
    private readonly signal: AbortSignal,
  ) {
    super(options, dlqTopic, targets, result, io);
    this.pacer = new Pacer(options.rate);
  }

  async handle(record: DlqRecord, context: ReadContext): Promise<Verdict> {
    const info = letterInfo(record.headers);
    const next = BigInt(record.offset) + 1n;
    if (!this.selected(info)) {
      this.result.skipped += 1;
      this.skippedUpTo.set(record.partition, next);
      return 'continue';
    }
    const routed = await this.route(record, info);
    if (routed instanceof CliFailure) {
      this.failure = routed;
      return 'halt';
    }
    const wait = this.pacer.delay(Date.now());
    if (wait > 0 && !(await pause(wait, context.heartbeat, this.signal))) return 'halt';

    const from = replayedFrom(this.dlqTopic, record);
    this.noteReplayed(info, from);
    const message = replayedMessage(record, this.dlqTopic, new Date(), routed.partition);
    try {
      await this.producer.send({ topic: routed.topic, acks: -1, messages: [message] });
    } catch (error) {
      this.failure = new CliFailure(
        `writing ${from} to ${routed.topic} failed: ${errorMessage(error)}; nothing was committed past it, a rerun resumes there`,
      );
      return 'halt';
    }
    this.counted(routed.topic);
    try {
      await context.commit(record.partition, next, this.fingerprint);
      this.skippedUpTo.delete(record.partition);
    } catch (error) {
      this.failure = new CliFailure(
        `${from} was written to ${routed.topic} but its offset could not be committed (${errorMessage(error)}); a rerun writes it once more`,
      );
      return 'halt';
    }
    return this.limitReached() ? 'done' : 'continue';
  }

  /** Skipped letters are committed per batch: re-reading them after a crash writes nothing. */
  override async afterBatch(partition: number, context: ReadContext): Promise<void> {
    const next = this.skippedUpTo.get(partition);
    if (next === undefined) return;
    this.skippedUpTo.delete(partition);
    await context.commit(partition, next, this.fingerprint).catch(() => undefined);
  }
}

/** The result for a terminal. */
export function renderReplay(result: ReplayResult): string {
  const lines: string[] = [];
  for (const planned of result.planned ?? []) {
    const target = planned.target
      ? `-> ${terminalSafe(planned.target.topic)}${planned.target.partition === null ? '' : `[${planned.target.partition}]`}`
      : `-> cannot replay: ${terminalSafe(planned.problem ?? '')}`;
    lines.push(
      `${terminalSafe(planned.from)}  ${terminalSafe(planned.errorCode ?? '(no code)')} (${terminalSafe(planned.errorStage ?? '?')})  ${planned.timestamp ?? 'no timestamp'}  ${target}  key ${describeShown(planned.key, 40, 16)}  ${planned.valueBytes === null ? 'null value' : `value ${planned.valueBytes} bytes`}${planned.replayedFrom === null ? '' : `  replayed before from ${terminalSafe(planned.replayedFrom)}`}`,
    );
  }
  const tally = result.wouldPublish ?? { count: result.published, byTarget: result.byTarget };
  const verb = result.wouldPublish ? 'Would replay' : 'Replayed';
  const where = Object.entries(tally.byTarget)
    .map(([topic, n]) => `${terminalSafe(topic)} (${n})`)
    .join(', ');
  const ending = {
    end: 'reached the end offsets taken at start',
    limit: 'stopped at --limit',
    stopped: 'stopped by a signal; a rerun resumes',
    failed: 'stopped by a failure',
  }[result.outcome];
  lines.push(
    `${verb} ${tally.count} dead letter(s)${where ? ` to ${where}` : ''}; ${result.skipped} not selected; ${ending}.`,
  );
  if (result.replayedBefore > 0) {
    lines.push(
      `${result.replayedBefore} of them had been replayed before (replayed_from header) and failed again; --skip-replayed leaves such dead letters out, --only-replayed takes only them.`,
    );
  }
  if (result.problems > 0) lines.push(`${result.problems} selected dead letter(s) cannot be replayed.`);
  return `${lines.join('\n')}\n`;
}

/** A replay's result before anything was read: both brokers' replays start from it. */
export function newReplayResult(
  dlqTopic: string,
  options: Pick<ReplayOptions, 'group' | 'dryRun' | 'selection' | 'to'>,
  partitions: ReplayResult['partitions'],
): ReplayResult {
  const result: ReplayResult = {
    dlqTopic,
    group: options.group,
    dryRun: options.dryRun,
    selection: describeSelection(options.selection),
    to: options.to ?? null,
    partitions,
    published: 0,
    byTarget: {},
    replayedBefore: 0,
    skipped: 0,
    problems: 0,
    outcome: 'end',
  };
  if (options.dryRun) {
    result.wouldPublish = { count: 0, byTarget: {} };
    result.planned = [];
  }
  return result;
}
