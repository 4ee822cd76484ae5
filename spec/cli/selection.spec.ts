import { expect } from 'chai';
import type { LetterInfo } from '../../lib/cli/letter.js';
import {
  canResume,
  describeFingerprint,
  describeSelection,
  matches,
  SELECT_ALL,
  selectionFingerprint,
  type Selection,
} from '../../lib/cli/selection.js';

const letter: LetterInfo = {
  code: 'INVALID_JSON',
  stage: 'decode',
  originalTopic: 'orders',
  originalPartition: 3,
  originalOffset: '18446',
  errorMessage: 'value is not JSON',
  deadLetteredAt: new Date('2026-11-26T17:45:54.269Z'),
};

const select = (criteria: Partial<Selection>): Selection => ({ ...SELECT_ALL, ...criteria });

describe('matches', () => {
  it('leaves out, or takes only, letters an earlier replay sent back (replayed_from)', () => {
    const again: LetterInfo = { ...letter, replayedFrom: 'dlq/0/7' };
    expect(matches(SELECT_ALL, again)).to.equal(true);
    expect(matches(select({ replayed: 'skip' }), again)).to.equal(false);
    expect(matches(select({ replayed: 'skip' }), letter)).to.equal(true);
    expect(matches(select({ replayed: 'only' }), again)).to.equal(true);
    expect(matches(select({ replayed: 'only' }), letter)).to.equal(false);
  });

  it('takes everything, even a letter without headers, when nothing is selected', () => {
    expect(matches(SELECT_ALL, letter)).to.equal(true);
    expect(matches(SELECT_ALL, {})).to.equal(true);
  });

  it('holds a list criterion when the header is one of its entries', () => {
    expect(matches(select({ codes: ['EMPTY_VALUE', 'INVALID_JSON'] }), letter)).to.equal(true);
    expect(matches(select({ codes: ['EMPTY_VALUE'] }), letter)).to.equal(false);
    expect(matches(select({ stages: ['decode'] }), letter)).to.equal(true);
    expect(matches(select({ stages: ['process'] }), letter)).to.equal(false);
    expect(matches(select({ originalTopics: ['orders'] }), letter)).to.equal(true);
    expect(matches(select({ originalTopics: ['payments'] }), letter)).to.equal(false);
  });

  it('needs every criterion given to hold', () => {
    expect(matches(select({ codes: ['INVALID_JSON'], stages: ['decode'], partition: 3 }), letter)).to.equal(
      true,
    );
    expect(matches(select({ codes: ['INVALID_JSON'], stages: ['validate'] }), letter)).to.equal(false);
    expect(matches(select({ codes: ['INVALID_JSON'], partition: 2 }), letter)).to.equal(false);
  });

  it('takes since as inclusive and until as exclusive, to the millisecond', () => {
    const at = letter.deadLetteredAt!.getTime();
    expect(matches(select({ since: new Date(at) }), letter)).to.equal(true);
    expect(matches(select({ since: new Date(at + 1) }), letter)).to.equal(false);
    expect(matches(select({ until: new Date(at + 1) }), letter)).to.equal(true);
    expect(matches(select({ until: new Date(at) }), letter)).to.equal(false);
    expect(matches(select({ since: new Date(at - 1), until: new Date(at + 1) }), letter)).to.equal(true);
  });

  it('takes the offset range as inclusive at both ends, beyond 2^53', () => {
    expect(matches(select({ fromOffset: 18446n, toOffset: 18446n }), letter)).to.equal(true);
    expect(matches(select({ fromOffset: 18447n }), letter)).to.equal(false);
    expect(matches(select({ toOffset: 18445n }), letter)).to.equal(false);
    const far = { ...letter, originalOffset: '9007199254740993' };
    expect(matches(select({ fromOffset: 9007199254740993n }), far)).to.equal(true);
    // As a double, 9007199254740993 would round to ...992 and pass this bound.
    expect(matches(select({ toOffset: 9007199254740992n }), far)).to.equal(false);
  });

  it('never matches a criterion on a header the letter lacks', () => {
    const bare: LetterInfo = {};
    expect(matches(select({ codes: ['INVALID_JSON'] }), bare)).to.equal(false);
    expect(matches(select({ stages: ['decode'] }), bare)).to.equal(false);
    expect(matches(select({ originalTopics: ['orders'] }), bare)).to.equal(false);
    expect(matches(select({ since: new Date(0) }), bare)).to.equal(false);
    expect(matches(select({ until: new Date('2100-01-01T00:00:00Z') }), bare)).to.equal(false);
    expect(matches(select({ partition: 0 }), bare)).to.equal(false);
    expect(matches(select({ fromOffset: 0n }), bare)).to.equal(false);
  });
});

