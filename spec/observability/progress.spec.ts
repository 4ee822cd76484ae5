import { expect } from 'chai';
import { progressOf, type ProgressInput } from '../../lib/observability/progress.js';

const stuckMessage = { topic: 'events', partition: 3, offset: '9007199254740993', handedOffAt: 1_000 };

/** A service at t = 400 s that holds messages and settled one a moment ago. */
function input(overrides: Partial<ProgressInput>): ProgressInput {
  return {
    now: 400_000,
    held: 12,
    lastSettleAt: 399_990,
    oldest: undefined,
    stuckAfterMs: 120_000,
    stuckMessageMs: 300_000,
    ...overrides,
  };
}

describe('progressOf', () => {
  it('is ok while messages settle and none is older than STUCK_MESSAGE_MS', () => {
    expect(progressOf(input({ oldest: { ...stuckMessage, handedOffAt: 100_000 } }))).to.deep.equal({
      ok: true,
    });
  });

  it('is ok when idle: nothing held, nothing settling', () => {
    expect(progressOf(input({ held: 0, lastSettleAt: 0 }))).to.deep.equal({ ok: true });
  });

  it('names one message unsettled longer than STUCK_MESSAGE_MS while the others settle', () => {
    expect(progressOf(input({ oldest: stuckMessage }))).to.deep.equal({
      ok: false,
      reason:
        'events/3 offset 9007199254740993 unsettled for 399 s while others settle (stuck after 300000 ms)',
    });
  });

  it('counts only what is longer than STUCK_MESSAGE_MS', () => {
    const justBelow = { ...stuckMessage, handedOffAt: 100_000 };
    expect(progressOf(input({ oldest: justBelow })).ok).to.equal(true);
    const justAbove = { ...stuckMessage, handedOffAt: 99_999 };
    expect(progressOf(input({ oldest: justAbove })).ok).to.equal(false);
  });

  it('reports no settle at all first, naming the oldest message', () => {
    expect(progressOf(input({ lastSettleAt: 200_000, oldest: stuckMessage }))).to.deep.equal({
      ok: false,
      reason:
        'no message settled for 120000 ms; the oldest, events/3 offset 9007199254740993 unsettled for 399 s',
    });
  });

  it('reports no settle at all even before any message is old enough to be stuck alone', () => {
    const recent = { ...stuckMessage, handedOffAt: 250_000 };
    expect(progressOf(input({ lastSettleAt: 250_000, oldest: recent }))).to.deep.equal({
      ok: false,
      reason:
        'no message settled for 120000 ms; the oldest, events/3 offset 9007199254740993 unsettled for 150 s',
    });
  });
});
