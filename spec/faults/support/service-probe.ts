import { expect } from 'chai';
import type { ServiceProcess } from '../../integration/support/service-process.js';

export { exitWithin } from '../../integration/support/service-process.js';

/**
 * What a service process shows from outside, whatever its broker: its HTTP endpoints, its log
 * lines and its exit. Shared by the fault specs that run the compiled service.
 */

/** GET /readyz: the status code and the reasons the service gives for not being ready. */
export async function readyz(port: number): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await response.json()) as { ready: boolean; reasons?: string[] };
  return { status: response.status, reasons: body.reasons ?? [] };
}

/** GET /healthz: the status code. */
export async function healthz(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  await response.arrayBuffer();
  return response.status;
}

/** GET /metrics, as metric name → sum of its series (labels dropped). */
export async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, value] = match;
    values.set(name!, (values.get(name!) ?? 0) + Number(value));
  }
  return values;
}

/** One metric of a scrape; throws when the service does not export it. */
export function metric(values: Map<string, number>, name: string): number {
  const value = values.get(name);
  if (value === undefined) throw new Error(`the service exports no metric ${name}`);
  return value;
}

/** Whether the process is still running (it has not exited). */
export async function isRunning(service: ServiceProcess): Promise<boolean> {
  const marker = Symbol('running');
  const first = await Promise.race([service.exited, new Promise((resolve) => setImmediate(resolve, marker))]);
  return first === marker;
}

/** The service must have survived: one start, still running, live, no crash or failure line. */
export async function expectSurvived(service: ServiceProcess, port: number): Promise<void> {
  expect(await isRunning(service), 'the service process is still running').to.equal(true);
  expect(await healthz(port)).to.equal(200);
  expect(service.lines.filter((line) => line.message === 'Starting')).to.have.length(1);
  const fatal = service.lines.filter(
    (line) =>
      line.level === 'error' && /Uncaught|Unhandled|must be restarted|Start-up failed/.test(line.message),
  );
  expect(fatal, 'crash lines').to.deep.equal([]);
  expect(service.stderr.join(''), 'stderr').to.equal('');
}
