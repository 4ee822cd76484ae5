import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createMetrics } from '../../lib/observability/metrics.js';
import { projectRoot } from '../../lib/project-root.js';

/** Every series name the service exposes, histograms with their _bucket/_sum/_count. */
export async function exportedMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  createMetrics(registry, 'spec');
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if ((metric.type as unknown) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

export interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; definition?: string }> };
}

/** The Grafana dashboard the project provisions. */
export function serviceDashboard(): Dashboard {
  const path = join(projectRoot(), 'grafana', 'dashboards', 'myeventstream.json');
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}
