import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

/** The compiled service as `npm start` runs it, without npm in between. */
const NODE_MAIN = (): string[] => [process.execPath, join(projectRoot(), 'dist', 'lib', 'main.js')];

/** The compiled service (`dist/lib/main.js`, or the command given) as a child process. */
export class ServiceProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  /** `command` replaces `node dist/lib/main.js`, e.g. with `npm start` as a supervisor runs it. */
  constructor(env: Record<string, string>, command: string[] = NODE_MAIN()) {
    const [file, ...args] = command;
    this.child = spawn(file!, args, {
      cwd: projectRoot(),
      env: { PATH: process.env.PATH ?? '', METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ level: 'raw', message: line });
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line matching, or rejects when the process exits first. */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (Date.now() < deadline) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (exited) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `log line not seen (exited: ${exited}); stderr: ${this.stderr.join('')}; last lines: ${JSON.stringify(this.lines.slice(-5))}`,
    );
  }

  /** The port of /metrics, /healthz and /readyz once the service listens. */
  async httpPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.message === 'Metrics and health endpoints listening');
    return line.port as number;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** The exit of a process that must stop on its own within `timeoutMs`. */
export async function exitWithin(
  service: ServiceProcess,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms; stderr: ${service.stderr.join('')}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
