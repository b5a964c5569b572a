export type { AuditEvent } from '@keel/core';
export { type AppOptions, buildApp, MAX_BODY_BYTES } from './app.js';
export { validateArtifactPath } from './artifacts/artifact-path.js';
export type {
  ArtifactObject,
  ArtifactStore,
  FileInfo,
  MultipartUpload,
  PutOptions,
} from './artifacts/artifact-store.js';
export { LocalArtifactStore } from './artifacts/local/local-artifact-store.js';
export { ARTIFACT_STORE_SCHEMES, openArtifactStore } from './artifacts/open-artifact-store.js';
export { S3ArtifactStore, type S3ArtifactStoreOptions } from './artifacts/s3/s3-artifact-store.js';
export {
  AuditLog,
  type AuditLogOptions,
  type AuditSearchQuery,
  type AuditVerifyResult,
  canonicalJson,
  eventHash,
  GENESIS_HASH,
} from './audit/audit-log.js';
export {
  CONFIG_ENV,
  DEFAULT_WEBHOOK_DELIVERY,
  defaultDataDir,
  resolveServerConfig,
  S3_ENV,
  type S3Config,
  type ServerConfig,
  type ServerConfigInput,
  WEBHOOK_ENV,
  type WebhookDeliveryConfig,
} from './config.js';
export {
  buildDeploymentServer,
  type DeploymentServer,
  type DeploymentServerOptions,
} from './deployments/deployment-server.js';
export { type HostDeploymentsOptions, hostDeployments } from './deployments/host-deployments.js';
export {
  DEFAULT_IDLE_EVICT_MS,
  DEFAULT_POLL_INTERVAL_MS,
  type DeploymentArm,
  type DeploymentLease,
  DeploymentRuntime,
  type DeploymentRuntimeOptions,
  type DeploymentRuntimeStatus,
} from './deployments/runtime/index.js';
export {
  FLAVOR_LOADERS,
  type FlavorLoader,
  type LoadModelOptions,
  loadModelFromDirectory,
  SUPPORTED_FLAVORS,
} from './models/load-model.js';
export type { Model, ModelMetadata, ModelOutput, OutputTensor } from './models/model.js';
export {
  DEFAULT_PREDICTION_SAMPLE_RATE,
  type PredictionRecordInput,
  type PredictionRecording,
} from './predictions/prediction-record.js';
export {
  PredictionRecorder,
  type PredictionRecorderLogger,
  type PredictionRecorderOptions,
  type PredictionRecorderStats,
} from './predictions/prediction-recorder.js';
export {
  type PredictionExportFormat,
  type PredictionExportQuery,
  type PredictionSearchQuery,
  PredictionService,
  type PredictionServiceOptions,
} from './predictions/prediction-service.js';
export { type PredictionFilter, PredictionStore } from './predictions/prediction-store.js';
export {
  type CreateDeploymentInput,
  DeploymentService,
  type DeploymentServiceOptions,
  type UpdateDeploymentInput,
} from './services/deployments/deployment-service.js';
export type { GcItemResult, GcOptions } from './services/gc-service.js';
export { createServices, type Services, type ServicesOptions } from './services/services.js';
export { BACKEND_STORE_SCHEMES, migrateToLatest, openStore, type StoreConnection } from './store/database.js';
export { KEEL_VERSION } from './version.js';
