import { expect } from 'chai';
import { ESLint, RuleTester } from 'eslint';
import { join } from 'node:path';
import tseslint from 'typescript-eslint';
import { projectRoot } from '../../lib/project-root.js';
import { folderLayersRule, LIB_LAYERS } from '../../scripts/folder-layers-rule.js';

/**
 * The lint rule that keeps the folders of lib/ from importing each other: each imports only
 * the layers below its own (scripts/folder-layers-rule.js, wired into eslint.config.js).
 */
describe('lint rule folder-layers', () => {
  const libRoot = join(projectRoot(), 'lib');
  const file = (path: string) => join(libRoot, path);
  const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });
  const options = [{ libRoot }];

  tester.run('folder-layers', folderLayersRule, {
    valid: [
      {
        filename: file('pipeline/route-to.ts'),
        code: "import { x } from '../operators/process.js';",
        options,
      },
      {
        filename: file('kafka/kafka-service.ts'),
        code: "import { x } from '../service/service-base.js';",
        options,
      },
      {
        filename: file('nats/nats-service.ts'),
        code: "export { x } from '../service/service-base.js';",
        options,
      },
      { filename: file('main.ts'), code: "import { x } from './startup-failure.js';", options },
      {
        filename: file('service/a.ts'),
        code: "import { x } from './b.js'; import { y } from 'rxjs';",
        options,
      },
      {
        filename: join(projectRoot(), 'spec', 'x.spec.ts'),
        code: "import { x } from '../lib/main.js';",
        options,
      },
    ],
    invalid: [
      {
        // The cycle operators ⇄ pipeline: the operators are below the pipeline API.
        filename: file('operators/enrich.ts'),
        code: "import { definePipeline } from '../pipeline/define-pipeline.js';",
        options,
        errors: [{ messageId: 'upward', data: { from: 'operators', to: 'pipeline' } }],
      },
      {
        // The shared service code builds on no broker adapter: the adapters build on it.
        filename: file('service/service-base.ts'),
        code: "import { x } from '../kafka/kafka-service.js';",
        options,
        errors: [{ messageId: 'upward', data: { from: 'service', to: 'kafka' } }],
      },
      {
        // Two adapters of one layer never import each other.
        filename: file('nats/streams.ts'),
        code: "export * from '../kafka/ensure-topics.js';",
        options,
        errors: [{ messageId: 'upward', data: { from: 'nats', to: 'kafka' } }],
      },
      {
        filename: file('config/schema.ts'),
        code: "const m = await import('../kafka/connection-options.js');",
        options,
        errors: [{ messageId: 'upward', data: { from: 'config', to: 'kafka' } }],
      },
      {
        filename: file('newfolder/a.ts'),
        code: "import { x } from '../core/errors.js';",
        options,
        errors: [{ messageId: 'unknown', data: { unit: 'newfolder' } }],
      },
    ],
  });

  it('places every folder and top-level module of lib/ in exactly one layer', async () => {
    const { readdirSync } = await import('node:fs');
    const units = readdirSync(libRoot).sort();
    const placed = LIB_LAYERS.flat();
    expect([...placed].sort()).to.deep.equal(units);
    expect(new Set(placed).size).to.equal(placed.length);
  });

  it('is on in the project lint for every file of lib/', async () => {
    const eslint = new ESLint({ cwd: projectRoot() });
    const config = (await eslint.calculateConfigForFile(file('service/message-flow.ts'))) as {
      rules: Record<string, unknown>;
    };
    expect(config.rules['myeventstream/folder-layers']).to.deep.equal([2]);
  });
});
