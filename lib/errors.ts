import { isFetchNetworkFailure } from './network-failure.js';

/**
 * Every failure the service knows, in one closed set. The code travels into dead-letter
 * headers, log fields and metric labels, so it must stay small and stable.
 */
export const ERROR_CODES = [
  'EMPTY_VALUE',
  'INVALID_UTF8',
  'INVALID_JSON',
  'JSON_TOO_DEEP',
  'SCHEMA_VIOLATION',
  'PROCESS_FAILED',
  'PROCESS_TIMEOUT',
  'PROCESS_REJECTED',
  'OUTPUT_WRITE_FAILED',
  'REVOKED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Where in the per-message chain a failure happened. */
export const STAGES = ['decode', 'validate', 'process'] as const;
export type Stage = (typeof STAGES)[number];

/** One schema violation as reported by the validator. */
export interface SchemaViolation {
  path: string;
  keyword: string;
  message: string;
}

export interface StageErrorOptions {
  stage: Stage;
  code: ErrorCode;
  retriable: boolean;
  cause?: unknown;
  /** How many times the stage ran before giving up (1 = no retry). */
  attempts?: number;
  violations?: SchemaViolation[];
}

/** A failure of one message in one stage; decides whether it is retried and what the DLQ says. */
export class StageError extends Error {
  override readonly name: string = 'StageError';
  readonly stage: Stage;
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly attempts: number;
  readonly violations: SchemaViolation[] | undefined;

  constructor(message: string, options: StageErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.stage = options.stage;
    this.code = options.code;
    this.retriable = options.retriable;
    this.attempts = options.attempts ?? 1;
    this.violations = options.violations;
  }
}

/**
 * Thrown by a pipeline's own code for a failure that retrying cannot fix (a referenced record
 * does not exist, a business rule rejects the event): the message goes to the DLQ at once.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Whether a failure from user code may succeed on a later attempt. PermanentError and
 * non-retriable StageErrors never do; TypeError, RangeError and friends are programming bugs,
 * which retries only delay, so they count as permanent too, except the TypeError by which
 * `fetch` reports a server it could not reach (ECONNREFUSED, ETIMEDOUT, ENOTFOUND...).
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof PermanentError) return false;
  if (error instanceof StageError) return error.retriable;
  if (isFetchNetworkFailure(error)) return true;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return false;
  if (error instanceof ReferenceError) return false;
  return true;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
