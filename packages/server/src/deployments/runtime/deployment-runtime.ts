/**
 * Keeps every stored deployment loaded and current: resolves each arm's registry URI to a version,
 * loads what changed, and swaps snapshots atomically while the old ones drain.
 */
import {
  type Deployment,
  invalidParameter,
  KeelError,
  notFound,
  parseModelUri,
  SHADOW_ARM,
} from '@keel/core';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import type { LoadModelOptions } from '../../models/load-model.js';
import { RestartBackoff, type RestartPolicy } from '../../models/restart-backoff.js';
import type { RegistryService } from '../../services/registry/registry-service.js';
import {
  type ArmPlan,
  type BatchObserverFactory,
  type DeploymentArm,
  type DeploymentLease,
  DeploymentSnapshot,
  planKey,
  type SnapshotPlan,
} from './deployment-snapshot.js';
import type { DeploymentSource } from './deployment-source.js';
import {
  DEFAULT_LOAD_RETRY_POLICY,
  type DeploymentLoadError,
  type DeploymentRuntimeStatus,
  type DeploymentServingState,
  type DeploymentStatusArm,
  type DeploymentStatusObserver,
  type DeploymentStatusSource,
} from './deployment-status.js';
import { DEFAULT_IDLE_EVICT_MS, type LoadedModelInfo, ModelCache } from './model-cache.js';

/** How often the runtime re-reads deployments and re-resolves floating references. @default 2000 ms */
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/** Where the runtime logs (pino's and Fastify's `log` fit). */
export interface RuntimeLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Options of {@link DeploymentRuntime}; resolved once and frozen. */
export interface DeploymentRuntimeOptions {
  /** The deployments to host (`services.deployments`). */
  deployments: DeploymentSource;
  /** Resolves `models:/` URIs (aliases, stages, `latest`) to versions. */
  registry: Pick<RegistryService, 'resolveModelUri'>;
  /** Holds the registry's copies of version files. */
  artifacts: ArtifactStore;
  /** Local folder versions are copied into before loading (see `ModelCache`). */
  cacheDir: string;
  /** Interval between re-reads of deployments and the registry. @default DEFAULT_POLL_INTERVAL_MS */
  pollIntervalMs?: number;
  /** How long a model no snapshot uses stays loaded. @default DEFAULT_IDLE_EVICT_MS */
  idleEvictMs?: number;
  /** Options for every model load (`name` and `workers` are set per version). @default {} */
  loadOptions?: LoadModelOptions;
  /** Batch observer of each arm (metrics by deployment and model version). @default none */
  batchObserver?: BatchObserverFactory;
  /** @default a logger that drops everything */
  logger?: RuntimeLogger;
  /**
   * Pace of the retries of a plan that failed to load (the same versions are not loaded again
   * before the delay is over; a plan that changed is tried at once). @default DEFAULT_LOAD_RETRY_POLICY
   */
  loadRetry?: RestartPolicy;
  /** Told of every failed attempt and state change (e.g. `DeploymentMetrics`). @default none */
  statusObserver?: DeploymentStatusObserver;
  /** Clock in milliseconds, for the retry delays and error times; tests pass their own. @default Date.now */
  now?: () => number;
}

interface DeploymentState {
  /** The deployment as last listed: the revision to serve. */
  deployment: Deployment;
  current: DeploymentSnapshot | undefined;
  /** A snapshot of a plan other than the current one is being built. */
  loading: boolean;
  failure: Failure | undefined;
  /** Paces the retries of a plan that keeps failing to load. */
  readonly backoff: RestartBackoff;
  /** The state last told to the status observer. */
  reported: DeploymentServingState | undefined;
}

/** The latest failed attempt, and when the same plan may be tried again. */
interface Failure {
  readonly error: DeploymentLoadError;
  /** Key of the plan that failed to load; `undefined` when the references did not resolve. */
  readonly planKey: string | undefined;
  /** Earliest time (ms) of the next attempt at the same plan. */
  readonly retryAt: number;
}

