/**
 * A message's headers as every broker carries them: a name to bytes or text, or to several
 * values (Kafka allows a name more than once). The shape of kafkajs's `IHeaders`, so the Kafka
 * adapters hand theirs through as they are, without the core naming a broker client.
 */
export interface MessageHeaders {
  [name: string]: Buffer | string | (Buffer | string)[] | undefined;
}
