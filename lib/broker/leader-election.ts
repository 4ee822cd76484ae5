import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import { resolveKafkaJars } from './kafka-jars.js';

export interface ElectionResult {
  /** Partitions whose leadership moved to their preferred replica. */
  elected: number;
  /** Partitions already led by their preferred replica. */
  notNeeded: number;
  /** One line per partition the election failed for (e.g. its preferred replica out of sync). */
  failures: string[];
}

/**
 * A preferred-leader election over every partition of the cluster at `bootstrap`, which
 * kafkajs's admin client cannot ask for: Kafka's own admin client does it, from a one-file
 * Java program run against the broker's jars (a JVM start and a compile: a few seconds).
 */
export async function electPreferredLeaders(bootstrap: string): Promise<ElectionResult> {
  const program = join(projectRoot(), 'config', 'kafka', 'ElectPreferredLeaders.java');
  const classpath = join(resolveKafkaJars(), '*');
  const { code, stdout, stderr } = await run('java', ['-cp', classpath, program, bootstrap]);
  const [summary = '', ...failures] = stdout.trim().split('\n');
  const counts = /^elected=(\d+) not-needed=(\d+) failed=(\d+)$/.exec(summary);
  if (code !== 0 || !counts)
    throw new Error(`The preferred-leader election failed (exit ${code}):\n${stdout}${stderr}`);
  return { elected: Number(counts[1]), notNeeded: Number(counts[2]), failures };
}

function run(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
