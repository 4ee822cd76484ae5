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
  const sorted = (list: string[]) => [...new Set(list)].sort();
  const canonical = JSON.stringify({
    to: to ?? null,
    codes: sorted(selection.codes),
    stages: sorted(selection.stages),
    originalTopics: sorted(selection.originalTopics),
    since: selection.since?.toISOString() ?? null,
    until: selection.until?.toISOString() ?? null,
    partition: selection.partition ?? null,
    fromOffset: selection.fromOffset?.toString() ?? null,
    toOffset: selection.toOffset?.toString() ?? null,
  });
  if (FINGERPRINT_PREFIX.length + canonical.length <= MAX_METADATA) return FINGERPRINT_PREFIX + canonical;
  return `${FINGERPRINT_PREFIX}sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * Whether committed offsets carrying `metadata` may be resumed from by a run with
 * `fingerprint`. Offsets committed by anything else (no metadata, e.g. an operator's
 * `kafka-consumer-groups --reset-offsets`) are taken as a deliberate starting point.
 */
export function canResume(metadata: string | null | undefined, fingerprint: string): boolean {
  if (!metadata || !metadata.startsWith(FINGERPRINT_PREFIX)) return true;
  return metadata === fingerprint;
}
