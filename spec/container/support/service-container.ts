import { podman, podmanOrThrow } from './engine.js';

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface StartOptions {
  /** The service's settings. */
  env: Record<string, string>;
  /** `podman run --volume` values, e.g. `/host/folder:/pipelines:ro`. */
  volumes?: string[];
  /** Replaces the image's CMD. */
  command?: string[];
}

/**
 * One container of an image, run as an orchestrator would with the service's settings as its
 * environment, on the host's network (the test broker listens on the host's loopback).
 */
export class ServiceContainer {
  private constructor(readonly name: string) {}

  /** `podman run -d` of `image` as `name`. */
  static async start(image: string, name: string, options: StartOptions): Promise<ServiceContainer> {
    await podman(['rm', '--force', '--ignore', name]);
    const envArgs = Object.entries(options.env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
    const volumeArgs = (options.volumes ?? []).flatMap((volume) => ['--volume', volume]);
    await podmanOrThrow([
      'run',
      '--detach',
      '--name',
      name,
      '--network',
      'host',
      ...envArgs,
      ...volumeArgs,
      image,
      ...(options.command ?? []),
    ]);
    return new ServiceContainer(name);
  }

  /** Starts the stopped container again: same image, settings and consumer group. */
  async restart(): Promise<void> {
    await podmanOrThrow(['start', this.name]);
  }

  /** The container's stdout: the service's JSON log lines (others as level "raw"). */
  async logLines(): Promise<LogLine[]> {
    const { stdout } = await podman(['logs', this.name]);
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as LogLine;
        } catch {
          return { level: 'raw', message: line };
        }
      });
  }

  /** What the container wrote to stderr (Node.js warnings land there). */
  async stderr(): Promise<string> {
    return (await podman(['logs', this.name])).stderr;
  }

  /** Resolves with the `nth` log line (1-based) matching, or throws when the container stops first. */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 90_000, nth = 1): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await this.logLines();
      const found = lines.filter(predicate)[nth - 1];
      if (found) return found;
      const running = await this.isRunning();
      if (!running || Date.now() > deadline) {
        throw new Error(
          `log line not seen (running: ${running}); last lines: ${JSON.stringify(lines.slice(-5))}; stderr: ${await this.stderr()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async isRunning(): Promise<boolean> {
    return (await this.inspect('{{.State.Running}}')) === 'true';
  }

  async exitCode(): Promise<number> {
    return Number(await this.inspect('{{.State.ExitCode}}'));
  }

  /** `podman inspect --format`, trimmed. */
  async inspect(format: string): Promise<string> {
    return (await podmanOrThrow(['inspect', '--format', format, this.name])).trim();
  }

  /** `podman healthcheck run`: the image's HEALTHCHECK, run now (no systemd runs it on a timer here). */
  async healthcheck(): Promise<{ healthy: boolean; output: string }> {
    const result = await podman(['healthcheck', 'run', this.name]);
    return { healthy: result.code === 0, output: `${result.stdout}${result.stderr}`.trim() };
  }

  /** A command run in the container (as its user), its stdout. */
  async exec(command: string[]): Promise<string> {
    return podmanOrThrow(['exec', this.name, ...command]);
  }

  /** `podman stop -t <grace>`: SIGTERM (the image's STOPSIGNAL), SIGKILL after the grace. */
  async stop(graceSeconds: number): Promise<void> {
    await podmanOrThrow(['stop', '--time', String(graceSeconds), this.name], {
      timeoutMs: (graceSeconds + 30) * 1000,
    });
  }

  async remove(): Promise<void> {
    await podman(['rm', '--force', '--ignore', this.name]);
  }
}
