import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SETTINGS } from '../../lib/config/schema.js';
import { ERROR_CODES } from '../../lib/core/errors.js';
import { projectRoot } from '../../lib/project-root.js';
import { exportedMetricNames, serviceDashboard } from '../support/exported-metrics.js';

const read = (path: string) => readFileSync(join(projectRoot(), path), 'utf8');

/** The spans in backticks of a Markdown text. */
function codeSpans(markdown: string): string[] {
  return [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
}

/**
 * The metric names a text cites: spans in backticks shaped like one (the service's prefix, a
 * Node.js process metric, or a Prometheus unit suffix), labels in braces dropped. Wildcards
 * such as `process_*` and DLQ header names such as `error_code` are not metric names.
 */
export function metricsCited(markdown: string): string[] {
  return codeSpans(markdown).flatMap((span) => {
    const match = /^([a-z][a-z0-9_]*)(\{[^}]*\})?$/.exec(span);
    if (!match) return [];
    const name = match[1]!;
    const shaped =
      /^(myeventstream|process|nodejs)_/.test(name) ||
      /_(total|seconds|bytes|depth|bucket|sum|count)$/.test(name);
    return shaped ? [name] : [];
  });
}

/** The text from a Markdown heading to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line === heading);
  if (start < 0) throw new Error(`no heading ${heading}`);
  const level = /^#+/.exec(heading)![0].length;
  const end = lines.findIndex(
    (line, i) => i > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level,
  );
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

function alertNames(): Set<string> {
  const rules = parse(read('prometheus/alerts.yml')) as {
    groups: Array<{ rules: Array<{ alert: string }> }>;
  };
  return new Set(rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert)));
}

describe('the docs: metrics, dashboard panels and settings they name', () => {
  it('finds metric names in backticks, labels dropped, and leaves settings, headers and wildcards out', () => {
    expect(
      metricsCited(
        '`queue_depth`, `myeventstream_dead_letters_total{stage,code}` and `nodejs_eventloop_lag_seconds`; ' +
          '`no_such_metric_total`; not `WORKER_POOL_SIZE`, `process_*`, `error_code`, `rate(x_total[1m])`',
      ),
    ).to.deep.equal([
      'queue_depth',
      'myeventstream_dead_letters_total',
      'nodejs_eventloop_lag_seconds',
      'no_such_metric_total',
    ]);
  });

  for (const doc of ['README.md', 'loadtest/README.md']) {
    it(`${doc} cites only metrics the service exports`, async () => {
      const exported = await exportedMetricNames();
      const cited = metricsCited(read(doc));
      expect(cited.length).to.be.greaterThan(0);
      expect(cited.filter((name) => !exported.has(name))).to.deep.equal([]);
    });
  }

  describe('README "When it falls behind"', () => {
    const tuning = section(read('README.md'), '### When it falls behind');

    it('names metrics that exist: every lower-case name in backticks is one', async () => {
      const exported = await exportedMetricNames();
      const names = codeSpans(tuning)
        .map((span) => /^([a-z][a-z0-9]*_[a-z0-9_]*)(\{[^}]*\})?$/.exec(span)?.[1])
        .filter((name) => name !== undefined);
      expect(names.length).to.be.greaterThan(10);
      expect(names.filter((name) => !exported.has(name))).to.deep.equal([]);
    });

    it('names dashboard panels that exist', () => {
      const titles = new Set(serviceDashboard().panels.map((panel) => panel.title));
      const quoted = [...tuning.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      expect(quoted.length).to.be.greaterThan(5);
      expect(quoted.filter((title) => !titles.has(title))).to.deep.equal([]);
    });

    it('names settings, error codes and alerts that exist', () => {
      const known = new Set<string>([
        ...[...SETTINGS.values()].map((setting) => setting.env),
        ...ERROR_CODES,
        ...alertNames(),
      ]);
      const named = codeSpans(tuning)
        .filter((span) => !span.includes('/')) // paths and endpoints
        .flatMap((span) => span.split(/[^A-Za-z0-9_]+/))
        .filter((word) => /^[A-Z][A-Z0-9_]{2,}$/.test(word) || /^MyEventStream/.test(word));
      expect(named.length).to.be.greaterThan(10);
      expect(named.filter((word) => !known.has(word))).to.deep.equal([]);
    });

    it('covers queue depth, lag, retries, dead letters and the writes, with the settings that tune them', () => {
      const metrics = metricsCited(tuning);
      for (const name of [
        'queue_depth',
        'myeventstream_messages_in_flight',
        'myeventstream_messages_in_backoff',
        'myeventstream_consumer_lag',
        'retry_attempts_total',
        'dlq_messages_total',
        'myeventstream_dead_letters_total',
        'myeventstream_dlq_write_failures_total',
      ]) {
        expect(metrics, name).to.include(name);
      }
      for (const setting of [
        'WORKER_POOL_SIZE',
        'QUEUE_BUFFER_SIZE',
        'RETRY_MAX_ATTEMPTS',
        'RETRY_MAX_DELAY_MS',
        'PROCESS_TIMEOUT_MS',
        'PROCESSING_ORDER',
        'TOPIC_PARTITIONS',
        'KAFKA_PRODUCER_CLIENT',
        'KAFKA_FETCH_MAX_BYTES',
      ]) {
        expect(tuning, setting).to.include(`\`${setting}`);
      }
    });

    it('is where loadtest/README.md sends a run that is not healthy', () => {
      expect(section(read('loadtest/README.md'), '### When a run is not healthy')).to.include(
        '"When it falls behind"',
      );
    });
  });
});
