/**
 * `@keel/sdk`: the TypeScript client of Keel (and of any MLflow tracking server).
 *
 * @example
 * import { KeelClient } from '@keel/sdk';
 * const keel = new KeelClient();
 * await keel.withRun({ experiment: 'demo' }, async (run) => run.logMetric('x', 1));
 */
export type {
  ArtifactValue,
  AuditEvent,
  CacheMode,
  ColSpec,
  Dataset,
  DatasetInput,
  DatasetSummary,
  Deployment,
  DeploymentAction,
  DeploymentBatching,
  DeploymentRecording,
  DeploymentResources,
  DeploymentRevision,
  DeploymentRoute,
  DeploymentShadow,
  DeploymentSpec,
  DeploymentSpecInput,
  Execution,
  ExecutionError,
  ExecutionMode,
  ExecutionNode,
  ExecutionState,
  Experiment,
  FileInfo,
  KeyValue,
  LifecycleStage,
  Metric,
  MetricWithRunId,
  MLmodel,
  ModelInput,
  ModelVersion,
  ModelVersionStage,
  ModelVersionStatus,
  NodeCacheStatus,
  NodeState,
  PredictionPayloadKept,
  PredictionRecord,
  RegisteredModel,
  RegisteredModelAlias,
  Run,
  RunData,
  RunInfo,
  RunInputs,
  RunOutputs,
  RunStatus,
  SavedInputExampleInfo,
  Schema,
  Signature,
  TensorDtype,
  TensorSpec,
  ViewType,
  WireDouble,
  WorkflowVersion,
} from '@keel/core';
export {
  ActiveRun,
  type EndStatus,
  type LogInputOptions,
  type LogMetricOptions,
  type RegisterModelOptions,
} from './active-run.js';
export {
  ARTIFACT_PROXY_PREFIX,
  ArtifactLocation,
  joinArtifactPath,
  splitArtifactPath,
} from './artifact-location.js';
export {
  DEFAULT_TRANSFER_CONCURRENCY,
  type TransferOptions,
  type TransferProgress,
} from './artifact-transfer.js';
export {
  type LogBatchInput,
  type MetricInput,
  type ParamsInput,
  type ParamValue,
  planLogBatches,
  type TagsInput,
  type WireBatch,
} from './batch-plan.js';
export { csvRows } from './csv-rows.js';
export {
  type CreateDeploymentOptions,
  DEPLOYMENTS_API_PREFIX,
  type DeploymentPatch,
  DeploymentsClient,
} from './deployments-client.js';
export {
  type ColumnProfile,
  type ColumnType,
  type DescribeDatasetOptions,
  type DescribedDataset,
  describeDataset,
} from './describe-dataset.js';
export {
  AlreadyExistsError,
  apiErrorFromResponse,
  type BufferedMetric,
  EndpointNotFoundError,
  InvalidParameterError,
  KeelApiError,
  KeelConnectionError,
  MetricFlushError,
  ModelRuntimeNotInstalledError,
  NotFoundError,
  NotImplementedError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedArtifactUriError,
} from './errors.js';
export {
  EXECUTIONS_API_PREFIX,
  type ExecutionSummary,
  ExecutionsClient,
  type FollowLogsOptions,
  type LaunchOptions,
  type ListExecutionsOptions,
  type LogChunk,
  type LogEnd,
  type LogLine,
  type LogsOptions,
  type RelaunchOptions,
  type WaitOptions,
} from './executions-client.js';
export { type GitInfo, readGitInfo, withoutCredentials } from './git-info.js';
export {
  type BulkIntervalOptions,
  type CreateExperimentOptions,
  type CreateRunOptions,
  KeelClient,
  type KeelClientOptions,
  type ListAuditEventsOptions,
  type RunPatch,
  type SearchExperimentsOptions,
  type SearchRunsOptions,
  type StartRunOptions,
} from './keel-client.js';
export { DEFAULT_FLUSH_OPTIONS, type FlushOptions } from './metric-buffer.js';
export * from './models/index.js';
export * from './onnx/index.js';
export { collectPages, type Page, paginate } from './paginate.js';
export {
  type ExportPredictionsOptions,
  PREDICTIONS_API_PREFIX,
  type PredictionFilterOptions,
  PredictionsClient,
  type PredictionsPage,
  type SearchPredictionsOptions,
} from './predictions-client.js';
export {
  type CreateModelVersionOptions,
  type CreateRegisteredModelOptions,
  type ModelVersionsPage,
  type RegisteredModelsPage,
  RegistryClient,
  type SearchRegistryOptions,
  type TransitionStageOptions,
  type VersionNumber,
} from './registry-client.js';
export {
  DEFAULT_TRACKING_URI,
  KeelRestClient,
  type KeelRestClientOptions,
  MLFLOW_API_PREFIX,
  type QueryValue,
  type RawRequest,
  type RawResponse,
  type ResolvedRestClientOptions,
  resolveTrackingUri,
} from './rest-client.js';
export { parseServerSentEvents, type ServerSentEvent } from './sse.js';
export {
  collectSystemTags,
  findLockfile,
  LOCKFILE_NAMES,
  SYSTEM_TAG_KEYS,
  type SystemTagsOptions,
} from './system-tags.js';
export {
  credentialHeaders,
  resolveCredentials,
  type TrackingCredentials,
} from './tracking-credentials.js';
export {
  ContentUploader,
  type HashedLocalFile,
  hashFile,
  hashLocalPath,
  type LocalDigest,
  uploadLocalInputs,
  WORKFLOW_DATA_PREFIX,
} from './workflow-data.js';
export * from './workflows/index.js';
export {
  type ListWorkflowsOptions,
  type ListWorkflowVersionsOptions,
  type RegisterSpecResult,
  type WorkflowSummary,
  WorkflowsClient,
  type WorkflowVersionSummary,
} from './workflows-client.js';
