import { describeShown, showBytes, terminalSafe, type ShownBytes } from './display.js';
import { letterInfo, type DlqRecord, type LetterInfo } from './letter.js';

export type TimeBucket = 'hour' | 'day';
export const TIME_BUCKETS: readonly TimeBucket[] = ['hour', 'day'];

/** Key of a count for letters missing the header counted. */
export const MISSING = '(missing)';

/** Where a partition of the dead-letter topic was read, and how much. */
export interface PartitionRead {
  partition: number;
  /** First offset present when the read started (log start offset). */
  startOffset: string;
  /** End offset captured before reading (exclusive: the offset after the last one); the read stopped there. */
  endOffset: string;
  messages: number;
  /** First and last offset actually read (inclusive); null when nothing was read. */
  firstRead: string | null;
  lastRead: string | null;
}

export interface Sample {
  partition: number;
  offset: string;
  key: ShownBytes;
  value: ShownBytes;
  errorCode: string | null;
  errorStage: string | null;
  errorMessage: string | null;
  timestamp: string | null;
  original: { topic: string | null; partition: number | null; offset: string | null };
}

/** The machine-readable summary (`inspect --json`). */
export interface Summary {
  topic: string;
  total: number;
  partitions: PartitionRead[];
  /** Counts sorted by count, largest first. */
  byCode: Record<string, number>;
  byStage: Record<string, number>;
  byOriginalTopic: Record<string, number>;
  /** Counts per bucket of the `timestamp` header (bucket start, ISO), oldest first. */
  byTime: { bucket: TimeBucket; counts: Record<string, number>; withoutTimestamp: number };
  /** Oldest and newest `timestamp` header seen. */
  oldest: string | null;
  newest: string | null;
  samples: Sample[];
}

interface Candidate {
  record: DlqRecord;
  info: LetterInfo;
}

/**
 * Counts dead letters as they are read, in memory proportional to the number of distinct
 * codes, stages, topics and time buckets (never to the number of letters). Samples: the first
 * letters of each error code, taken round-robin across codes, so a rare code is not hidden
 * behind a frequent one.
 */
export class SummaryBuilder {
  private total = 0;
  private readonly byCode = new Map<string, number>();
  private readonly byStage = new Map<string, number>();
  private readonly byTopic = new Map<string, number>();
  private readonly byTime = new Map<number, number>();
  private withoutTimestamp = 0;
  private oldest: number | undefined;
  private newest: number | undefined;
  private readonly candidates = new Map<string, Candidate[]>();

  constructor(
    private readonly options: { samples: number; bucket: TimeBucket; maxSampleCodes?: number } = {
      samples: 5,
      bucket: 'hour',
    },
  ) {}

  add(record: DlqRecord): void {
    const info = letterInfo(record.headers);
    this.total += 1;
    increment(this.byCode, info.code ?? MISSING);
    increment(this.byStage, info.stage ?? MISSING);
    increment(this.byTopic, info.originalTopic ?? MISSING);
    const at = info.deadLetteredAt?.getTime();
    if (at === undefined) {
      this.withoutTimestamp += 1;
    } else {
      increment(this.byTime, bucketStart(at, this.options.bucket));
      this.oldest = this.oldest === undefined ? at : Math.min(this.oldest, at);
      this.newest = this.newest === undefined ? at : Math.max(this.newest, at);
    }
    this.keepCandidate(record, info);
  }

  private keepCandidate(record: DlqRecord, info: LetterInfo): void {
    const max = this.options.samples;
    if (max === 0) return;
    const code = info.code ?? MISSING;
    let list = this.candidates.get(code);
    if (!list) {
      if (this.candidates.size >= (this.options.maxSampleCodes ?? 50)) return;
      this.candidates.set(code, (list = []));
    }
    // Letters arrive partition by partition in no fixed order: keep the lowest positions.
    list.push({ record, info });
    list.sort((a, b) => comparePosition(a.record, b.record));
    if (list.length > max) list.pop();
  }

  result(topic: string, partitions: PartitionRead[]): Summary {
    return {
      topic,
      total: this.total,
      partitions: [...partitions].sort((a, b) => a.partition - b.partition),
      byCode: byCount(this.byCode),
      byStage: byCount(this.byStage),
      byOriginalTopic: byCount(this.byTopic),
      byTime: {
        bucket: this.options.bucket,
        counts: Object.fromEntries(
          [...this.byTime].sort(([a], [b]) => a - b).map(([start, n]) => [new Date(start).toISOString(), n]),
        ),
        withoutTimestamp: this.withoutTimestamp,
      },
      oldest: this.oldest === undefined ? null : new Date(this.oldest).toISOString(),
      newest: this.newest === undefined ? null : new Date(this.newest).toISOString(),
      samples: this.pickSamples().map(({ record, info }) => sampleOf(record, info)),
    };
  }

