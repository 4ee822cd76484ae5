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

/**
 * The stage each code is raised in, and whether the message then goes to the DLQ; every code
 * must be listed. Metrics pre-create a dead-letter series for exactly the pairs that can
 * happen, and a spec raises each code through the code that raises it and checks this table.
 */
export const RAISED_IN: Readonly<Record<ErrorCode, { stage: Stage; deadLettered: boolean }>> = {
  // decodeJson (lib/operators/decode-json.ts)
  EMPTY_VALUE: { stage: 'decode', deadLettered: true },
  INVALID_UTF8: { stage: 'decode', deadLettered: true },
  INVALID_JSON: { stage: 'decode', deadLettered: true },
  JSON_TOO_DEEP: { stage: 'decode', deadLettered: true },
  // validate (lib/operators/validate.ts)
  SCHEMA_VIOLATION: { stage: 'validate', deadLettered: true },
  // process (lib/operators/process.ts), also any error that is not a StageError (classify in
  // lib/sinks/dead-letter.ts); mapEvents rejects with PROCESS_REJECTED, routeTo/forwardTo
  // fail with OUTPUT_WRITE_FAILED.
  PROCESS_FAILED: { stage: 'process', deadLettered: true },
  PROCESS_TIMEOUT: { stage: 'process', deadLettered: true },
  PROCESS_REJECTED: { stage: 'process', deadLettered: true },
  OUTPUT_WRITE_FAILED: { stage: 'process', deadLettered: true },
  // process, when its partition is revoked (or shutdown gives up) during a retry: the message
  // is abandoned, left uncommitted and delivered again, never dead-lettered.
  REVOKED: { stage: 'process', deadLettered: false },
};

/** The stage and code pairs a dead letter can carry. */
export const DEAD_LETTER_KINDS: ReadonlyArray<{ stage: Stage; code: ErrorCode }> = ERROR_CODES.filter(
  (code) => RAISED_IN[code].deadLettered,
).map((code) => ({ stage: RAISED_IN[code].stage, code }));

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
