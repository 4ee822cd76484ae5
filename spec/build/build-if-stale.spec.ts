import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { staleSources } from '../../lib/build/build-if-stale.js';
import { projectRoot } from '../../lib/project-root.js';

describe('staleSources (npm run dlq compiles first when dist/ is missing or outdated)', () => {
  let root: string;
  const write = (path: string, secondsAgo: number) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    const at = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(file, at, at);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'stale-'));
    write('tsconfig.json', 100);
    write('tsconfig.build.json', 100);
    write('lib/cli/main.ts', 50);
    write('lib/index.ts', 50);
    write('lib/index.d.ts', 50);
    write('loadtest/generate.ts', 50);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('names every source when there is no dist/ (a fresh clone)', () => {
    expect(staleSources(root).sort()).to.deep.equal([
      'lib/cli/main.ts',
      'lib/index.ts',
      'loadtest/generate.ts',
    ]);
  });

  it('names nothing when every output is newer than its source', () => {
    for (const output of ['lib/cli/main.js', 'lib/index.js', 'loadtest/generate.js'])
      write(`dist/${output}`, 10);
    expect(staleSources(root)).to.deep.equal([]);
  });

  it('names a source edited after the build, and a source without output', () => {
    for (const output of ['lib/cli/main.js', 'lib/index.js', 'loadtest/generate.js'])
      write(`dist/${output}`, 10);
    write('lib/cli/main.ts', 1);
    write('lib/cli/new.ts', 60);
    expect(staleSources(root).sort()).to.deep.equal(['lib/cli/main.ts', 'lib/cli/new.ts']);
  });

  it('names every source when a build configuration changed after the build', () => {
    for (const output of ['lib/cli/main.js', 'lib/index.js', 'loadtest/generate.js'])
      write(`dist/${output}`, 10);
    write('tsconfig.build.json', 1);
    expect(staleSources(root)).to.have.length(3);
  });

  it('runs before npm run dlq, with Node.js alone (nothing compiled yet)', () => {
    const { scripts } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.predlq).to.equal('node lib/build/build-if-stale.ts');
    expect(scripts.dlq).to.equal('node dist/lib/cli/main.js dlq');
    // Type stripping runs a file alone: it may import only Node.js's own modules.
    const source = readFileSync(join(projectRoot(), 'lib', 'build', 'build-if-stale.ts'), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map(([, from]) => from);
    expect(imports.every((from) => from!.startsWith('node:'))).to.equal(true);
  });
});
