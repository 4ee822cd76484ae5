import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';

/** One line of the fault suite's table: what was fed in, what was done to it, what came out. */
export interface ScenarioResult {
  scenario: string;
  events: number;
  faults: string;
  lost: number;
  duplicates: number;
  /** Duplicates divided by the service processes SIGKILLed, for scenarios that kill them. */
  duplicatesPerKill?: number;
  /** The commit watcher's verdict (CommitVerdict.summary), for scenarios with a consumer group. */
  watcher?: string;
  notes?: string;
}

const results: ScenarioResult[] = [];

/** Records a scenario's numbers; the suite prints them as a table and saves them as JSON. */
export function recordScenario(result: ScenarioResult): void {
  results.push(result);
  console.log(`      ${JSON.stringify(result)}`);
}

export function printReport(): void {
  if (results.length === 0) return;
  const lines = [
    '| scenario | events | faults injected | lost | duplicates | commit watcher |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.events} | ${r.faults} | ${r.lost} | ${r.duplicates}${perKill(r)} | ${r.watcher ?? 'n/a'} |`,
    ),
  ];
  console.log(`\n${lines.join('\n')}\n`);
  const dir = join(projectRoot(), '.cache');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fault-report.json'), JSON.stringify(results, null, 2));
}

function perKill({ duplicatesPerKill }: ScenarioResult): string {
  return duplicatesPerKill === undefined ? '' : ` (${duplicatesPerKill} per kill)`;
}
