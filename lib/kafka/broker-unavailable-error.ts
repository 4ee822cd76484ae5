/** No broker could be found or started; the message says what to install or set. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}
