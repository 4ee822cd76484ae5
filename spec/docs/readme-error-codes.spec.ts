import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, RAISED_IN } from '../../lib/core/errors.js';
import { projectRoot } from '../../lib/project-root.js';

describe('README: error codes', () => {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');

  for (const code of ERROR_CODES) {
    it(`documents ${code} with the stage it is raised in`, () => {
      const row = new RegExp(`^\\| \`${code}\` +\\| \`${RAISED_IN[code].stage}\` +\\| \\S`, 'm');
      expect(readme).to.match(row);
    });
  }
});
