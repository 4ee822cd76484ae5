import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';
import { podman, podmanOrThrow } from './engine.js';

/**
 * Builds an image as `docker build -t <tag> <context>` does, with what this machine needs:
 * the base image never pulled (provideBaseImage made it available), the Docker image format
 * (the OCI format has no HEALTHCHECK), the host's network for `npm ci`, and the CA bundle the
 * host trusts, for npm (where outbound TLS is intercepted it needs it; see hostCaForNpm).
 * Returns the build's output.
 */
export async function buildImage(tag: string, context = projectRoot()): Promise<string> {
  const options = buildOptions();
  try {
    return await podmanOrThrow(['build', ...options.args, '-t', tag, context], { timeoutMs: 900_000 });
  } finally {
    options.remove();
  }
}

/** The options of `podman build` above, for whatever runs it (podman-compose too); remove() after. */
export function buildOptions(): { args: string[]; remove: () => void } {
  const trust = hostCaForNpm();
  return {
    args: ['--pull=never', '--format', 'docker', '--network', 'host', ...trust.args],
    remove: trust.remove,
  };
}

/**
 * npm in the image trusts only Node.js's own CAs. Where the host trusts a bundle of its own
 * (NODE_EXTRA_CA_CERTS, else npm's `cafile` here), the bundle goes in for the build only, as
 * npm's global configuration (`/usr/local/etc/npmrc`, whose `cafile` names the bundle beside
 * it) mounted read-only over the base image's empty /usr/local/etc: an existing folder, so no
 * mount point is left behind in a layer, and nothing of it is in the image.
 */
function hostCaForNpm(): { args: string[]; remove: () => void } {
  const bundle = process.env.NODE_EXTRA_CA_CERTS?.trim() || npmCafile();
  if (!bundle) return { args: [], remove: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'myeventstream-build-ca-'));
  copyFileSync(bundle, join(dir, 'host-ca.pem'));
  writeFileSync(join(dir, 'npmrc'), 'cafile=/usr/local/etc/host-ca.pem\n');
  return {
    args: ['--volume', `${dir}:/usr/local/etc:ro`],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The host npm's `cafile` setting, when it names a file. */
function npmCafile(): string | undefined {
  const cafile = spawnSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' }).stdout?.trim();
  return cafile && cafile !== 'null' && existsSync(cafile) ? cafile : undefined;
}

/**
 * Removes the untagged images this build did not use: the first stages of earlier builds (kept
 * as the build cache) and earlier images of a tag built again, which would otherwise pile up on
 * the machine, hundreds of MB a build. An image this build made or took from its cache is
 * named in its output (`--> <id>`), so the next build still finds its cache. Returns how many
 * were removed.
 */
export async function removeImagesUnusedBy(buildOutput: string): Promise<number> {
  const used = [...buildOutput.matchAll(/^--> (?:Using cache )?([0-9a-f]{11,64})$/gm)].map(
    (match) => match[1]!,
  );
  const listed = await podmanOrThrow(['images', '--quiet', '--no-trunc', '--filter', 'dangling=true']);
  const unused = [...new Set(listed.split('\n').map((id) => id.trim().replace(/^sha256:/, '')))].filter(
    (id) => id !== '' && !used.some((short) => id.startsWith(short)),
  );
  let removed = 0;
  // One at a time: an image still used by a container is kept, and the others still go.
  for (const id of unused) if ((await podman(['rmi', id])).code === 0) removed++;
  return removed;
}
