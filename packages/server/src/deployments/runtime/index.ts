/**
 * The deployment runtime: stored deployments turned into loaded, warmed, shared model arms that the
 * serving routes lease one request at a time.
 */

export {
  DEFAULT_POLL_INTERVAL_MS,
  DeploymentRuntime,
  type DeploymentRuntimeOptions,
  type RuntimeLogger,
} from './deployment-runtime.js';
export {
  type ArmLabels,
  type BatchObserverFactory,
  type DeploymentArm,
  type DeploymentLease,
  DeploymentSnapshot,
} from './deployment-snapshot.js';
export type { DeploymentSource } from './deployment-source.js';
export {
  DEFAULT_LOAD_RETRY_POLICY,
  type DeploymentLoadError,
  type DeploymentRuntimeStatus,
  type DeploymentServingState,
  type DeploymentStatusArm,
  type DeploymentStatusObserver,
  type DeploymentStatusSource,
} from './deployment-status.js';
export {
  type CachedModel,
  DEFAULT_IDLE_EVICT_MS,
  type LoadedModelInfo,
  ModelCache,
  type ModelCacheOptions,
  type ModelVersionRef,
} from './model-cache.js';
export { type MaterializedModel, MODEL_DIGEST_ALGORITHM, materializeModel } from './model-materializer.js';
export { warmUpModel } from './warm-up.js';
