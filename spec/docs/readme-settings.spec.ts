import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../lib/config/config-error.js';
import { loadConfig } from '../../lib/config/load-config.js';
import { SETTINGS } from '../../lib/config/schema.js';
import { projectRoot } from '../../lib/project-root.js';

/** Whether the configuration refuses the variable set to an empty value. */
function refusesEmpty(env: string): boolean {
  try {
    loadConfig({ [env]: '' }, { dotenvPath: join(projectRoot(), 'no-such.env') });
    return false;
  } catch (error) {
    if (error instanceof ConfigError) return true;
    throw error;
  }
}

describe('README: the settings table', () => {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
  const row = (env: string) => readme.split('\n').find((line) => line.startsWith(`| \`${env}\` `));

  for (const setting of SETTINGS.values()) {
    if (setting.default !== '') continue;
    it(`gives ${setting.env}'s default as what the configuration does with it`, () => {
      const cells = row(setting.env)
        ?.split('|')
        .map((cell) => cell.trim());
      expect(cells, `a row for ${setting.env}`).to.not.equal(undefined);
      if (refusesEmpty(setting.env)) {
        // Only an absent variable takes the default: "(empty)" would invite an empty value.
        expect(cells![2]).to.equal('(unset)');
        expect(cells![3]).to.include('an empty value is refused');
      } else {
        expect(cells![2]).to.equal('(empty)');
      }
    });
  }
});
