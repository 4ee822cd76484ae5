/** Exit statuses of the CLI. */
export const EXIT = {
  OK: 0,
  /** A runtime failure: broker unreachable, topic missing, a write or commit refused. */
  FAILURE: 1,
  /** A bad flag or configuration value: nothing was attempted. */
  USAGE: 2,
  /** Stopped by SIGINT / SIGTERM (128 + signal number), after finishing the message in flight. */
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/** A bad command line; the usage text of `command` is printed with it. Exit status 2. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** A failure the operator can act on, said in one line (no stack). Exit status 1. */
export class CliFailure extends Error {
  override readonly name: string = 'CliFailure';
}
