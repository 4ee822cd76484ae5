import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * `npm start`'s prestart: compiles `lib/` to `dist/` only when a source is newer than the last
 * successful build, so a start (and a start refused for a wrong setting) does not wait several
 * seconds for tsc when nothing changed. A fresh clone (no `dist/`) builds.
 *
 * Runs on Node.js's type stripping, before anything is compiled: node built-ins only.
 */

/** Written after tsc succeeds: a failed build, whose output tsc still writes, is never "fresh". */
export const BUILD_STAMP = join('dist', '.build-stamp');

/** What `npm run build` (tsconfig.build.json) compiles from, relative to the project root. */
const SOURCE_DIRS = ['lib', 'loadtest'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** The sources changed since the last successful build (all of them when there was none). */
export function staleSources(root: string): string[] {
  const built = statSync(join(root, BUILD_STAMP), { throwIfNoEntry: false })?.mtimeMs;
  const sources = [
    ...SOURCE_DIRS.flatMap((dir) => typeScriptFiles(join(root, dir))),
    ...SOURCE_FILES.map((file) => join(root, file)),
  ];
  return sources
    .filter((path) => {
      const modified = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
      return modified !== undefined && (built === undefined || modified > built);
    })
    .map((path) => relative(root, path));
}

function typeScriptFiles(dir: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Builds when stale; resolves to the exit code of the build (0 when none was needed). tsc runs
 * as this process's one child, with no npm or shell between: a SIGTERM or SIGINT that reaches
 * this process (npm passes a supervisor's signal on to its scripts) stops tsc too, and the code
 * is 128 + the signal's number, so npm runs no `start` after a stop was asked for.
 */
export async function buildIfStale(root: string): Promise<number> {
  if (staleSources(root).length === 0) return 0;
  // The stamp's time is taken before tsc reads the sources, so an edit during the build counts.
  const startedAt = new Date();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  let stoppedBy: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    build.kill(signal);
  };
  process.once('SIGTERM', stop).once('SIGINT', stop);
  const code = await new Promise<number>((resolve) => {
    build.once('error', () => resolve(1));
    build.once('close', (status) => resolve(status ?? 1));
  });
  process.off('SIGTERM', stop).off('SIGINT', stop);
  if (stoppedBy !== undefined) return 128 + osConstants.signals[stoppedBy];
  if (code !== 0) return code;
  mkdirSync(dirname(join(root, BUILD_STAMP)), { recursive: true });
  const stamp = join(root, BUILD_STAMP);
  writeFileSync(stamp, `${startedAt.toISOString()}\n`);
  utimesSync(stamp, startedAt, startedAt);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await buildIfStale(dirname(dirname(fileURLToPath(import.meta.url))));
}
