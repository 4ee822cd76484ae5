import { spawnSync } from 'node:child_process';
import { BrokerUnavailableError } from '../kafka/broker-unavailable-error.js';

const MIN_JAVA = 17;

const HOW_TO_FIX =
  'Install Java 17+ and Maven (e.g. `apt-get install openjdk-17-jre-headless maven`), ' +
  'start a container runtime, or set KAFKA_BROKERS to a running Kafka broker.';

/** The major version printed by `java -version`, or undefined when there is no java. */
export function javaMajorVersion(): number | undefined {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(result.stderr + result.stdout);
  if (!match) return undefined;
  const major = Number(match[1]);
  // Java 8 and older print "1.8.0_xyz".
  return major === 1 ? Number(match[2]) : major;
}

export function hasMaven(): boolean {
  const result = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  return !result.error && result.status === 0;
}

/** Throws one clear message when the JVM broker cannot be run on this machine. */
export function assertJavaToolchain(): void {
  const java = javaMajorVersion();
  if (java === undefined)
    throw new BrokerUnavailableError(`No Kafka broker available: java not found. ${HOW_TO_FIX}`);
  if (java < MIN_JAVA) {
    throw new BrokerUnavailableError(`No Kafka broker available: java ${java} is too old. ${HOW_TO_FIX}`);
  }
  if (!hasMaven())
    throw new BrokerUnavailableError(`No Kafka broker available: mvn not found. ${HOW_TO_FIX}`);
}
