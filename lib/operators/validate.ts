import {
  Ajv,
  type AnySchema,
  type ErrorObject,
  type Options as AjvOptions,
  type ValidateFunction,
} from 'ajv';
import { map, type OperatorFunction } from 'rxjs';
import { errorMessage, StageError, type SchemaViolation } from '../core/errors.js';
import type { Delivery } from '../core/delivery.js';

export interface ValidateOptions {
  /** Extra ajv options (e.g. `formats`); `allErrors` and `strict` are always true. */
  ajv?: Omit<AjvOptions, 'allErrors' | 'strict'>;
  /** Violations kept on the error, so one huge invalid event cannot bloat the DLQ; default 100. */
  maxViolations?: number;
  /** Violations spelled out in the error message; default 3. */
  maxInMessage?: number;
}

/**
 * Checks each delivery's event against a JSON schema. The schema is compiled once, here, by ajv
 * in strict mode, so a typo in it (an unknown keyword or format) fails at startup instead of
 * letting every event pass. ajv knows no `format` by itself: a schema using one needs
 * `{ ajv: { formats } }`, or `{ ajv: { validateFormats: false } }` to keep formats as annotations.
 * An invalid event fails the message with a non-retriable StageError (stage 'validate', code
 * SCHEMA_VIOLATION) listing its violations; a valid one passes on unchanged.
 */
export function validate<E>(
  schema: object | boolean | ValidateFunction,
  options: ValidateOptions = {},
): OperatorFunction<Delivery<unknown>, Delivery<E>> {
  const { ajv: ajvOptions = {}, maxViolations = 100, maxInMessage = 3 } = options;
  const check = typeof schema === 'function' ? (schema as ValidateFunction) : compile(schema, ajvOptions);
  // An $async schema validates through a Promise, which this synchronous check would take for "valid".
  if ('$async' in check && check.$async === true) {
    throw new Error('validate: asynchronous schemas ($async) are not supported');
  }

  return map((delivery) => {
    let valid: boolean;
    try {
      valid = check(delivery.event);
    } catch (error) {
      // A validator that throws (a custom keyword's bug) cannot vouch for the event either.
      throw violation(`schema validation threw: ${errorMessage(error)}`, [], error);
    }
    if (valid) return delivery as Delivery<E>;
    // ajv reuses `errors` on the next call: copy what we need now.
    const all = (check.errors ?? []).map(toViolation);
    const listed = all.slice(0, maxInMessage).map((v) => `${v.path} ${v.message}`);
    if (all.length > maxInMessage) listed.push(`and ${all.length - maxInMessage} more`);
    throw violation(`event violates schema: ${listed.join('; ')}`, all.slice(0, maxViolations));
  });
}

function compile(
  schema: object | boolean,
  options: Omit<AjvOptions, 'allErrors' | 'strict'>,
): ValidateFunction {
  try {
    return new Ajv({ ...options, allErrors: true, strict: true }).compile(schema as AnySchema);
  } catch (error) {
    throw new Error(`validate: schema does not compile: ${errorMessage(error)}`, { cause: error });
  }
}

function toViolation(error: ErrorObject): SchemaViolation {
  const extra = error.params['additionalProperty'];
  const message = error.message ?? error.keyword;
  return {
    path: error.instancePath || '/',
    keyword: error.keyword,
    // ajv's message leaves out which property was extra; the DLQ reader needs it.
    message: typeof extra === 'string' ? `${message} '${extra}'` : message,
  };
}

function violation(message: string, violations: SchemaViolation[], cause?: unknown): StageError {
  return new StageError(message, {
    stage: 'validate',
    code: 'SCHEMA_VIOLATION',
    retriable: false,
    violations,
    cause,
  });
}
