/**
 * Compiles the project (`tsc -p tsconfig.build.json`) when `dist/` is missing or older than
 * its sources, so a script that runs compiled code (`npm run dlq`) works from a fresh clone
 * and costs nothing when `dist/` is up to date.
 *
 * Run by Node.js itself (`node lib/build/build-if-stale.ts`, type stripping) because it runs
 * before anything is compiled: it imports nothing of the project.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The folders tsconfig.build.json compiles, and the files that change every output. */
const SOURCE_FOLDERS = ['lib', 'loadtest'];
const BUILD_CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];

/**
 * Sources (relative to `root`) whose compiled file in `dist/` is missing or older than they
 * are; every source when a build configuration is newer than the oldest output.
 */
export function staleSources(root: string): string[] {
  const sources = SOURCE_FOLDERS.flatMap((folder) => typeScriptFiles(join(root, folder))).map((file) =>
    relative(root, file),
  );
  const outputTimes = sources.map((source) => modifiedAt(join(root, 'dist', source.replace(/\.ts$/, '.js'))));
  const configTime = Math.max(...BUILD_CONFIGS.map((name) => modifiedAt(join(root, name)) ?? 0));
  return sources.filter((source, i) => {
    const output = outputTimes[i];
    return output === undefined || output < (modifiedAt(join(root, source)) ?? 0) || output < configTime;
  });
}

function typeScriptFiles(folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Compiles when something is stale; returns the exit status. */
export function buildIfStale(root: string): number {
  const stale = staleSources(root);
  if (stale.length === 0) return 0;
  process.stderr.write(
    `dist/ is missing or older than ${stale.length === 1 ? stale[0] : `${stale.length} sources`}: compiling (npm run build)...\n`,
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  return run.status ?? 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = buildIfStale(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
}
