import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../lib/project-root.js';
import { exportedMetricNames, serviceDashboard } from '../support/exported-metrics.js';

const KEYWORDS = new Set([
  'by',
  'without',
  'and',
  'or',
  'unless',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
]);

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '') // grouping labels
    .replace(/\[[^\]]*\]/g, ''); // ranges and subqueries
  // A whole identifier followed by "(" is a function call.
  const names = [...stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined)
    .map((m) => m[1]!);
  return names.filter((name) => !KEYWORDS.has(name));
}

/** Every series name a PromQL expression may select: the service's and Prometheus's own `up`. */
async function exportedNames(): Promise<Set<string>> {
  return new Set([...(await exportedMetricNames()), 'up']);
}

function dashboardExpressions(): Array<{ where: string; expr: string }> {
  const dashboard = serviceDashboard();
  return [
    ...dashboard.panels.flatMap((panel) =>
      panel.targets.map(({ expr }) => ({ where: `panel "${panel.title}"`, expr })),
    ),
    ...dashboard.templating.list
      .filter((variable) => variable.definition)
      .map((variable) => ({
        where: `variable ${variable.name}`,
        expr: /label_values\(([^,]+),/.exec(variable.definition!)![1]!,
      })),
  ];
}

function alertExpressions(): Array<{ where: string; expr: string }> {
  const rules = parse(readFileSync(join(projectRoot(), 'prometheus', 'alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  );
}

describe('PromQL in the dashboards and alert rules', () => {
  it('extracts metric names and leaves functions, keywords and labels out', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{service=~"$s"}[5m]))) > 0 and b_total',
      ),
    ).to.deep.equal(['a_seconds_bucket', 'b_total']);
  });

  it('names only metrics the service really exports', async () => {
    const exported = await exportedNames();
    const expressions = [...dashboardExpressions(), ...alertExpressions()];
    expect(expressions.length).to.be.greaterThan(10);
    const unknown = expressions.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).to.deep.equal([]);
  });

  it('shows throughput, queue depth, in-flight, latency percentiles, retries and lag per partition', () => {
    const used = new Set(dashboardExpressions().flatMap(({ expr }) => metricNames(expr)));
    for (const name of [
      'events_ingested_total',
      'events_processed_total',
      'dlq_messages_total',
      'queue_depth',
      'myeventstream_messages_in_flight',
      'myeventstream_end_to_end_latency_seconds_bucket',
      'retry_attempts_total',
      'myeventstream_consumer_lag',
    ]) {
      expect(used, name).to.include(name);
    }
  });
});
