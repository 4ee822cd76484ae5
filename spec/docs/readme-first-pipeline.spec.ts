import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';

/**
 * The README's "Write your own pipeline" shows the files of examples/first-pipeline, which the
 * integration suite copies to a folder outside the project, loads and tests as a user would.
 * Each code block must be the file itself, or the README shows code nothing ran.
 */
describe('README: Write your own pipeline', () => {
  const root = projectRoot();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Write your own pipeline'),
    readme.indexOf('**Without code**'),
  );

  for (const [file, language] of [
    ['orders.ts', 'ts'],
    ['order.schema.json', 'json'],
    ['orders.test.ts', 'ts'],
    ['package.json', 'json'],
  ] as const) {
    it(`shows examples/first-pipeline/${file} as it is`, () => {
      const text = readFileSync(join(root, 'examples', 'first-pipeline', file), 'utf8');
      expect(section).to.include(`\`my-pipelines/${file}\``);
      expect(section).to.include(`\`\`\`${language}\n${text}\`\`\``);
    });
  }

  it('runs the spec with a script the project has', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(section).to.include('npm run test:pipeline -- ../my-pipelines/orders.test.ts');
    expect(scripts['test:pipeline']).to.include('--import ./dist/lib/pipeline/use-service-imports.js --test');
  });
});
