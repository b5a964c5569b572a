/**
 * What the deployment runtime tells about each deployment besides leasing it: which revision it
 * should serve, which one it serves, and why they differ. Read by the `/deployments/{name}/ready`
 * route and reported to the deployment metrics.
 */
import type { RestartPolicy } from '../../models/restart-backoff.js';

/**
 * Where a deployment stands:
 * - `loading`: what it should serve is being loaded, and nothing failed yet (an older snapshot, if
 *   any, keeps answering meanwhile);
 * - `serving`: it serves what it should (its latest revision, with every reference as resolved now);
 * - `degraded`: the latest revision (or where an alias or stage points now) failed to resolve or
 *   load, and an older snapshot keeps answering;
 * - `failed`: nothing loaded at all, and the latest attempt failed.
 */
export type DeploymentServingState = 'loading' | 'serving' | 'degraded' | 'failed';

/** One served arm, as the status reports it. */
export interface DeploymentStatusArm {
  /** Route name, or `shadow`. */
  readonly name: string;
  readonly model_name: string;
  readonly model_version: string;
  /** sha256 of the version's files (see `materializeModel`). */
  readonly model_digest: string;
}

/** The latest failed attempt to bring a deployment up to date. */
export interface DeploymentLoadError {
  /** What failed and why, e.g. `cannot load its models: …`. */
  readonly message: string;
  /** The deployment revision the attempt was for. */
  readonly revision: number;
  /** When the latest attempt failed, in milliseconds since the epoch. */
  readonly at: number;
}

/** What the runtime knows about one deployment (a JSON body as `/deployments/{name}/ready` sends it). */
export interface DeploymentRuntimeStatus {
  readonly deployment: string;
  /** The deployment's latest revision, the one the runtime tries to serve. */
  readonly desired_revision: number;
  /** The revision whose snapshot answers requests; absent while nothing is loaded. */
  readonly serving_revision?: number;
  readonly state: DeploymentServingState;
  /** Arms of the serving snapshot (routes in the spec's order, then the shadow); empty when none. */
  readonly arms: readonly DeploymentStatusArm[];
  /** Present in the `degraded` and `failed` states. */
  readonly error?: DeploymentLoadError;
}

/** Reads deployment statuses: the deployment runtime. */
export interface DeploymentStatusSource {
  /** The status of deployment `name`; `undefined` when the runtime does not host it. */
  statusOf(name: string): DeploymentRuntimeStatus | undefined;
}

/** Told by the runtime of every failed attempt and every change of state (the deployment metrics). */
export interface DeploymentStatusObserver {
  /** One attempt to resolve or load deployment `deployment` failed. */
  loadFailed(deployment: string): void;
  /** `deployment` entered `state`; `undefined` when the runtime stopped hosting it. */
  stateChanged(deployment: string, state: DeploymentServingState | undefined): void;
}

/**
 * How the runtime retries a load that failed (see `RestartBackoff`): the first retry at the next
 * poll, then after 5 s, 10 s, 20 s, … up to 5 min between attempts. Failures are remembered for an
 * hour, so a deployment that keeps failing stays at the slow pace instead of starting over.
 */
export const DEFAULT_LOAD_RETRY_POLICY: Readonly<Required<RestartPolicy>> = Object.freeze({
  initialDelayMs: 5_000,
  maxDelayMs: 300_000,
  windowMs: 3_600_000,
});
