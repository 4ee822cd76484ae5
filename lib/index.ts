/**
 * The public API for pipeline authors: the stage operators, the pipeline declaration and the
 * errors a pipeline may throw.
 */
export { decodeJson } from './operators/decode-json.js';
export { validate } from './operators/validate.js';
export { process, type ProcessOptions } from './operators/process.js';
export { backoffDelay, type BackoffPolicy } from './core/backoff.js';
export { filterEvents } from './operators/filter-events.js';
export { mapEvents } from './operators/map-events.js';
export { enrich } from './operators/enrich.js';
export {
  forwardTo,
  routeTo,
  type RouteOptions,
  type RouteValue,
  type TopicChoice,
} from './pipeline/route-to.js';
export {
  definePipeline,
  type Pipeline,
  type PipelineChain,
  type PipelineContext,
} from './pipeline/define-pipeline.js';
export { defaultPipeline } from './pipeline/default-pipeline.js';
export type { Delivery, DeliveryHooks, WorkerSlot } from './core/delivery.js';
export type { OutgoingMessage } from './sinks/batching-producer.js';
export {
  PermanentError,
  StageError,
  ERROR_CODES,
  STAGES,
  type ErrorCode,
  type Stage,
  type SchemaViolation,
} from './core/errors.js';
