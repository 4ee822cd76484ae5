import { expect } from 'chai';
import { eventFactory, type EventKind } from '../../loadtest/events.js';
import { seededRandom } from '../../loadtest/random.js';
import { FAIL_FIELD } from '../../loadtest/template.js';

describe('loadtest event factory', () => {
  it('makes the configured shares of malformed and failing events, the rest valid', () => {
    const make = eventFactory({
      keys: { kind: 'uniform', n: 5 },
      malformed: 0.1,
      failing: 0.2,
      failAttempts: 2,
      random: seededRandom(4),
    });
    const kinds: Record<EventKind, number> = { ok: 0, malformed: 0, failing: 0 };
    for (let seq = 0; seq < 10_000; seq++) {
      const event = make(seq);
      kinds[event.kind]++;
      expect(event.key).to.match(/^key-[1-5]$/);
      if (event.kind === 'malformed') {
        expect(() => JSON.parse(event.value)).to.throw(SyntaxError);
        continue;
      }
      const parsed = JSON.parse(event.value) as Record<string, unknown>;
      expect(parsed.seq).to.equal(seq);
      if (event.kind === 'failing') expect(parsed[FAIL_FIELD]).to.equal(2);
      else expect(parsed).not.to.have.property(FAIL_FIELD);
    }
    expect(kinds.malformed).to.be.within(900, 1100);
    expect(kinds.failing).to.be.within(1800, 2200);
  });

  it('pads every kind to the size, failing ones included', () => {
    const make = eventFactory({
      size: 300,
      keys: { kind: 'none' },
      malformed: 0.3,
      failing: 0.3,
      failAttempts: 1,
      random: seededRandom(8),
    });
    for (let seq = 0; seq < 200; seq++) {
      const event = make(seq);
      expect(Buffer.byteLength(event.value)).to.be.within(299, 300);
      expect(event.key).to.equal(null);
    }
  });

  it('refuses failing events for a template that is no object, at start', () => {
    expect(() =>
      eventFactory({
        template: '[{{seq}}]',
        keys: { kind: 'none' },
        malformed: 0,
        failing: 0.1,
        failAttempts: 1,
        random: Math.random,
      }),
    ).to.throw(/not a JSON object/);
  });
});
