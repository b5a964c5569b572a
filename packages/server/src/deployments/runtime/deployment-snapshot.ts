/**
 * One deployment revision with every arm resolved to a loaded model version: what a request is served
 * by from start to end, however the registry moves meanwhile.
 */
import { type Deployment, type DeploymentSpec, type ModelInput, SHADOW_ARM } from '@keel/core';
import type { Model, ModelOutput } from '../../models/model.js';
import { type BatchObserver, MicroBatcher } from '../../serving/batcher.js';
import {
  DEFAULT_BATCHING,
  DEFAULT_MAX_QUEUE_ROWS,
  DEFAULT_SERVING_CONCURRENCY,
} from '../../serving/model-server.js';
import type { CachedModel, ModelCache, ModelVersionRef } from './model-cache.js';

/**
 * One arm of a deployment as a request sees it: a route (or the shadow) bound to a loaded version.
 * `predict` goes through the arm's own micro-batcher.
 */
export interface DeploymentArm {
  /** The route's name, or {@link SHADOW_ARM}. */
  readonly name: string;
  /** The route's relative weight (0 for the shadow). */
  readonly weight: number;
  /** Registered model name and version the arm's URI resolved to. */
  readonly modelName: string;
  readonly modelVersion: string;
  /** Digest of the version's files (see `materializeModel`). */
  readonly modelDigest: string;
  /** The arm's labels (metrics), one object for the arm's lifetime. */
  readonly labels: ArmLabels;
  /** The loaded model, shared with every other arm and deployment serving this version. */
  readonly model: Model;
  /** Scores an input already checked against `model.signature`, through the arm's micro-batcher. */
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput>;
}

/**
 * A consistent view of one deployment for ONE request: the revision and the arms it had when the
 * lease was taken. Call {@link release} exactly once, after every `predict` made through it (shadow
 * included) has settled: the snapshot's models are only let go once all its leases are released.
 */
export interface DeploymentLease {
  readonly deployment: string;
  readonly revision: number;
  readonly spec: DeploymentSpec;
  /** The routes' arms, in the spec's order. */
  readonly arms: DeploymentArm[];
  readonly shadow: DeploymentArm | undefined;
  /** Gives the lease back; idempotent. */
  release(): void;
}

/** Labels of an arm's batcher observations (queue depth, batch sizes). */
export interface ArmLabels {
  readonly deployment: string;
  readonly revision: number;
  /** Route name or {@link SHADOW_ARM}. */
  readonly arm: string;
  readonly modelName: string;
  readonly modelVersion: string;
}

/** Creates the batch observer of one arm (e.g. `labels => metrics.observer({...})`); `undefined` for none. */
export type BatchObserverFactory = (labels: ArmLabels) => BatchObserver | undefined;

/** An arm whose URI the registry resolved to one version. */
export interface ArmPlan {
  readonly arm: string;
  readonly weight: number;
  /** The URI as the spec wrote it. */
  readonly uri: string;
  readonly ref: ModelVersionRef;
}

/** Everything a snapshot is built from. */
export interface SnapshotPlan {
  readonly deployment: Deployment;
  readonly arms: readonly ArmPlan[];
  readonly shadow: ArmPlan | undefined;
}

/** What {@link DeploymentSnapshot.build} uses. */
export interface SnapshotResources {
  cache: ModelCache;
  batchObserver?: BatchObserverFactory | undefined;
}

interface BoundArm {
  readonly arm: DeploymentArm;
  readonly batcher: MicroBatcher;
  readonly held: CachedModel;
}

/**
 * A deployment revision bound to loaded models, counting the leases taken on it.
 *
 * Every arm has its own {@link MicroBatcher} in front of the shared model (whose workers queue the
 * calls of all batchers in one FIFO): each deployment's `batching` and `maxQueueRows` apply to its own
 * traffic, a full queue or a slow shadow in one deployment never refuses another's requests, and
 * batch sizes and queue depth are observed per deployment, arm and version. The price is that
 * requests of different deployments are not merged into one model call.
 *
 * Lifecycle: {@link build} (loads, through the cache) → served: {@link lease} → {@link retire} when a
 * newer snapshot replaced it or the deployment is gone → once the last lease is released its batchers
 * are closed and its model holds released ({@link drained} resolves). {@link close} skips the wait.
 */
export class DeploymentSnapshot {
  /** Identity of the plan: two plans with the same key serve the same thing. */
  readonly key: string;
  readonly deployment: string;
  readonly revision: number;
  readonly spec: DeploymentSpec;
  readonly arms: DeploymentArm[];
  readonly shadow: DeploymentArm | undefined;
  /** Resolves once the snapshot has let go of its models. */
  readonly drained: Promise<void>;
  readonly #bound: readonly BoundArm[];
  #inFlight = 0;
  #retired = false;
  #disposing: Promise<void> | undefined;
  #resolveDrained: () => void = () => undefined;

