import type { OutgoingMessage } from '../sinks/record-writer.js';

type Send = (subject: string, message: OutgoingMessage) => Promise<void>;

/**
 * The dead letters of NATS messages, written with the same headers as Kafka's (see
 * lib/sinks/dead-letter.ts), the origin in NATS terms: `original_topic` is the subject the
 * message was published on (where a replay publishes it again), `original_stream` the stream
 * that held it and `original_offset` its stream sequence. A NATS delivery's key is its subject
 * (see natsDelivery), which is where the subject comes from here.
 */
export function withNatsOrigin(send: Send): { send: Send } {
  return {
    send: (subject, letter) => {
      const headers = letter.headers ?? {};
      const origin = letter.key === null ? undefined : letter.key.toString();
      return send(subject, {
        ...letter,
        headers: {
          ...headers,
          ...(origin === undefined ? {} : { original_topic: origin }),
          original_stream: headers.original_topic ?? '',
        },
      });
    },
  };
}
