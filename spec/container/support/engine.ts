import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';

/** Where the container checks keep what they make once: the stand-in base, containers.conf. */
export function containerCache(): string {
  const dir = join(projectRoot(), '.cache', 'container');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Whether `podman` is on the PATH: the only container engine these checks drive. */
export function hasPodman(): boolean {
  return spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A containers.conf for this machine, handed to podman through CONTAINERS_CONF so /etc is left
 * alone. Each line is something podman's defaults get wrong on a host without systemd and with
 * hybrid cgroups: its default ulimits may exceed the host's hard limits (the container then
 * fails to start), Debian's crun refuses hybrid cgroups (runc does not), the systemd cgroup
 * manager and journald event log need a systemd that is not running.
 */
export function writeContainersConf(): string {
  const nofile = hardLimit('-Hn', 1048576);
  const nproc = hardLimit('-Hu', 32768);
  const file = join(containerCache(), 'containers.conf');
  writeFileSync(
    file,
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  return file;
}

/** The shell's hard limit (`ulimit -Hn`, `-Hu`), at most `ceiling`: "unlimited" gives the ceiling. */
function hardLimit(option: string, ceiling: number): number {
  const answer = spawnSync('sh', ['-c', `ulimit ${option}`], { encoding: 'utf8' }).stdout.trim();
  return /^\d+$/.test(answer) ? Math.min(Number(answer), ceiling) : ceiling;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Fails the command after this long (SIGKILL); the result's code is then null. */
  timeoutMs?: number;
  cwd?: string;
  /** Written to the command's stdin, then closed. */
  input?: NodeJS.ReadableStream;
  /** Added to (or, with undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
}

/** Runs a command to its end, collecting its output; never throws for a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? projectRoot(),
      env: { ...process.env, ...options.env },
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    if (options.input) options.input.pipe(child.stdin!);
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like run, but a non-zero exit throws with the command and its stderr. */
export async function runOrThrow(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-4000) || result.stdout.slice(-4000)}`,
    );
  }
  return result.stdout;
}

/**
 * Points podman, and the tools that run it (podman-compose), at this machine's containers.conf
 * (see writeContainersConf), unless CONTAINERS_CONF already names one.
 */
export function useContainersConf(): void {
  process.env.CONTAINERS_CONF ??= writeContainersConf();
}

/** `podman …` with this machine's containers.conf. */
export function podman(args: string[], options: RunOptions = {}): Promise<CommandResult> {
  useContainersConf();
  return run('podman', args, options);
}

export async function podmanOrThrow(args: string[], options: RunOptions = {}): Promise<string> {
  useContainersConf();
  return runOrThrow('podman', args, options);
}
