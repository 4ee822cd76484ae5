import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../lib/project-root.js';
import { BUILD_STAMP, staleSources } from '../../scripts/build-if-stale.js';

describe('build-if-stale (npm start compiles only what changed)', () => {
  let root: string;
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
  const write = (path: string, seconds: number) => {
    const file = join(root, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '');
    utimesSync(file, at(seconds), at(seconds));
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
    write('package.json', 1);
    write('tsconfig.json', 1);
    write('tsconfig.build.json', 1);
    write('lib/main.ts', 1);
    write('lib/config/load-config.ts', 1);
    write('lib/README.md', 50);
    write('loadtest/generate.ts', 1);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds a fresh clone, where dist/ was never built', () => {
    expect(staleSources(root)).to.have.members([
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      join('lib', 'main.ts'),
      join('lib', 'config', 'load-config.ts'),
      join('loadtest', 'generate.ts'),
    ]);
  });

  it('skips the build when nothing changed since the last successful one', () => {
    write(BUILD_STAMP, 10);
    expect(staleSources(root)).to.deep.equal([]);
  });

  it('names a source or compiler setting changed after the build, however deep', () => {
    write(BUILD_STAMP, 10);
    write('lib/config/load-config.ts', 11);
    write('tsconfig.build.json', 12);
    expect(staleSources(root)).to.have.members([
      'tsconfig.build.json',
      join('lib', 'config', 'load-config.ts'),
    ]);
  });

  it('counts a build that failed (no stamp) as stale, although tsc wrote its output', () => {
    write('dist/lib/main.js', 20);
    expect(staleSources(root)).to.include(join('lib', 'main.ts'));
  });

  describe('a signal while it builds', () => {
    /** A stand-in for tsc that says it runs (its pid in a file), then runs for a minute. */
    const fakeTsc = (marker: string) => {
      write('node_modules/typescript/bin/tsc', 0);
      writeFileSync(
        join(root, 'node_modules/typescript/bin/tsc'),
        `require('node:fs').writeFileSync(${JSON.stringify(marker)}, String(process.pid)); setTimeout(() => {}, 60000);`,
      );
    };
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`stops tsc with it on ${signal} and exits 128 + its number, so npm runs no start`, async () => {
        const marker = join(root, 'tsc.pid');
        fakeTsc(marker);
        const script = join(projectRoot(), 'scripts', 'build-if-stale.ts');
        const program = `const m = await import(${JSON.stringify(pathToFileURL(script).href)}); process.exitCode = await m.buildIfStale(${JSON.stringify(root)});`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: 'ignore' });
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        while (!existsSync(marker) || readFileSync(marker, 'utf8') === '') await sleep(20);
        const tscPid = Number(readFileSync(marker, 'utf8'));
        expect(alive(tscPid)).to.equal(true);
        child.kill(signal);
        expect(await exited).to.equal(128 + osConstants.signals[signal]);
        for (let waited = 0; alive(tscPid) && waited < 5000; waited += 20) await sleep(20);
        expect(alive(tscPid), 'tsc still running').to.equal(false);
        expect(existsSync(join(root, BUILD_STAMP)), 'a stopped build is never fresh').to.equal(false);
      });
    }
  });
});
