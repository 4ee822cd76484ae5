import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../../lib/project-root.js';
import { podmanOrThrow } from './engine.js';

/**
 * Builds an image as `docker build -t <tag> <context>` does, with what this machine needs:
 * the base image never pulled (provideBaseImage made it available), the Docker image format
 * (the OCI format has no HEALTHCHECK), the host's network for `npm ci`, and, where outbound
 * TLS is intercepted (NODE_EXTRA_CA_CERTS names the bundle to trust), that bundle for npm.
 */
export async function buildImage(tag: string, context = projectRoot()): Promise<void> {
  const options = buildOptions();
  try {
    await podmanOrThrow(['build', ...options.args, '-t', tag, context], { timeoutMs: 900_000 });
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
 * npm in the image trusts only Node.js's own CAs. The bundle goes in for the build only, as
 * npm's global configuration (`/usr/local/etc/npmrc`, whose `cafile` names the bundle beside
 * it) mounted read-only over the base image's empty /usr/local/etc: an existing folder, so
 * no mount point is left behind in a layer, and nothing of it is in the image.
 */
function hostCaForNpm(): { args: string[]; remove: () => void } {
  const bundle = process.env.NODE_EXTRA_CA_CERTS?.trim();
  if (!bundle) return { args: [], remove: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'myeventstream-build-ca-'));
  copyFileSync(bundle, join(dir, 'host-ca.pem'));
  writeFileSync(join(dir, 'npmrc'), 'cafile=/usr/local/etc/host-ca.pem\n');
  return {
    args: ['--volume', `${dir}:/usr/local/etc:ro`],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
