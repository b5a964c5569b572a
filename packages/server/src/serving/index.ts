/**
 * `@keel/server/serving`: everything needed to serve a model over HTTP — loading a model directory,
 * the model server app, and its parts (micro-batcher, protocol helpers, metrics). A separate entry
 * point so that callers that do not serve models (the tracking server, `keel runs …`) do not load the
 * model runtime.
 */
export {
  FLAVOR_LOADERS,
  type FlavorLoader,
  type LoadModelOptions,
  loadModelFromDirectory,
  SUPPORTED_FLAVORS,
} from '../models/load-model.js';
export type {
  Model,
  ModelIo,
  ModelMetadata,
  ModelOutput,
  ModelValueInfo,
  OutputTensor,
} from '../models/model.js';
export { type BatchObserver, MicroBatcher, type MicroBatcherOptions } from './batcher.js';
export { enforceParams } from './inference-params.js';
export {
  decodeScoringBody,
  type MlflowScoringRoutesOptions,
  mlflowScoringRoutes,
  readScoringBody,
  SCORING_CONTENT_TYPES,
  type ScoringContentType,
  scoringContentType,
  toPredictions,
} from './mlflow-scoring.js';
export {
  buildModelServer,
  DEFAULT_BATCHING,
  DEFAULT_MAX_QUEUE_ROWS,
  DEFAULT_SERVING_BODY_LIMIT,
  DEFAULT_SERVING_CONCURRENCY,
  type ModelServerOptions,
} from './model-server.js';
export {
  type DecodedInferRequest,
  decodeInferRequest,
  encodeInferResponse,
  type InferModelInfo,
  type InferOutputTensor,
  type InferResponse,
  inferModelInfo,
  installOpenInferenceErrors,
  type ModelMetadataResponse,
  modelTensors,
  OIP_DATATYPES,
  type OipDatatype,
  type OpenInferenceRoutesOptions,
  openInferenceRoutes,
  type PreparedInfer,
  platformOf,
  prepareInfer,
  readInferBody,
  type TensorMetadata,
} from './open-inference.js';
export { retryAfterOn503, type ServedModel, type ServingRouteConfig } from './served-model.js';
export {
  type ServingLabels,
  ServingMetrics,
  type ServingMetricsOptions,
  type ServingProtocol,
} from './serving-metrics.js';
