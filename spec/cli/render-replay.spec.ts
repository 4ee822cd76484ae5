import { expect } from 'chai';
import { showBytes } from '../../lib/cli/display.js';
import { renderReplay, type PlannedReplay, type ReplayResult } from '../../lib/cli/replay.js';

const planned = (overrides: Partial<PlannedReplay>): PlannedReplay => ({
  from: 'dlq/0/3',
  errorCode: 'INVALID_JSON',
  errorStage: 'decode',
  timestamp: '2026-01-10T08:00:00.000Z',
  target: { topic: 'orders', partition: 1 },
  problem: null,
  key: showBytes(Buffer.from('k1')),
  valueBytes: 12,
  replayedFrom: null,
  ...overrides,
});

const dryRun = (list: PlannedReplay[]): ReplayResult => ({
  dlqTopic: 'dlq',
  group: 'myeventstream-dlq-replay',
  dryRun: true,
  selection: 'every dead letter',
  to: null,
  partitions: [{ partition: 0, from: '0', end: '5' }],
  published: 0,
  byTarget: {},
  wouldPublish: { count: list.length, byTarget: { orders: list.length } },
  replayedBefore: list.filter((p) => p.replayedFrom !== null).length,
  skipped: 1,
  problems: 0,
  outcome: 'end',
  planned: list,
});

describe('renderReplay', () => {
  it('says what a dry run would publish, never that it published', () => {
    const text = renderReplay(dryRun([planned({}), planned({ from: 'dlq/0/4' })]));
    expect(text).to.include('Would replay 2 dead letter(s) to orders (2); 1 not selected;');
    expect(text).to.not.match(/published|Replayed/);
  });

  it('prints a null value as a null value, and a value by its size', () => {
    const text = renderReplay(dryRun([planned({ valueBytes: null }), planned({ valueBytes: 0 })]));
    const [nullLine, emptyLine] = text.split('\n');
    expect(nullLine).to.match(/ {2}null value$/);
    expect(nullLine).to.not.include('bytes');
    expect(emptyLine).to.match(/ {2}value 0 bytes$/);
  });

  it('marks letters an earlier replay sent back, and says how to leave them out or take only them', () => {
    const text = renderReplay(dryRun([planned({ replayedFrom: 'dlq/0/1' }), planned({})]));
    expect(text.split('\n')[0]).to.match(/replayed before from dlq\/0\/1$/);
    expect(text).to.include(
      '1 of them had been replayed before (replayed_from header) and failed again; --skip-replayed leaves such dead letters out, --only-replayed takes only them.',
    );
  });

  it('counts what a live run published', () => {
    const result: ReplayResult = {
      ...dryRun([]),
      dryRun: false,
      published: 3,
      byTarget: { orders: 3 },
      replayedBefore: 0,
    };
    delete result.wouldPublish;
    delete result.planned;
    expect(renderReplay(result)).to.equal(
      'Replayed 3 dead letter(s) to orders (3); 1 not selected; reached the end offsets taken at start.\n',
    );
  });
});
