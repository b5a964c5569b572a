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
import type { RegistryService } from '../../services/registry/registry-service.js';
import {
  type ArmPlan,
  type BatchObserverFactory,
  type DeploymentLease,
  DeploymentSnapshot,
  planKey,
  type SnapshotPlan,
} from './deployment-snapshot.js';
import type { DeploymentSource } from './deployment-source.js';
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
}

/** What {@link DeploymentRuntime.status} reports about one deployment. */
export interface DeploymentRuntimeStatus {
  readonly name: string;
  /** Whether a snapshot serves it and every route's model can answer. */
  readonly ready: boolean;
  /** Revision being served, when one is. */
  readonly revision: number | undefined;
  /** Arms being served: route name (or `shadow`), model name, version and digest. */
  readonly arms: readonly {
    arm: string;
    modelName: string;
    modelVersion: string;
    modelDigest: string;
  }[];
  /** Why the latest revision (or the latest resolution) is not served, when it is not. */
  readonly error: string | undefined;
}

interface DeploymentState {
  current: DeploymentSnapshot | undefined;
  error: string | undefined;
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
 *   not ready) and the failure is logged, shown by {@link status}, and retried at the next poll.
 *   Other deployments are unaffected.
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
 * await runtime.stop();
 */
export class DeploymentRuntime {
  readonly #source: DeploymentSource;
  readonly #registry: Pick<RegistryService, 'resolveModelUri'>;
  readonly #cache: ModelCache;
  readonly #pollIntervalMs: number;
  readonly #batchObserver: BatchObserverFactory | undefined;
  readonly #logger: RuntimeLogger;
  readonly #states = new Map<string, DeploymentState>();
  /** The refreshes run one after another on this chain. */
  #chain: Promise<void> = Promise.resolve();
  /** A refresh queued and not yet started: later callers share it. */
  #queued: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;

  /** @throws INVALID_PARAMETER_VALUE for an interval that is not a positive number. */
  constructor(options: DeploymentRuntimeOptions) {
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
      throw invalidParameter(`pollIntervalMs must be a positive number, got ${pollIntervalMs}`);
    }
    this.#source = options.deployments;
    this.#registry = options.registry;
    this.#pollIntervalMs = pollIntervalMs;
    this.#batchObserver = options.batchObserver;
    this.#logger = options.logger ?? silentLogger;
    this.#cache = new ModelCache({
      artifacts: options.artifacts,
      cacheDir: options.cacheDir,
      idleEvictMs: options.idleEvictMs ?? DEFAULT_IDLE_EVICT_MS,
      ...(options.loadOptions !== undefined ? { loadOptions: options.loadOptions } : {}),
    });
  }

  /**
   * Loads every deployment (resolves once the first refresh is done, whatever failed in it — see
   * {@link status}), then polls every `pollIntervalMs`. Idempotent.
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
      throw new KeelError(
        'TEMPORARILY_UNAVAILABLE',
        `Deployment '${name}' is not ready: ${state.error ?? 'its models are loading'}`,
      );
    }
    return state.current.lease();
  }

  /** Whether {@link lease} would succeed and every route's model can answer now. */
  ready(name: string): boolean {
    return this.#states.get(name)?.current?.ready ?? false;
  }

  /** What the runtime knows of a deployment; `undefined` when it was not in the latest list. */
  status(name: string): DeploymentRuntimeStatus | undefined {
    const state = this.#states.get(name);
    if (state === undefined) return undefined;
    const current = state.current;
    const arms = current === undefined ? [] : [...current.arms, ...(current.shadow ? [current.shadow] : [])];
    return {
      name,
      ready: current?.ready ?? false,
      revision: current?.revision,
      arms: arms.map((a) => ({
        arm: a.name,
        modelName: a.modelName,
        modelVersion: a.modelVersion,
        modelDigest: a.modelDigest,
      })),
      error: state.error,
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
   *   not make it throw: see {@link status}).
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

  /** Brings one deployment's snapshot up to date; never throws. */
  async #sync(deployment: Deployment): Promise<void> {
    const { name } = deployment;
    let state = this.#states.get(name);
    if (state === undefined) {
      state = { current: undefined, error: undefined };
      this.#states.set(name, state);
    }
    let plan: SnapshotPlan;
    try {
      plan = await this.#plan(deployment);
    } catch (error) {
      this.#fail(state, deployment, error, 'cannot resolve its models');
      return;
    }
    if (state.current?.key === planKey(plan)) {
      state.error = undefined;
      return;
    }
    let snapshot: DeploymentSnapshot;
    try {
      snapshot = await DeploymentSnapshot.build(plan, {
        cache: this.#cache,
        batchObserver: this.#batchObserver,
      });
    } catch (error) {
      this.#fail(state, deployment, error, 'cannot load its models');
      return;
    }
    if (this.#stopped || this.#states.get(name) !== state) {
      await snapshot.close();
      return;
    }
    const previous = state.current;
    state.current = snapshot;
    state.error = undefined;
    previous?.retire();
    this.#logger.info(
      {
        deployment: name,
        revision: snapshot.revision,
        previousRevision: previous?.revision,
        arms: [...snapshot.arms, ...(snapshot.shadow ? [snapshot.shadow] : [])].map(
          (a) => `${a.name}=${a.modelName}/${a.modelVersion}`,
        ),
      },
      previous === undefined ? 'deployment loaded' : 'deployment switched to a new snapshot',
    );
  }

  #fail(state: DeploymentState, deployment: Deployment, error: unknown, what: string): void {
    const message = error instanceof Error ? error.message : String(error);
    const text = `revision ${deployment.revision} ${what}: ${message}`;
    // Retried at every poll: log when the failure changes, not every few seconds.
    if (text === state.error) return;
    state.error = text;
    this.#logger.warn(
      { deployment: deployment.name, revision: deployment.revision, err: error },
      state.current === undefined
        ? `deployment not ready: ${what}`
        : `deployment keeps serving revision ${state.current.revision}: ${what}`,
    );
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
