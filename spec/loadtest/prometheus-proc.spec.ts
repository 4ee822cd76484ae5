import { expect } from 'chai';
import { parseProcStat, statusField } from '../../loadtest/proc.js';
import { parseMetrics, toSample } from '../../loadtest/prometheus.js';

describe('loadtest metrics and /proc parsing', () => {
  it('sums a metric over its label sets and skips comments', () => {
    const values = parseMetrics(
      [
        '# HELP queue_depth Messages fetched.',
        '# TYPE queue_depth gauge',
        'queue_depth{service="myeventstream"} 812',
        'events_processed_total{service="a"} 10',
        'events_processed_total{service="b"} 5',
        'myeventstream_end_to_end_latency_seconds_bucket{service="x",le="+Inf"} 3',
        'process_resident_memory_bytes 123456789',
        'nodejs_eventloop_lag_seconds 1.5e-3',
        'weird_value{a="b"} NaN',
        '',
      ].join('\n'),
    );
    expect(values.get('queue_depth')).to.equal(812);
    expect(values.get('events_processed_total')).to.equal(15);
    expect(values.get('myeventstream_end_to_end_latency_seconds_bucket')).to.equal(3);
    expect(values.get('nodejs_eventloop_lag_seconds')).to.equal(0.0015);
    expect(values.has('weird_value')).to.equal(false);
    expect(toSample(500, values)).to.deep.equal({
      t: 500,
      queueDepth: 812,
      inFlight: null,
      ingested: null,
      processed: 15,
      deadLettered: null,
      retries: null,
      residentBytes: 123456789,
    });
  });

  it('reads utime and stime from /proc/<pid>/stat even when the command name has spaces and parentheses', () => {
    const line =
      '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 11 0 100 1000000 5000';
    expect(parseProcStat(line)).to.deep.equal({ utime: 250, stime: 75 });
    expect(() => parseProcStat('garbage')).to.throw();
  });

  it('reads kB fields of /proc/<pid>/status in bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(statusField(status, 'VmHWM')).to.equal(204800 * 1024);
    expect(statusField(status, 'VmRSS')).to.equal(102400 * 1024);
    expect(statusField(status, 'VmSwap')).to.equal(null);
  });
});
