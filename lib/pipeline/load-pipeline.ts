import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultPipeline } from './default-pipeline.js';
import { isPipeline, type Pipeline } from './define-pipeline.js';
import { describeLoadFailure } from './load-failure.js';
import { shareServiceImports } from './service-imports.js';

/**
 * The pipeline of PIPELINE (a module whose default export, or `pipeline` export, is the result
 * of `definePipeline`), or the default one. A module without one stops start-up.
 *
 * The module may be JavaScript or TypeScript (`.ts`, run by Node.js's type stripping, which
 * the production image has too) and may live anywhere: its imports of `myeventstream`,
 * `myeventstream/testing` and `rxjs` get the service's own copies. A module that does not load
 * stops start-up with the file and line to fix.
 */
export async function loadPipeline(modulePath: string | undefined): Promise<Pipeline> {
  if (!modulePath) return defaultPipeline;
  const file = resolve(modulePath);
  shareServiceImports();
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `PIPELINE module ${modulePath} could not be loaded: ${describeLoadFailure(error, file)}`,
      {
        cause: error,
      },
    );
  }
  const candidate = module.default ?? module.pipeline;
  if (!isPipeline(candidate)) {
    throw new Error(
      `PIPELINE module ${modulePath} must export a pipeline made with definePipeline() as its default export or as "pipeline"`,
    );
  }
  return candidate;
}
