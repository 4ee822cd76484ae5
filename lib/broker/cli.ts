import { ignoreKafkajsNegativeTimeouts } from '../kafka/negative-timeout-warning.js';
import { startLocalBroker, stopLocalBroker } from './local-broker.js';

// kafkajs's harmless warning at every connection (see the module), here from the broker checks.
ignoreKafkajsNegativeTimeouts();

/** `npm run kafka:start` / `npm run kafka:stop`: the developer's long-running local broker. */
async function main(command: string | undefined): Promise<void> {
  const log = (line: string) => console.error(line);
  if (command === 'start') {
    console.log(await startLocalBroker(log));
  } else if (command === 'stop') {
    console.error(
      (await stopLocalBroker()) ? 'Local Kafka broker stopped' : 'No local Kafka broker was running',
    );
  } else {
    console.error('usage: broker/cli (start|stop)');
    process.exitCode = 2;
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
