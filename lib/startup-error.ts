/**
 * What stopped start-up although every value is well-formed, with the setting to check: no
 * Kafka broker answers at KAFKA_BROKERS, METRICS_PORT is taken, the PIPELINE module does not
 * load.
 */
export class StartupError extends Error {
  override readonly name: string = 'StartupError';
  /** The environment variable to check, or several, comma-separated. */
  readonly setting: string;

  constructor(setting: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.setting = setting;
  }
}