const silentLogger: RuntimeLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Hosts the stored deployments.
 *
 * - Every `pollIntervalMs`, and on {@link refresh}, it lists the deployments and resolves each route's
 *   and the shadow's `models:/` URI through the registry (versions, aliases, stages, `latest`).
 * - When what a deployment serves changes (new revision, alias moved, stage changed), the new versions
 *   are loaded and warmed through a shared {@link ModelCache} first; then the deployment's snapshot is
 *   replaced in one assignment. Requests that leased the old snapshot finish on it; it lets go of its
 *   models once its last lease is released (models no snapshot uses are closed `idleEvictMs` later).
 * - A deployment that cannot be resolved or loaded keeps its current snapshot serving (a new one is
 *   not ready); the failure is logged, counted (`statusObserver`) and shown by {@link statusOf}
 *   (state `degraded`, or `failed` when nothing serves). References are re-resolved at every poll;
 *   a plan that failed to load is loaded again only after a {@link RestartBackoff} delay
 *   (`loadRetry`), while a plan that changed meanwhile is tried at once. Other deployments are
 *   unaffected.
 * - A deployment that disappears from the list is drained and forgotten.
 *
 * @example
 * const runtime = new DeploymentRuntime({ deployments: services.deployments, registry: services.registry, artifacts, cacheDir });
 * await runtime.start();
 * const lease = runtime.lease('fraud');
 * try {
 *   const output = await lease.arms[0].predict(input);
 * } finally {
 *   lease.release();
 * }
 * runtime.statusOf('fraud'); // { deployment: 'fraud', state: 'serving', desired_revision: 3, serving_revision: 3, … }
 * await runtime.stop();
 */
export class DeploymentRuntime implements DeploymentStatusSource {
  readonly #source: DeploymentSource;
  readonly #registry: Pick<RegistryService, 'resolveModelUri'>;
  readonly #cache: ModelCache;
  readonly #pollIntervalMs: number;
  readonly #batchObserver: BatchObserverFactory | undefined;
  readonly #statusObserver: DeploymentStatusObserver | undefined;
  readonly #logger: RuntimeLogger;
  readonly #now: () => number;
  readonly #newBackoff: () => RestartBackoff;
  readonly #states = new Map<string, DeploymentState>();
  /** The refreshes run one after another on this chain. */
  #chain: Promise<void> = Promise.resolve();
  /** A refresh queued and not yet started: later callers share it. */
  #queued: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;

