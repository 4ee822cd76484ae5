import { ServiceProcess } from '../../integration/support/service-process.js';
import { sleep } from '../../integration/support/topic-reader.js';

const JOINED = 'Joined the consumer group';

/**
 * A fixed number of service processes in one group. A process SIGKILLed by `killOne` is
 * replaced at once, so the group is back to full strength as soon as the replacement joins.
 */
export class ServiceFleet {
  /** Every process started, killed ones included (their logs explain a failure). */
  readonly all: ServiceProcess[] = [];
  private readonly running: ServiceProcess[] = [];
  private readonly exits = new Map<ServiceProcess, { code: number | null; signal: NodeJS.Signals | null }>();
  private started = 0;
  kills = 0;

  constructor(
    private readonly env: Record<string, string>,
    size: number,
    private readonly random: () => number = Math.random,
  ) {
    for (let i = 0; i < size; i++) this.running.push(this.start());
  }

  /** Resolves once every running process has joined the group at least once. */
  async joined(timeoutMs = 90_000): Promise<void> {
    await Promise.all(this.running.map((s) => s.waitForLog((line) => line.message === JOINED, timeoutMs)));
  }

  /**
   * After `delayMs`, SIGKILLs a random running process and starts its replacement; resolves
   * once the killed one is gone (not waiting for the replacement to join).
   */
  async killOne(delayMs = 0): Promise<void> {
    await sleep(delayMs);
    const victim = this.running.splice(Math.floor(this.random() * this.running.length), 1)[0]!;
    victim.kill('SIGKILL');
    await victim.exited;
    this.kills += 1;
    this.running.push(this.start());
  }

  /** Fails if a process died of anything but our SIGKILL. */
  assertAlive(): void {
    const dead = this.running.find((s) => this.exits.has(s));
    if (dead)
      throw new Error(`a service process exited (${JSON.stringify(this.exits.get(dead))}): ${tail(dead)}`);
  }

  /** SIGTERM to every running process; resolves with their exits. */
  async stop(): Promise<Array<{ code: number | null; signal: NodeJS.Signals | null }>> {
    for (const service of this.running) service.kill('SIGTERM');
    return Promise.all(this.running.map((s) => s.exited));
  }

  /** SIGKILL to anything still running (after hooks). */
  async killAll(): Promise<void> {
    for (const service of this.all) service.kill('SIGKILL');
    await Promise.all(this.all.map((s) => s.exited));
  }

  private start(): ServiceProcess {
    this.started += 1;
    const name = `${this.env.KAFKA_CLIENT_ID ?? 'service'}-${this.started}`;
    const service = new ServiceProcess({ ...this.env, KAFKA_CLIENT_ID: name, SERVICE_NAME: name });
    this.all.push(service);
    void service.exited.then((exit) => this.exits.set(service, exit));
    return service;
  }
}

export function tail(service: ServiceProcess): string {
  return `stderr: ${service.stderr.join('').slice(-2000)}; last lines: ${JSON.stringify(service.lines.slice(-5))}`;
}
