import { ConfigError } from '../config/config-error.js';
import { loadConfig, type Config } from '../config/load-config.js';
import { errorMessage } from '../core/errors.js';
import { parseCommand, type Command } from './args.js';
import { CliFailure, EXIT, UsageError } from './errors.js';
import { inspect } from './inspect.js';
import { runNatsCommand } from './nats-command.js';
import type { Io } from './io.js';
import { renderReplay, replay } from './replay.js';
import { cliSettings, type CliSettings } from './settings.js';

export interface CliContext {
  io: Io;
  env: NodeJS.ProcessEnv;
  /** Aborted with the signal's name ('SIGINT' or 'SIGTERM') as reason. */
  signal: AbortSignal;
}

/** Runs `myeventstream <argv>` and returns the exit status; never throws. */
export async function runCli(argv: string[], context: CliContext): Promise<number> {
  const { io } = context;
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`myeventstream: ${error.message}\n\n${error.usage}`);
    return EXIT.USAGE;
  }
  if (command.kind === 'help') {
    await io.out(command.text);
    return EXIT.OK;
  }
  let settings: CliSettings;
  let config: Config;
  try {
    config = loadConfig(context.env);
    settings = cliSettings(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`Invalid configuration: ${error.message}\n`);
    return EXIT.USAGE;
  }
  if (config.broker === 'nats') return runNatsCommand(command, config, context);
  try {
    if (command.kind === 'inspect') {
      const outcome = await inspect(command.options, settings, io, context.signal);
      return outcome === 'stopped' ? interrupted(context.signal) : EXIT.OK;
    }
    const { result, failure } = await replay(command.options, settings, io, context.signal);
    await io.out(command.options.json ? `${JSON.stringify(result, null, 2)}\n` : renderReplay(result));
    if (failure) {
      io.err(`myeventstream: ${failure.message}\n`);
      return EXIT.FAILURE;
    }
    return result.outcome === 'stopped' ? interrupted(context.signal) : EXIT.OK;
  } catch (error) {
    const message = error instanceof CliFailure ? error.message : `unexpected error: ${errorMessage(error)}`;
    io.err(`myeventstream: ${message}\n`);
    return EXIT.FAILURE;
  }
}

function interrupted(signal: AbortSignal): number {
  return signal.reason === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT;
}
