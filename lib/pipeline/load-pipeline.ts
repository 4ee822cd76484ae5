import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultPipeline } from './default-pipeline.js';
import { isPipeline, type Pipeline } from './define-pipeline.js';

/**
 * The pipeline of PIPELINE (a module whose default export, or `pipeline` export, is the result
 * of `definePipeline`), or the default one. A module without one stops start-up.
 */
export async function loadPipeline(modulePath: string | undefined): Promise<Pipeline> {
  if (!modulePath) return defaultPipeline;
  const url = pathToFileURL(resolve(modulePath)).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`PIPELINE module ${modulePath} could not be loaded: ${String(error)}`, { cause: error });
  }
  const candidate = module.default ?? module.pipeline;
  if (!isPipeline(candidate)) {
    throw new Error(
      `PIPELINE module ${modulePath} must export a pipeline made with definePipeline() as its default export or as "pipeline"`,
    );
  }
  return candidate;
}