describe('describeSelection', () => {
  it('says what is selected in one line', () => {
    expect(describeSelection(SELECT_ALL)).to.equal('every dead letter');
    expect(
      describeSelection(
        select({
          codes: ['INVALID_JSON', 'EMPTY_VALUE'],
          stages: ['decode'],
          since: new Date('2026-01-10T09:00:00Z'),
          partition: 2,
          fromOffset: 5n,
        }),
      ),
    ).to.equal(
      'code INVALID_JSON|EMPTY_VALUE, stage decode, since 2026-01-10T09:00:00.000Z, original partition 2, original offset >= 5',
    );
  });
});

describe('selectionFingerprint and canResume', () => {
  const base = select({ codes: ['INVALID_JSON', 'EMPTY_VALUE'], since: new Date('2026-01-10T09:00:00Z') });

  it('is the same for the same selection written differently', () => {
    const reordered = select({
      codes: ['EMPTY_VALUE', 'INVALID_JSON', 'EMPTY_VALUE'],
      since: new Date('2026-01-10T10:00:00+01:00'),
    });
    expect(selectionFingerprint(reordered, 'retry')).to.equal(selectionFingerprint(base, 'retry'));
  });

  it('differs when the selection or the target differs', () => {
    const fingerprints = new Set([
      selectionFingerprint(base, undefined),
      selectionFingerprint(base, 'retry'),
      selectionFingerprint({ ...base, codes: ['INVALID_JSON'] }, undefined),
      selectionFingerprint({ ...base, until: new Date('2026-01-11T00:00:00Z') }, undefined),
      selectionFingerprint({ ...base, partition: 0 }, undefined),
      selectionFingerprint({ ...base, fromOffset: 0n }, undefined),
      selectionFingerprint({ ...base, toOffset: 0n }, undefined),
      selectionFingerprint({ ...base, stages: ['decode'] }, undefined),
      selectionFingerprint({ ...base, originalTopics: ['orders'] }, undefined),
      selectionFingerprint(SELECT_ALL, undefined),
      selectionFingerprint({ ...base, replayed: 'skip' }, undefined),
      selectionFingerprint({ ...base, replayed: 'only' }, undefined),
    ]);
    expect(fingerprints.size).to.equal(12);
  });

  it('stays within the broker limit on offset metadata (4096 by default)', () => {
    const huge = select({
      originalTopics: Array.from({ length: 100 }, (_, i) => `topic-${'x'.repeat(40)}-${i}`),
    });
    const fingerprint = selectionFingerprint(huge, undefined);
    expect(fingerprint.length).to.be.below(200);
    expect(fingerprint).to.match(/sha256:[0-9a-f]{64}$/);
    expect(selectionFingerprint(base, undefined).length).to.be.below(3000);
  });

  it('resumes only the same selection, or offsets set by something else', () => {
    const mine = selectionFingerprint(base, undefined);
    expect(canResume(mine, base, undefined)).to.equal(true);
    expect(canResume(mine, base, 'retry')).to.equal(false);
    expect(canResume(selectionFingerprint(SELECT_ALL, undefined), base, undefined)).to.equal(false);
    expect(canResume(null, base, undefined)).to.equal(true);
    expect(canResume('', base, undefined)).to.equal(true);
    expect(canResume('reset by kafka-consumer-groups', base, undefined)).to.equal(true);
  });

  it('resumes a selection narrowed by --skip-replayed or --only-replayed, never widened again', () => {
    const wide = selectionFingerprint(base, 'retry');
    expect(canResume(wide, { ...base, replayed: 'skip' }, 'retry')).to.equal(true);
    expect(canResume(wide, { ...base, replayed: 'only' }, 'retry')).to.equal(true);
    expect(canResume(wide, { ...base, replayed: 'skip' }, undefined)).to.equal(false);
    const narrow = selectionFingerprint({ ...base, replayed: 'skip' }, 'retry');
    expect(canResume(narrow, base, 'retry')).to.equal(false);
    expect(canResume(narrow, { ...base, replayed: 'only' }, 'retry')).to.equal(false);
  });

  it('keeps the fingerprint of a selection without the replayed filter as it was', () => {
    // Groups committed before --skip-replayed existed must still resume.
    expect(selectionFingerprint(SELECT_ALL, undefined)).to.equal(
      'myeventstream-dlq-replay/v1 {"to":null,"codes":[],"stages":[],"originalTopics":[],"since":null,"until":null,"partition":null,"fromOffset":null,"toOffset":null}',
    );
  });

  it('describes the selection behind a fingerprint in words, never as the stored form', () => {
    expect(describeFingerprint(selectionFingerprint({ ...base, replayed: 'skip' }, 'retry'))).to.equal(
      'code EMPTY_VALUE|INVALID_JSON, since 2026-01-10T09:00:00.000Z, not replayed before to retry',
    );
    expect(describeFingerprint(selectionFingerprint(SELECT_ALL, undefined))).to.equal(
      'every dead letter to the original topics',
    );
    const huge = select({
      originalTopics: Array.from({ length: 100 }, (_, i) => `t-${'x'.repeat(40)}-${i}`),
    });
    expect(describeFingerprint(selectionFingerprint(huge, undefined))).to.equal(
      'a selection too long to show',
    );
  });
});
