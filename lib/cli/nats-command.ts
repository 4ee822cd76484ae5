import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/load-config.js';
import { errorMessage } from '../core/errors.js';
import { natsSettings } from '../nats/nats-settings.js';
import type { Command } from './args.js';
import { CliFailure, EXIT } from './errors.js';
import type { Io } from './io.js';
import { inspectNats } from './nats-inspect.js';
import { replayNats } from './nats-replay.js';
import { renderReplay } from './replay.js';

/** `myeventstream dlq <command>` with BROKER=nats: inspect and replay read the dead-letter subject's stream. */
export async function runNatsCommand(
  command: Exclude<Command, { kind: 'help' }>,
  config: Config,
  context: { io: Io; signal: AbortSignal },
): Promise<number> {
  const { io, signal } = context;
  const { options } = command;
  const brokerFlag =
    options.brokers !== undefined
      ? '--brokers'
      : 'targetBrokers' in options && options.targetBrokers !== undefined
        ? '--target-brokers'
        : undefined;
  if (brokerFlag !== undefined) {
    // Kafka brokers mean nothing to a NATS server: taking them silently would read elsewhere.
    io.err(`myeventstream: ${brokerFlag} does not apply with BROKER=nats; set NATS_URL\n`);
    return EXIT.USAGE;
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
    if (command.kind === 'replay') {
      const { result, failure } = await replayNats(
        command.options,
        { dlqSubject: config.dlq.topic, servers },
        io,
        signal,
      );
      await io.out(command.options.json ? `${JSON.stringify(result, null, 2)}\n` : renderReplay(result));
      if (failure) {
        io.err(`myeventstream: ${failure.message}\n`);
        return EXIT.FAILURE;
      }
      if (result.outcome !== 'stopped') return EXIT.OK;
      return signal.reason === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT;
    }
    const outcome = await inspectNats(command.options, { dlqSubject: config.dlq.topic, servers }, io, signal);
    if (outcome !== 'stopped') return EXIT.OK;
    return signal.reason === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT;
  } catch (error) {
    const message = error instanceof CliFailure ? error.message : `unexpected error: ${errorMessage(error)}`;
    io.err(`myeventstream: ${message}\n`);
    return EXIT.FAILURE;
  }
}
