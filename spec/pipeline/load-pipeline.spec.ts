import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Observable } from 'rxjs';
import { loadPipeline } from '../../lib/pipeline/load-pipeline.js';
import { projectRoot } from '../../lib/project-root.js';
import { createTestDriver } from '../../lib/testing/index.js';

/**
 * The service's public modules as the ES module graph holds them, which is what the service
 * runs on. (Under mocha, this spec's static imports of lib/ are a second copy that tsx makes
 * for mocha's require() of spec files; rxjs is CommonJS on Node, one copy either way.)
 */
async function serviceModules() {
  return {
    index: await import('../../lib/index.js'),
    testing: await import('../../lib/testing/index.js'),
  };
}

/** A pipeline as a user writes it in a folder of their own: TypeScript, importing by name. */
const USER_PIPELINE = `import { map, Observable, pipe } from 'rxjs';
import { decodeJson, definePipeline, forwardTo } from 'myeventstream';
import { createTestDriver } from 'myeventstream/testing';

interface Order {
  id: string;
}

export const imported = { Observable, definePipeline, createTestDriver };

export default definePipeline((ctx) =>
  pipe(
    decodeJson<Order>(),
    map((delivery) => delivery),
    forwardTo('orders-out', ctx),
  ),
);
`;

describe('loadPipeline', () => {
  let folder: string;

  /** Writes `source` as `name` in the folder and loads it as PIPELINE does. */
  function write(name: string, source: string): string {
    const file = join(folder, name);
    writeFileSync(file, source);
    return file;
  }

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'myeventstream-pipeline-'));
    writeFileSync(join(folder, 'package.json'), '{ "type": "module" }\n');
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('loads a TypeScript pipeline outside the project that imports myeventstream and rxjs', async () => {
    expect(relative(projectRoot(), folder).startsWith('..')).to.equal(true);
    const file = write('orders.ts', USER_PIPELINE);

    const pipeline = await loadPipeline(file);

    const { imported } = (await import(file)) as { imported: Record<string, unknown> };
    expect(imported.Observable, 'one RxJS: the service’s own').to.equal(Observable);
    const { index, testing } = await serviceModules();
    expect(imported.definePipeline).to.equal(index.definePipeline);
    expect(imported.createTestDriver).to.equal(testing.createTestDriver);
    const driver = createTestDriver(pipeline);
    try {
      driver.send({ key: 'o-1', value: { id: 'o-1' } });
      await driver.settle();
      expect(driver.producedTo('orders-out').map((m) => m.value)).to.deep.equal(['{"id":"o-1"}']);
      expect(driver.deadLetters).to.deep.equal([]);
    } finally {
      driver.dispose();
    }
  });

  it('names PIPELINE, the file and line, and its source when the module throws while loading', async () => {
    const file = write(
      'orders.ts',
      `import { pipe } from 'rxjs';\nconst url: string = '';\nif (!url) throw new Error('CUSTOMERS_URL is not set');\nexport default pipe();\n`,
    );
    const error = await loadPipeline(file).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.equal(
      `PIPELINE module ${file} could not be loaded: ${file}:3 (if (!url) throw new Error('CUSTOMERS_URL is not set');): Error: CUSTOMERS_URL is not set`,
    );
  });

  it('names the file and line of a syntax error', async () => {
    const file = write(
      'orders.ts',
      `import { pipe } from 'rxjs';\n\nconst n: number = ;\nexport default pipe();\n`,
    );
    const error = await loadPipeline(file).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.match(/^PIPELINE module .* could not be loaded: /);
    expect(error?.message).to.include(`${file}:3 (const n: number = ;)`);
  });

  it('names PIPELINE when the module exports no pipeline', async () => {
    const file = write('orders.ts', `import { pipe } from 'rxjs';\nexport default () => pipe();\n`);
    const error = await loadPipeline(file).then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.equal(
      `PIPELINE module ${file} must export a pipeline made with definePipeline() as its default export or as "pipeline"`,
    );
  });
});
