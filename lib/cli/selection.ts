import { createHash } from 'node:crypto';
import type { LetterInfo } from './letter.js';

/**
 * Which dead letters a replay takes. Every given criterion must hold; a list criterion holds
 * when the header equals one of its entries. A letter missing a header a criterion looks at
 * never matches that criterion.
 */
export interface Selection {
  codes: string[];
  stages: string[];
  originalTopics: string[];
  /** `timestamp` header at or after. */
  since?: Date;
  /** `timestamp` header strictly before. */
  until?: Date;
  /** `original_partition` header. */
  partition?: number;
  /** `original_offset` header at least (inclusive). */
  fromOffset?: bigint;
  /** `original_offset` header at most (inclusive). */
  toOffset?: bigint;
  /**
   * Letters carrying `replayed_from` (messages an earlier replay sent back that failed again):
   * `skip` leaves them out, `only` takes nothing else; absent takes both.
   */
  replayed?: 'skip' | 'only';
}

export const SELECT_ALL: Selection = { codes: [], stages: [], originalTopics: [] };

export function matches(selection: Selection, info: LetterInfo): boolean {
  if (!listHolds(selection.codes, info.code)) return false;
  if (!listHolds(selection.stages, info.stage)) return false;
  if (!listHolds(selection.originalTopics, info.originalTopic)) return false;
  if (selection.since !== undefined || selection.until !== undefined) {
    const at = info.deadLetteredAt?.getTime();
    if (at === undefined) return false;
    if (selection.since !== undefined && at < selection.since.getTime()) return false;
    if (selection.until !== undefined && at >= selection.until.getTime()) return false;
  }
  if (selection.partition !== undefined && info.originalPartition !== selection.partition) return false;
  if (selection.fromOffset !== undefined || selection.toOffset !== undefined) {
    if (info.originalOffset === undefined) return false;
    const offset = BigInt(info.originalOffset);
    if (selection.fromOffset !== undefined && offset < selection.fromOffset) return false;
    if (selection.toOffset !== undefined && offset > selection.toOffset) return false;
  }
  if (selection.replayed === 'skip' && info.replayedFrom !== undefined) return false;
  if (selection.replayed === 'only' && info.replayedFrom === undefined) return false;
  return true;
}

function listHolds(list: string[], value: string | undefined): boolean {
  return list.length === 0 || (value !== undefined && list.includes(value));
}

/** One line for people, e.g. `code INVALID_JSON|EMPTY_VALUE, since 2026-01-10T09:00:00.000Z`. */
export function describeSelection(selection: Selection): string {
  const parts: string[] = [];
  if (selection.codes.length > 0) parts.push(`code ${selection.codes.join('|')}`);
  if (selection.stages.length > 0) parts.push(`stage ${selection.stages.join('|')}`);
  if (selection.originalTopics.length > 0) parts.push(`original topic ${selection.originalTopics.join('|')}`);
  if (selection.since) parts.push(`since ${selection.since.toISOString()}`);
  if (selection.until) parts.push(`until ${selection.until.toISOString()}`);
  if (selection.partition !== undefined) parts.push(`original partition ${selection.partition}`);
  if (selection.fromOffset !== undefined) parts.push(`original offset >= ${selection.fromOffset}`);
  if (selection.toOffset !== undefined) parts.push(`original offset <= ${selection.toOffset}`);
  if (selection.replayed === 'skip') parts.push('not replayed before');
  if (selection.replayed === 'only') parts.push('replayed before');
  return parts.length > 0 ? parts.join(', ') : 'every dead letter';
}

const FINGERPRINT_PREFIX = 'myeventstream-dlq-replay/v1 ';
/** The broker's offset.metadata.max.bytes defaults to 4096. */
const MAX_METADATA = 3000;

/**
 * What a replay group's committed offsets mean: the selection and the target, in a canonical
 * form stored as the commit metadata. A later run resumes from those offsets only when it
 * selects the same letters for the same target; otherwise the letters the earlier run skipped
 * (committed past as "not selected") would silently never be replayed.
 */
export function selectionFingerprint(selection: Selection, to: string | undefined): string {
  const canonical = JSON.stringify(canonicalForm(selection, to));
  if (FINGERPRINT_PREFIX.length + canonical.length <= MAX_METADATA) return FINGERPRINT_PREFIX + canonical;
  return `${FINGERPRINT_PREFIX}sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

interface CanonicalSelection {
  to: string | null;
  codes: string[];
  stages: string[];
  originalTopics: string[];
  since: string | null;
  until: string | null;
  partition: number | null;
  fromOffset: string | null;
  toOffset: string | null;
  /** Only present when set, so groups of runs made before it existed still resume. */
  replayed?: 'skip' | 'only';
}

function canonicalForm(selection: Selection, to: string | undefined): CanonicalSelection {
  const sorted = (list: string[]) => [...new Set(list)].sort();
  const canonical: CanonicalSelection = {
    to: to ?? null,
    codes: sorted(selection.codes),
    stages: sorted(selection.stages),
    originalTopics: sorted(selection.originalTopics),
    since: selection.since?.toISOString() ?? null,
    until: selection.until?.toISOString() ?? null,
    partition: selection.partition ?? null,
    fromOffset: selection.fromOffset?.toString() ?? null,
    toOffset: selection.toOffset?.toString() ?? null,
  };
  if (selection.replayed !== undefined) canonical.replayed = selection.replayed;
  return canonical;
}

/**
 * Whether committed offsets carrying `metadata` may be resumed from by a run of `selection`
 * and `to`. Offsets committed by anything else (no metadata, e.g. an operator's
 * `kafka-consumer-groups --reset-offsets`) are taken as a deliberate starting point.
 *
 * Adding --skip-replayed or --only-replayed to the selection of the run that committed them
 * resumes too: it selects part of what that run selected, so everything committed past was
 * either replayed by it or is not wanted now.
 */
export function canResume(
  metadata: string | null | undefined,
  selection: Selection,
  to: string | undefined,
): boolean {
  if (!metadata || !metadata.startsWith(FINGERPRINT_PREFIX)) return true;
  if (metadata === selectionFingerprint(selection, to)) return true;
  if (selection.replayed === undefined) return false;
  const { replayed: _narrowing, ...wider } = selection;
  return metadata === selectionFingerprint(wider, to);
}

/**
 * The selection and target a replay group's commit metadata stands for, for people: e.g.
 * `code INVALID_JSON, to orders-retry`. Never the raw metadata, which is an internal form.
 */
export function describeFingerprint(metadata: string): string {
  const body = metadata.startsWith(FINGERPRINT_PREFIX) ? metadata.slice(FINGERPRINT_PREFIX.length) : metadata;
  if (body.startsWith('sha256:')) return 'a selection too long to show';
  let canonical: CanonicalSelection;
  try {
    canonical = JSON.parse(body) as CanonicalSelection;
  } catch {
    return 'a selection this version cannot read';
  }
  const selection: Selection = {
    codes: canonical.codes ?? [],
    stages: canonical.stages ?? [],
    originalTopics: canonical.originalTopics ?? [],
  };
  if (canonical.since) selection.since = new Date(canonical.since);
  if (canonical.until) selection.until = new Date(canonical.until);
  if (canonical.partition !== null && canonical.partition !== undefined)
    selection.partition = canonical.partition;
  if (canonical.fromOffset) selection.fromOffset = BigInt(canonical.fromOffset);
  if (canonical.toOffset) selection.toOffset = BigInt(canonical.toOffset);
  if (canonical.replayed) selection.replayed = canonical.replayed;
  return `${describeSelection(selection)} to ${canonical.to ?? 'the original topics'}`;
}
