import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/load-config.js';
import { SETTINGS } from '../../lib/config/schema.js';
import { projectRoot } from '../../lib/project-root.js';

const examplePath = join(projectRoot(), '.env.example');
const noDotenv = join(projectRoot(), 'no-such-folder', '.env');
// A variable line is NAME=value, or #NAME=value when commented out; prose comments start "# ".
const VARIABLE = /^#?([A-Z][A-Z0-9_]*)=/;

describe('.env.example', () => {
  const lines = readFileSync(examplePath, 'utf8').split('\n');
  const variableLines = lines.flatMap((line, index) => {
    const name = VARIABLE.exec(line)?.[1];
    return name === undefined ? [] : [{ name, index }];
  });

  it('lists exactly the environment variables of the schema, once each', () => {
    const names = variableLines.map((v) => v.name).sort();
    const schemaNames = [...SETTINGS.values()].map((s) => s.env).sort();
    expect(names).to.deep.equal(schemaNames);
  });

  it('puts a one-line comment above each variable', () => {
    for (const { name, index } of variableLines) {
      expect(lines[index - 1], name).to.match(/^# \S/);
    }
  });

  it('holds the defaults: loading it gives the same configuration as no file', () => {
    expect(loadConfig({}, { dotenvPath: examplePath })).to.deep.equal(
      loadConfig({}, { dotenvPath: noDotenv }),
    );
  });
});
