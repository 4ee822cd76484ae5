import { expect } from 'chai';
import { isNatsSubject } from '../../lib/config/schema.js';
import { streamNameFor, subjectMatches } from '../../lib/nats/subjects.js';

describe('NATS subjects', () => {
  it('matches a filter token by token, "*" for one token and a final ">" for one or more', () => {
    expect(subjectMatches('orders.*', 'orders.eu')).to.equal(true);
    expect(subjectMatches('orders.*', 'orders.eu.x')).to.equal(false);
    expect(subjectMatches('orders.>', 'orders.eu.x')).to.equal(true);
    expect(subjectMatches('orders.>', 'orders')).to.equal(false);
    expect(subjectMatches('orders', 'orders')).to.equal(true);
    expect(subjectMatches('orders', 'orders.eu')).to.equal(false);
    expect(subjectMatches('*.dlq', 'orders.dlq')).to.equal(true);
    expect(subjectMatches('*.dlq', 'orders.out')).to.equal(false);
  });

  it('accepts wildcards only in filters, and ">" only as the last token', () => {
    expect(isNatsSubject('orders.eu')).to.equal(true);
    expect(isNatsSubject('orders.*')).to.equal(false);
    expect(isNatsSubject('orders.*', true)).to.equal(true);
    expect(isNatsSubject('orders.>', true)).to.equal(true);
    expect(isNatsSubject('>.orders', true)).to.equal(false);
  });

  it('refuses empty tokens and whitespace', () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a\tb', 'a*b.c'])
      expect(isNatsSubject(bad, true), JSON.stringify(bad)).to.equal(false);
  });

  it('names a created stream after its subject without the characters stream names refuse', () => {
    expect(streamNameFor('orders.dlq')).to.equal('orders_dlq');
    expect(streamNameFor('orders-valid')).to.equal('orders-valid');
  });
});
