#!/usr/bin/env node
import { ignoreKafkajsNegativeTimeouts } from '../kafka/negative-timeout-warning.js';
import { EXIT } from './errors.js';
import { streamIo } from './io.js';
import { runCli } from './run.js';

/**
 * `myeventstream` (package.json "bin"). The first SIGINT/SIGTERM asks the command to stop
 * after the message in hand (a replay finishes its write and commit, then exits 130/143); a
 * second one exits at once.
 */
ignoreKafkajsNegativeTimeouts();

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted) process.exit(signal === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT);
    process.stderr.write(`${signal}: stopping after the message in hand (again to exit at once)\n`);
    controller.abort(signal);
  });
}

const status = await runCli(process.argv.slice(2), {
  io: streamIo(process.stdout, process.stderr),
  env: process.env,
  signal: controller.signal,
}).catch((error: unknown) => {
  process.stderr.write(
    `myeventstream: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  return EXIT.FAILURE;
});
process.exitCode = status;
// kafkajs may leave a timer behind; nothing is left to flush once runCli returned.
setTimeout(() => process.exit(status), 1000).unref();
