import type { Setting } from './schema.js';

/**
 * A wrong configuration value. The message is one line naming the environment variable, so
 * the start-up log says at a glance what to fix.
 */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
  /** The environment variable to fix: given, or the one the message opens with. */
  readonly setting: string | undefined;

  constructor(message: string, options?: { cause?: unknown; setting?: string }) {
    // Convict, ajv and JSON.parse messages may span lines; a log line must not.
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim(), options);
    this.setting = options?.setting ?? /^([A-Z][A-Z0-9_]+)\b/.exec(this.message)?.[1];
  }

  /** `<ENV> must be <accepts> (got <value>)`; the value of a sensitive setting is left out. */
  static invalid(setting: Pick<Setting, 'env' | 'accepts' | 'sensitive'>, got: string): ConfigError {
    const shown = setting.sensitive === true ? '' : ` (got ${got})`;
    return new ConfigError(`${setting.env} must be ${setting.accepts}${shown}`);
  }
}