  /**
   * @throws INVALID_PARAMETER_VALUE for an interval that is not a positive number; RangeError for a
   *   `loadRetry` value that is negative or not finite.
   */
  constructor(options: DeploymentRuntimeOptions) {
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
      throw invalidParameter(`pollIntervalMs must be a positive number, got ${pollIntervalMs}`);
    }
    this.#source = options.deployments;
    this.#registry = options.registry;
    this.#pollIntervalMs = pollIntervalMs;
    this.#batchObserver = options.batchObserver;
    this.#statusObserver = options.statusObserver;
    this.#logger = options.logger ?? silentLogger;
    const now = options.now ?? Date.now;
    const retry: RestartPolicy = {
      initialDelayMs: options.loadRetry?.initialDelayMs ?? DEFAULT_LOAD_RETRY_POLICY.initialDelayMs,
      maxDelayMs: options.loadRetry?.maxDelayMs ?? DEFAULT_LOAD_RETRY_POLICY.maxDelayMs,
      windowMs: options.loadRetry?.windowMs ?? DEFAULT_LOAD_RETRY_POLICY.windowMs,
    };
    this.#now = now;
    this.#newBackoff = () => new RestartBackoff(retry, now);
    // Checks the policy now rather than when the first deployment is listed.
    this.#newBackoff();
    this.#cache = new ModelCache({
      artifacts: options.artifacts,
      cacheDir: options.cacheDir,
      idleEvictMs: options.idleEvictMs ?? DEFAULT_IDLE_EVICT_MS,
      ...(options.loadOptions !== undefined ? { loadOptions: options.loadOptions } : {}),
    });
  }

  /**
   * Loads every deployment (resolves once the first refresh is done, whatever failed in it — see
   * {@link statusOf}), then polls every `pollIntervalMs`. Idempotent.
   */
  async start(): Promise<void> {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    await this.refresh().catch((error: unknown) => {
      this.#logger.error({ err: error }, 'deployment runtime: listing deployments failed');
    });
    this.#schedule();
  }

  /**
   * Stops polling, waits for a refresh in progress, then closes every snapshot (leases still out get
   * 503 from their arms) and every model. Idempotent.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain;
    const snapshots = [...this.#states.values()].flatMap((s) => (s.current ? [s.current] : []));
    this.#states.clear();
    await Promise.all(snapshots.map((s) => s.close()));
    await this.#cache.close();
  }

  /**
   * The current snapshot of a deployment, for one request: O(1), synchronous. Release the lease when
   * the request (and its shadow call) is done.
   *
   * @throws RESOURCE_DOES_NOT_EXIST when the deployment was not in the latest list;
   *   TEMPORARILY_UNAVAILABLE when it is not loaded (yet, or its models cannot be resolved or loaded)
   *   or the runtime is stopped.
   */
  lease(name: string): DeploymentLease {
    const state = this.#states.get(name);
    if (state === undefined) {
      if (this.#stopped) throw new KeelError('TEMPORARILY_UNAVAILABLE', 'The deployment runtime is stopped');
      throw notFound(`Deployment '${name}' not found`);
    }
    if (state.current === undefined) {
      const error = state.failure?.error;
      throw new KeelError(
        'TEMPORARILY_UNAVAILABLE',
        `Deployment '${name}' is not ready: ${error === undefined ? 'its models are loading' : `revision ${error.revision} ${error.message}`}`,
      );
    }
    return state.current.lease();
  }

  /** Whether {@link lease} would succeed and every route's model can answer now. */
  ready(name: string): boolean {
    return this.#states.get(name)?.current?.ready ?? false;
  }

  /** What the runtime knows of a deployment; `undefined` when it was not in the latest list. */
  statusOf(name: string): DeploymentRuntimeStatus | undefined {
    const state = this.#states.get(name);
    if (state === undefined) return undefined;
    const { current, failure } = state;
    return {
      deployment: name,
      desired_revision: state.deployment.revision,
      ...(current !== undefined ? { serving_revision: current.revision } : {}),
      state: servingState(state),
      arms: current === undefined ? [] : snapshotArms(current).map(statusArm),
      ...(failure !== undefined ? { error: failure.error } : {}),
    };
  }

  /** Names of the deployments in the latest list, sorted. */
  names(): string[] {
    return [...this.#states.keys()].sort();
  }

  /** The models loaded now (shared between deployments), with how many arms hold each. */
  loadedModels(): LoadedModelInfo[] {
    return this.#cache.loaded();
  }

  /**
   * Re-reads the deployments and re-resolves every URI now, switching what changed; resolves when
   * that is done. Calls made while a refresh runs share the one queued after it.
   *
   * @throws whatever listing the deployments throws (a deployment that fails to resolve or load does
   *   not make it throw: see {@link statusOf}).
   */
  refresh(): Promise<void> {
    if (this.#queued === undefined) {
      const next = this.#chain.then(() => {
        this.#queued = undefined;
        return this.#refreshOnce();
      });
      this.#queued = next;
      this.#chain = next.catch(() => undefined);
    }
    return this.#queued;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh()
        .catch((error: unknown) => {
          this.#logger.error({ err: error }, 'deployment runtime: listing deployments failed');
        })
        .finally(() => this.#schedule());
    }, this.#pollIntervalMs);
    this.#timer.unref?.();
  }

  async #refreshOnce(): Promise<void> {
    if (this.#stopped) return;
    const deployments = await this.#source.list();
    const listed = new Set(deployments.map((d) => d.name));
    for (const [name, state] of this.#states) {
      if (listed.has(name)) continue;
      this.#states.delete(name);
      this.#statusObserver?.stateChanged(name, undefined);
      if (state.current !== undefined) {
        this.#logger.info(
          { deployment: name, revision: state.current.revision },
          'deployment removed: draining its snapshot',
        );
        state.current.retire();
      }
    }
    await Promise.all(deployments.map((deployment) => this.#sync(deployment)));
  }

  /** The state of a listed deployment, created on first sight; remembers the listed revision. */
  #stateOf(deployment: Deployment): DeploymentState {
    let state = this.#states.get(deployment.name);
    if (state === undefined) {
      state = {
        deployment,
        current: undefined,
        loading: false,
        failure: undefined,
        backoff: this.#newBackoff(),
        reported: undefined,
      };
      this.#states.set(deployment.name, state);
    }
    state.deployment = deployment;
    return state;
  }

  /** Brings one deployment's snapshot up to date; never throws. */
  async #sync(deployment: Deployment): Promise<void> {
    const state = this.#stateOf(deployment);
    let plan: SnapshotPlan;
    try {
      plan = await this.#plan(deployment);
    } catch (error) {
      this.#fail(state, undefined, error, 'cannot resolve its models');
      return;
    }
    const key = planKey(plan);
    if (state.current?.key === key) {
      this.#succeed(state);
      return;
    }
    if (state.failure?.planKey === key && this.#now() < state.failure.retryAt) return;
    state.loading = true;
    this.#report(state);
    let snapshot: DeploymentSnapshot;
    try {
      snapshot = await DeploymentSnapshot.build(plan, {
        cache: this.#cache,
        batchObserver: this.#batchObserver,
      });
    } catch (error) {
      state.loading = false;
      this.#fail(state, key, error, 'cannot load its models');
      return;
    }
    state.loading = false;
    if (this.#stopped || this.#states.get(deployment.name) !== state) {
      await snapshot.close();
      return;
    }
    const previous = state.current;
    state.current = snapshot;
    this.#succeed(state);
    previous?.retire();
    this.#logger.info(
      {
        deployment: deployment.name,
        revision: snapshot.revision,
        previousRevision: previous?.revision,
        arms: snapshotArms(snapshot).map((a) => `${a.name}=${a.modelName}/${a.modelVersion}`),
      },
      previous === undefined ? 'deployment loaded' : 'deployment switched to a new snapshot',
    );
  }

  /** The deployment serves what it should: forgets the failure and its retry delays. */
  #succeed(state: DeploymentState): void {
    state.failure = undefined;
    state.backoff.reset();
    this.#report(state);
  }

  /**
   * Records a failed attempt: at resolving (`planKey` undefined, retried at the next poll) or at
   * loading the plan `planKey` (retried after the backoff's delay; a plan other than the last failed
   * one starts the delays over).
   */
  #fail(state: DeploymentState, planKey: string | undefined, error: unknown, what: string): void {
    const now = this.#now();
    const { name, revision } = state.deployment;
    if (planKey !== undefined && state.failure?.planKey !== planKey) state.backoff.reset();
    const retryInMs = planKey === undefined ? 0 : state.backoff.recordFailure();
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    const previous = state.failure?.error;
    state.failure = { error: { message, revision, at: now }, planKey, retryAt: now + retryInMs };
    this.#statusObserver?.loadFailed(name);
    this.#report(state);
    // Retried again and again: log when the failure changes, not at every attempt.
    if (previous?.message === message && previous.revision === revision) return;
    this.#logger.warn(
      { deployment: name, revision, err: error, retryInMs },
      state.current === undefined
        ? `deployment not ready: ${what}`
        : `deployment keeps serving revision ${state.current.revision}: ${what}`,
    );
  }

  /** Tells the status observer when the deployment's state changed. */
  #report(state: DeploymentState): void {
    const next = servingState(state);
    if (next === state.reported) return;
    state.reported = next;
    this.#statusObserver?.stateChanged(state.deployment.name, next);
  }

  /** Resolves every arm of a deployment to a registered version whose files Keel holds. */
  async #plan(deployment: Deployment): Promise<SnapshotPlan> {
    const { spec } = deployment;
    const workers = spec.resources?.workers;
    const resolve = async (arm: string, weight: number, uri: string): Promise<ArmPlan> => {
      if (parseModelUri(uri).kind === 'run') {
        throw invalidParameter(
          `Arm '${arm}' names '${uri}': deployments serve registered models (models:/…), not run artifacts`,
        );
      }
      const resolved = await this.#registry.resolveModelUri(uri);
      if (
        resolved.name === undefined ||
        resolved.version === undefined ||
        resolved.storageLocation === undefined
      ) {
        throw invalidParameter(
          `Arm '${arm}' names '${uri}', whose files are not in Keel's artifact store (external source ${resolved.artifactUri})`,
        );
      }
      return {
        arm,
        weight,
        uri,
        ref: {
          name: resolved.name,
          version: String(resolved.version),
          storageLocation: resolved.storageLocation,
          ...(workers !== undefined ? { workers } : {}),
        },
      };
    };
    const arms = await Promise.all(spec.routes.map((r) => resolve(r.name, r.weight, r.model)));
    const shadow = spec.shadow ? await resolve(SHADOW_ARM, 0, spec.shadow.model) : undefined;
    return { deployment, arms, shadow };
  }
}

/** See {@link DeploymentServingState}. */
function servingState(state: DeploymentState): DeploymentServingState {
  if (state.failure !== undefined) return state.current === undefined ? 'failed' : 'degraded';
  return state.loading || state.current === undefined ? 'loading' : 'serving';
}

/** The routes' arms, then the shadow. */
function snapshotArms(snapshot: DeploymentSnapshot): DeploymentArm[] {
  return snapshot.shadow === undefined ? snapshot.arms : [...snapshot.arms, snapshot.shadow];
}

function statusArm(arm: DeploymentArm): DeploymentStatusArm {
  return {
    name: arm.name,
    model_name: arm.modelName,
    model_version: arm.modelVersion,
    model_digest: arm.modelDigest,
  };
}
