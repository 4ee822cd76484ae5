import { Kafka, logLevel, type SASLOptions } from 'kafkajs';

export interface WaitOptions {
  timeoutMs?: number;
  /** Checked between attempts, so a broker process that died ends the wait at once. */
  isAlive?: () => boolean;
  /** Authenticate with these credentials (a SASL_PLAINTEXT listener). */
  sasl?: SASLOptions;
}

/** Resolves once the broker answers a metadata request (describeCluster). */
export async function waitForBroker(bootstrap: string, options: WaitOptions = {}): Promise<void> {
  const { timeoutMs = 60_000, isAlive = () => true, sasl } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the broker process at ${bootstrap} exited while starting`);
    if (await answersMetadata(bootstrap, sasl).catch((error: unknown) => ((lastError = error), false)))
      return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the broker at ${bootstrap} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

export async function answersMetadata(bootstrap: string, sasl?: SASLOptions): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'myeventstream-probe',
    brokers: [bootstrap],
    ...(sasl ? { sasl } : {}),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