  private constructor(plan: SnapshotPlan, bound: readonly BoundArm[]) {
    this.key = planKey(plan);
    this.deployment = plan.deployment.name;
    this.revision = plan.deployment.revision;
    this.spec = plan.deployment.spec;
    this.#bound = bound;
    const arms = bound.map((b) => b.arm);
    this.shadow = plan.shadow === undefined ? undefined : arms.pop();
    this.arms = Object.freeze(arms) as DeploymentArm[];
    this.drained = new Promise((resolve) => {
      this.#resolveDrained = resolve;
    });
  }

  /**
   * Holds the model of every arm through `cache` (loading and warming versions nobody holds yet) and
   * gives each arm a micro-batcher sized by the spec. On any failure the holds already taken are
   * released and the error is rethrown.
   */
  static async build(plan: SnapshotPlan, resources: SnapshotResources): Promise<DeploymentSnapshot> {
    const plans = plan.shadow === undefined ? [...plan.arms] : [...plan.arms, plan.shadow];
    const settled = await Promise.allSettled(plans.map((arm) => resources.cache.acquire(arm.ref)));
    const held = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      for (const h of held) h.release();
      throw failed.reason;
    }
    const { spec } = plan.deployment;
    const batching = spec.batching ?? DEFAULT_BATCHING;
    const bound = plans.map((armPlan, i): BoundArm => {
      const hold = held[i] as CachedModel;
      const labels: ArmLabels = Object.freeze({
        deployment: plan.deployment.name,
        revision: plan.deployment.revision,
        arm: armPlan.arm,
        modelName: hold.name,
        modelVersion: hold.version,
      });
      const observer = resources.batchObserver?.(labels);
      const batcher = new MicroBatcher(hold.model, {
        maxBatchSize: batching.maxBatchSize,
        maxDelayMs: batching.maxDelayMs,
        maxQueueRows: spec.resources?.maxQueueRows ?? DEFAULT_MAX_QUEUE_ROWS,
        concurrency: hold.model.workerCount ?? DEFAULT_SERVING_CONCURRENCY,
        ...(observer !== undefined ? { observer } : {}),
      });
      const arm: DeploymentArm = Object.freeze({
        name: armPlan.arm,
        weight: armPlan.weight,
        modelName: hold.name,
        modelVersion: hold.version,
        modelDigest: hold.digest,
        labels,
        model: hold.model,
        predict: (input: ModelInput, params?: Record<string, unknown>) => batcher.predict(input, params),
      });
      return { arm, batcher, held: hold };
    });
    return new DeploymentSnapshot(plan, bound);
  }

  /** Leases taken and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether every route's model can answer now (a model without `ready` is ready once loaded). */
  get ready(): boolean {
    return !this.#retired && this.arms.every((arm) => arm.model.ready !== false);
  }

  /** Takes a lease (O(1)); see {@link DeploymentLease}. */
  lease(): DeploymentLease {
    this.#inFlight++;
    let released = false;
    return {
      deployment: this.deployment,
      revision: this.revision,
      spec: this.spec,
      arms: this.arms,
      shadow: this.shadow,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
        if (this.#retired && this.#inFlight === 0) void this.#dispose();
      },
    };
  }

  /** Stops serving new leases (the runtime no longer hands it out) and lets go once drained. Idempotent. */
  retire(): void {
    this.#retired = true;
    if (this.#inFlight === 0) void this.#dispose();
  }

  /** Lets go now, whatever leases are still out (their predictions then get 503). */
  close(): Promise<void> {
    this.#retired = true;
    return this.#dispose();
  }

  #dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      // Closing a batcher rejects nothing in flight: it waits for running model calls to answer.
      await Promise.all(this.#bound.map((b) => b.batcher.close()));
      for (const b of this.#bound) b.held.release();
      this.#resolveDrained();
    })();
    return this.#disposing;
  }
}

/**
 * The identity of what a plan serves: the deployment's revision and spec, and the version, copy and
 * worker count every arm resolved to. The runtime switches snapshots only when it changes.
 */
export function planKey(plan: SnapshotPlan): string {
  const arm = (a: ArmPlan) => [
    a.arm,
    a.weight,
    a.ref.name,
    a.ref.version,
    a.ref.storageLocation,
    a.ref.workers,
  ];
  return JSON.stringify([
    plan.deployment.revision,
    plan.deployment.creation_timestamp,
    plan.deployment.spec,
    plan.arms.map(arm),
    plan.shadow === undefined ? null : arm(plan.shadow),
  ]);
}
