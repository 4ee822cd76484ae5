import { identity, pipe } from 'rxjs';
import { decodeJson } from '../operators/decode-json.js';
import { validate } from '../operators/validate.js';
import { definePipeline } from './define-pipeline.js';
import { forwardTo } from './route-to.js';

/** Decode JSON, validate against EVENT_SCHEMA, and forward to OUTPUT_TOPIC when one is set. */
export const defaultPipeline = definePipeline((context) =>
  pipe(
    decodeJson(),
    validate(context.schema),
    context.outputTopic ? forwardTo(context.outputTopic, context) : identity,
  ),
);
