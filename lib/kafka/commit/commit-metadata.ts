import { compareOffsets } from './offsets.js';

/**
 * The commit metadata that lets a restart skip what already finished above the commit point.
 * A committed offset says only "everything below is finished"; one slow message holds it back
 * while thousands after it finish, and a crash would redo them all. So each commit also names
 * the offsets above it that were NOT finished: everything else up to the highest offset handed
 * off is. (The same idea as Confluent's Parallel Consumer.) Format: `mes1:<highest>:<pending>`,
 * both as distances from the committed offset, the pending ones comma-separated.
 */
const PREFIX = 'mes1:';

/** Brokers accept 4096 bytes of metadata by default (offset.metadata.max.bytes). */
export const MAX_METADATA_LENGTH = 3000;

/**
 * Metadata for a commit at `commitPoint` (itself unfinished, or one past the highest), given the
 * highest offset handed off and the unfinished offsets in ascending order. Undefined when
 * nothing above the commit point finished. Too many unfinished offsets to fit are cut off with
 * the range they cover: the metadata then claims less, never more.
 */
export function encodeFinishedAbove(
  commitPoint: string,
  highest: string,
  unfinished: Iterable<string>,
  maxLength = MAX_METADATA_LENGTH,
): string | undefined {
  if (compareOffsets(highest, commitPoint) <= 0) return undefined;
  const base = BigInt(commitPoint);
  let top = Number(BigInt(highest) - base);
  const pending: number[] = [];
  let length = PREFIX.length + String(top).length + 1;
  for (const offset of unfinished) {
    const distance = Number(BigInt(offset) - base);
    if (distance <= 0) continue;
    const added = String(distance).length + 1;
    if (length + added > maxLength) {
      top = distance - 1;
      break;
    }
    pending.push(distance);
    length += added;
  }
  if (top <= 0) return undefined;
  return `${PREFIX}${top}:${pending.join(',')}`;
}

/** Offsets above a committed offset that finished before that commit. */
export interface FinishedAbove {
  /** Highest offset the metadata speaks of. */
  upTo: string;
  /** Offsets up to `upTo` that had not finished: they are processed again. */
  unfinished: ReadonlySet<string>;
}

/** Reads metadata written by encodeFinishedAbove; anything else (another client's) means none. */
export function decodeFinishedAbove(
  committed: string,
  metadata: string | null | undefined,
): FinishedAbove | undefined {
  if (!metadata?.startsWith(PREFIX)) return undefined;
  const match = /^(\d+):((?:\d+(?:,\d+)*)?)$/.exec(metadata.slice(PREFIX.length));
  if (!match) return undefined;
  const base = BigInt(committed);
  const top = BigInt(match[1]!);
  if (top <= 0n) return undefined;
  const unfinished = new Set(match[2] ? match[2].split(',').map((d) => (base + BigInt(d)).toString()) : []);
  return { upTo: (base + top).toString(), unfinished };
}
