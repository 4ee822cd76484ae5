import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';

/**
 * Resolves the broker's jars with Maven into `.cache/kafka-<hash of the pom>/libs` and returns
 * that folder. A marker file is written last, so an interrupted download is simply redone, and
 * the copy happens in a private folder renamed into place, so concurrent runs never see half a
 * folder.
 */
export function resolveKafkaJars(log: (line: string) => void = () => undefined): string {
  const root = projectRoot();
  const pom = join(root, 'config', 'kafka', 'pom.xml');
  const digest = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12);
  const cacheDir = join(root, '.cache', `kafka-${digest}`);
  const libs = join(cacheDir, 'libs');
  const marker = join(cacheDir, 'complete');
  if (existsSync(marker)) return libs;

  log('Resolving the Kafka broker jars from Maven Central (first run only)...');
  const staging = `${cacheDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      pom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(staging, 'libs')}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (result.error || result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Maven could not resolve the Kafka jars:\n${result.stdout}${result.stderr}${result.error ?? ''}`,
    );
  }
  writeFileSync(join(staging, 'complete'), new Date().toISOString());
  try {
    renameSync(staging, cacheDir);
  } catch (error) {
    // Another run finished first; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(marker)) throw error;
  }
  return libs;
}
