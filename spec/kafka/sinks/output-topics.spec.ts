import { expect } from 'chai';
import {
  OutputTopics,
  type MissingTopicOutcome,
  type TopicLookup,
} from '../../../lib/kafka/sinks/output-topics.js';

/** A lookup over a set of topics, counting its looks. */
function lookupOver(topics: string[], options: { create?: boolean; failLooks?: number } = {}) {
  const existing = new Set(topics);
  const calls = { looks: 0, creates: [] as string[] };
  let failLooks = options.failLooks ?? 0;
  const lookup: TopicLookup = {
    exists: async (topic) => {
      calls.looks += 1;
      if (failLooks > 0) {
        failLooks -= 1;
        throw new Error('broker unreachable');
      }
      return existing.has(topic);
    },
    create: options.create
      ? async (topic) => {
          calls.creates.push(topic);
          existing.add(topic);
        }
      : undefined,
  };
  return { lookup, calls };
}

describe('OutputTopics', () => {
  it('reports a missing topic once, however many writes go to it', async () => {
    const { lookup, calls } = lookupOver(['out']);
    const reports: Array<[string, MissingTopicOutcome]> = [];
    const topics = new OutputTopics(lookup, (topic, outcome) => reports.push([topic, outcome]));

    await Promise.all([topics.checked('nowhere'), topics.checked('nowhere'), topics.checked('out')]);
    expect(topics.checked('nowhere'), 'checked already').to.equal(undefined);
    expect(topics.checked('out')).to.equal(undefined);

    expect(reports).to.deep.equal([['nowhere', { created: false }]]);
    expect(topics.isMissing('nowhere')).to.equal(true);
    expect(topics.isMissing('out')).to.equal(false);
    expect(calls.looks).to.equal(2);
  });

  it('creates a missing topic when the lookup can, and reports that it did', async () => {
    const { lookup, calls } = lookupOver([], { create: true });
    const reports: Array<[string, MissingTopicOutcome]> = [];
    const topics = new OutputTopics(lookup, (topic, outcome) => reports.push([topic, outcome]));

    await topics.checked('new-topic');

    expect(calls.creates).to.deep.equal(['new-topic']);
    expect(reports).to.deep.equal([['new-topic', { created: true }]]);
    expect(topics.isMissing('new-topic')).to.equal(false);
  });

  it('looks again at the next write when a look failed', async () => {
    const { lookup, calls } = lookupOver([], { failLooks: 1 });
    const reports: string[] = [];
    const topics = new OutputTopics(lookup, (topic) => reports.push(topic));

    await topics.checked('nowhere');
    expect(reports).to.deep.equal([]);
    await topics.checked('nowhere');
    expect(reports).to.deep.equal(['nowhere']);
    expect(calls.looks).to.equal(2);
  });
});
