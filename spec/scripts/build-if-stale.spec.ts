import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
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
});
