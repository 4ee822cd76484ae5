import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';
import { podman } from './engine.js';
import { buildStandInBase, STAND_IN_LABEL } from './stand-in-base.js';

/** The base image the Dockerfile names, e.g. node:24.11.1-bookworm-slim, and its parts. */
export interface BaseImage {
  /** As podman stores it: docker.io/library/node:24.11.1-bookworm-slim. */
  reference: string;
  nodeVersion: string;
  /** The Debian release: bookworm. */
  suite: string;
}

export function dockerfileBaseImage(
  dockerfile = readFileSync(join(projectRoot(), 'Dockerfile'), 'utf8'),
): BaseImage {
  const match = /^FROM node:(\d+\.\d+\.\d+)-([a-z]+)-slim\b/m.exec(dockerfile);
  if (!match) throw new Error('the Dockerfile does not start FROM node:<x.y.z>-<debian>-slim');
  const [, nodeVersion, suite] = match as unknown as [string, string, string];
  return { reference: `docker.io/library/node:${nodeVersion}-${suite}-slim`, nodeVersion, suite };
}

/** Where the base image came from this run, said in the suite's output. */
export type BaseImageSource = 'local' | 'pulled' | 'stand-in';

/**
 * Makes the Dockerfile's base image available to `podman build --pull=never`: the real one when
 * it is stored or can be pulled, else a stand-in made here (see stand-in-base.ts) under the
 * same name. A stand-in carries a label, so a later run still tries the real one first.
 */
export async function provideBaseImage(
  base: BaseImage,
  log: (line: string) => void,
): Promise<BaseImageSource> {
  const stored = await podman([
    'image',
    'inspect',
    '--format',
    `{{index .Labels "${STAND_IN_LABEL}"}}`,
    base.reference,
  ]);
  const isStandIn = stored.code === 0 && stored.stdout.trim() !== '' && stored.stdout.trim() !== '<no value>';
  if (stored.code === 0 && !isStandIn) return 'local';
  // A registry that does not answer fails the pull in a moment; one that hangs, in 2 minutes.
  const pulled = await podman(['pull', '--quiet', base.reference], { timeoutMs: 120_000 });
  if (pulled.code === 0) return 'pulled';
  const reason = (pulled.stderr.trim().split('\n').pop() ?? '').slice(0, 300);
  log(`${base.reference} cannot be pulled (${reason || `exit ${pulled.code}`})`);
  if (isStandIn) {
    log(`using the stand-in for ${base.reference} made by an earlier run`);
  } else {
    await buildStandInBase(base, log);
  }
  return 'stand-in';
}
