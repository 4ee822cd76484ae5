import { spawnSync } from 'node:child_process';
import { run, useContainersConf, type CommandResult } from './engine.js';

/** Whether podman-compose is on the PATH. */
export function hasPodmanCompose(): boolean {
  return spawnSync('podman-compose', ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `podman-compose -p <project> …` on the project's docker-compose.yml, with `env` added to the
 * environment (the compose file's ${VARIABLES}; undefined removes one).
 */
export function podmanCompose(
  project: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CommandResult> {
  useContainersConf();
  return run('podman-compose', ['-p', project, ...args], { env, timeoutMs: 600_000 });
}

/** One `podman run` that `podman-compose --dry-run up` printed: the service and its arguments. */
export interface PlannedContainer {
  service: string;
  args: string[];
}

/**
 * The containers a dry run would start, in its order. podman-compose 1.0 prints each as one
 * line, `podman run --name=<project>_<service>_1 …`, its arguments joined by spaces.
 */
export function plannedContainers(project: string, stdout: string): PlannedContainer[] {
  const prefix = `podman run --name=${project}_`;
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => {
      const args = line.slice('podman run '.length).split(' ');
      const service = args[0]!.slice(`--name=${project}_`.length).replace(/_\d+$/, '');
      return { service, args };
    });
}
