import type { JetStreamClient } from '@nats-io/jetstream';
import type { OutgoingMessage } from '../sinks/record-writer.js';
import { publishHeaders } from './nats-headers.js';

const EMPTY = new Uint8Array(0);

/**
 * Writes messages to subjects with JetStream publish: a write resolves once the stream that
 * holds the subject acknowledged it (stored), and rejects when none did (no stream takes the
 * subject, or it timed out). It has the `send` of the Kafka sinks' BatchingProducer, so the
 * pipeline's `produce` and the dead-letter sink use it unchanged. The client sends publishes of
 * many messages on one connection without waiting for each other, so no batching is needed.
 * A NATS message has no key: the key is not written.
 */
export class NatsPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly timeoutMs = 5000,
  ) {}

  async send(subject: string, message: OutgoingMessage): Promise<void> {
    const { value } = message;
    const data = value === null ? EMPTY : typeof value === 'string' ? value : new Uint8Array(value);
    const headers = publishHeaders(message.headers);
    await this.js.publish(subject, data, { timeout: this.timeoutMs, ...(headers ? { headers } : {}) });
  }
}
