export {
  backoffDelay,
  resolveBackoffPolicy,
  DEFAULT_BACKOFF_POLICY,
  type BackoffPolicy,
} from '../core/backoff.js';
export { decodeJson, type DecodeJsonOptions } from './decode-json.js';
export { validate, type ValidateOptions } from './validate.js';
export { process, type ProcessOptions, type ProcessedEvent } from './process.js';
