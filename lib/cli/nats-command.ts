import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/load-config.js';
import { errorMessage } from '../core/errors.js';
import { natsSettings } from '../nats/nats-settings.js';
import type { Command } from './args.js';
import { CliFailure, EXIT } from './errors.js';
import type { Io } from './io.js';
import { inspectNats } from './nats-inspect.js';

/** `myeventstream dlq <command>` with BROKER=nats: inspect reads the dead-letter subject's stream. */
export async function runNatsCommand(
  command: Exclude<Command, { kind: 'help' }>,
  config: Config,
  context: { io: Io; signal: AbortSignal },
): Promise<number> {
  const { io, signal } = context;
  if (command.kind === 'replay') {
    io.err('myeventstream: dlq replay is not available with BROKER=nats yet; use dlq inspect\n');
    return EXIT.FAILURE;
  }
  let servers: string[];
  try {
    servers = natsSettings(config).servers;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`Invalid configuration: ${error.message}\n`);
    return EXIT.USAGE;
  }
  try {
    const outcome = await inspectNats(command.options, { dlqSubject: config.dlq.topic, servers }, io, signal);
    if (outcome !== 'stopped') return EXIT.OK;
    return signal.reason === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT;
  } catch (error) {
    const message = error instanceof CliFailure ? error.message : `unexpected error: ${errorMessage(error)}`;
    io.err(`myeventstream: ${message}\n`);
    return EXIT.FAILURE;
  }
}
