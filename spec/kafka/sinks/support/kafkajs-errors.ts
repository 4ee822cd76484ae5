import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';

/** kafkajs's protocol error for a broker error code, as its response parsers build it. */
export function kafkajsProtocolError(type: string, code: number, retriable: boolean): Error {
  const Protocol = KafkaJSProtocolError as unknown as new (e: object) => Error;
  return new Protocol({ message: type, type, code, retriable });
}

/** What kafkajs's sendBatch rejects with once its retries of `error` ran out. */
export function retriesExceeded(error: Error): Error {
  const Exceeded = KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, o: object) => Error;
  return new Exceeded(error, { retryCount: 5, retryTime: 1000 });
}
