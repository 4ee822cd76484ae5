import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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

/** Builds when stale; returns the exit code of the build (0 when none was needed). */
export function buildIfStale(root: string): number {
  if (staleSources(root).length === 0) return 0;
  // The stamp's time is taken before tsc reads the sources, so an edit during the build counts.
  const startedAt = new Date();
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) return build.status ?? 1;
  mkdirSync(dirname(join(root, BUILD_STAMP)), { recursive: true });
  const stamp = join(root, BUILD_STAMP);
  writeFileSync(stamp, `${startedAt.toISOString()}\n`);
  utimesSync(stamp, startedAt, startedAt);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = buildIfStale(dirname(dirname(fileURLToPath(import.meta.url))));
}