  private pickSamples(): Candidate[] {
    const codes = [...this.candidates.keys()].sort();
    const picked: Candidate[] = [];
    for (let round = 0; picked.length < this.options.samples; round++) {
      const before = picked.length;
      for (const code of codes) {
        const candidate = this.candidates.get(code)?.[round];
        if (candidate && picked.length < this.options.samples) picked.push(candidate);
      }
      if (picked.length === before) break;
    }
    return picked.sort((a, b) => comparePosition(a.record, b.record));
  }
}

function increment<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function byCount(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)));
}

/** Start of the UTC hour or day holding `ms`. */
export function bucketStart(ms: number, bucket: TimeBucket): number {
  const size = bucket === 'hour' ? 3_600_000 : 86_400_000;
  return Math.floor(ms / size) * size;
}

function comparePosition(a: DlqRecord, b: DlqRecord): number {
  if (a.partition !== b.partition) return a.partition - b.partition;
  const x = BigInt(a.offset);
  const y = BigInt(b.offset);
  return x < y ? -1 : x > y ? 1 : 0;
}

function sampleOf(record: DlqRecord, info: LetterInfo): Sample {
  return {
    partition: record.partition,
    offset: record.offset,
    key: showBytes(record.key),
    value: showBytes(record.value),
    errorCode: info.code ?? null,
    errorStage: info.stage ?? null,
    errorMessage: info.errorMessage ?? null,
    timestamp: info.deadLetteredAt?.toISOString() ?? null,
    original: {
      topic: info.originalTopic ?? null,
      partition: info.originalPartition ?? null,
      offset: info.originalOffset ?? null,
    },
  };
}

/** The summary for a terminal; every value from the topic is escaped. */
export function renderSummary(summary: Summary): string {
  const lines: string[] = [];
  const safe = terminalSafe;
  lines.push(
    `Dead-letter topic ${safe(summary.topic)}: ${summary.total} dead letter${summary.total === 1 ? '' : 's'}`,
  );
  for (const p of summary.partitions) {
    // The offsets read, both inclusive: "0 to 1" beside "0 to 0" would read as one more.
    lines.push(
      p.firstRead === null || p.lastRead === null
        ? `  partition ${p.partition}: 0 read`
        : `  partition ${p.partition}: ${p.messages} read, offsets ${p.firstRead} to ${p.lastRead} (inclusive)`,
    );
  }
  if (summary.total === 0) return `${lines.join('\n')}\n`;
  if (summary.oldest && summary.newest)
    lines.push(`  dead-lettered from ${summary.oldest} to ${summary.newest}`);
  section(lines, 'By error code', summary.byCode);
  section(lines, 'By stage', summary.byStage);
  section(lines, 'By original topic', summary.byOriginalTopic);
  const timeCounts = Object.fromEntries(
    Object.entries(summary.byTime.counts).map(([start, n]) => [timeLabel(start, summary.byTime.bucket), n]),
  );
  if (summary.byTime.withoutTimestamp > 0)
    timeCounts['(no valid timestamp header)'] = summary.byTime.withoutTimestamp;
  section(lines, `By ${summary.byTime.bucket} (timestamp header, UTC)`, timeCounts);
  if (summary.samples.length > 0) {
    lines.push('', `Samples (${summary.samples.length}):`);
    for (const sample of summary.samples) {
      const original = sample.original;
      const from = `${safe(original.topic ?? '?')}[${original.partition ?? '?'}]@${original.offset ?? '?'}`;
      lines.push(
        `  ${safe(summary.topic)}[${sample.partition}]@${sample.offset}  from ${from}  ${safe(sample.errorCode ?? MISSING)} (${safe(sample.errorStage ?? MISSING)})  ${sample.timestamp ?? 'no timestamp'}`,
        `    error: ${safe(sample.errorMessage ?? MISSING)}`,
        `    key:   ${describeShown(sample.key)}`,
        `    value: ${describeShown(sample.value)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function section(lines: string[], title: string, counts: Record<string, number>): void {
  lines.push('', `${title}:`);
  const entries = Object.entries(counts);
  const width = Math.max(...entries.map(([name]) => terminalSafe(name).length), 1);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  for (const [name, n] of entries) {
    const share = total === 0 ? 0 : (100 * n) / total;
    lines.push(
      `  ${terminalSafe(name).padEnd(width)}  ${String(n).padStart(7)}  ${share.toFixed(1).padStart(5)} %`,
    );
  }
}

function timeLabel(iso: string, bucket: TimeBucket): string {
  // 2026-01-10T09:00:00.000Z → "2026-01-10 09:00" (hour) or "2026-01-10" (day)
  return bucket === 'hour' ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}
