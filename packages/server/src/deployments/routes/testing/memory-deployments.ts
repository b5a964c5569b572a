/**
 * An in-memory stand-in for the deployment runtime and the prediction recorder, for the routes'
 * tests: deployments set by the test, each arm a real loaded model behind a real {@link MicroBatcher}.
 */
import {
  type DeploymentRecording,
  type DeploymentResources,
  type DeploymentSpec,
  KeelError,
  notFound,
} from '@keel/core';
import type { Model } from '../../../models/model.js';
import type { PredictionRecordInput } from '../../../predictions/prediction-record.js';
import { MicroBatcher } from '../../../serving/batcher.js';
import type { PredictionSink, ServingArm, ServingLease, ServingLeases } from '../deployment-call.js';
import type { DeploymentMetrics } from '../deployment-metrics.js';

/** One arm as a test describes it. */
export interface MemoryArm {
  name: string;
  /** @default 1 */
  weight?: number;
  model: Model;
  modelName: string;
  modelVersion: string;
  modelDigest?: string;
  /** @default 64 */
  maxBatchSize?: number;
  /** @default 4096 */
  maxQueueRows?: number;
}

/** One deployment as a test describes it. */
export interface MemoryDeployment {
  /** @default 1 */
  revision?: number;
  arms: MemoryArm[];
  shadow?: MemoryArm;
  recording?: DeploymentRecording;
  /** The spec's `resources` (the leases show them, as the runtime's do). @default none */
  resources?: DeploymentResources;
  /** `false`: `lease` throws TEMPORARILY_UNAVAILABLE. @default true */
  ready?: boolean;
}

interface Entry {
  readonly deployment: string;
  readonly revision: number;
  readonly arms: ServingArm[];
  readonly shadow: ServingArm | undefined;
  readonly spec: Pick<DeploymentSpec, 'recording' | 'resources'>;
  readonly ready: boolean;
}

/** Deployments the test sets, leased as the runtime leases them; counts leases not yet released. */
export class MemoryDeployments implements ServingLeases {
  readonly #entries = new Map<string, Entry>();
  readonly #batchers: MicroBatcher[] = [];
  readonly #metrics: DeploymentMetrics | undefined;
  /** Leases taken and not released. */
  outstanding = 0;
  /** Leases taken in all. */
  taken = 0;

  constructor(metrics?: DeploymentMetrics) {
    this.#metrics = metrics;
  }

  /** Creates or replaces deployment `name`. */
  set(name: string, deployment: MemoryDeployment): void {
    const bind = (arm: MemoryArm, armName = arm.name): ServingArm => {
      const observer = this.#metrics?.batchObserver({
        deployment: name,
        arm: armName,
        modelName: arm.modelName,
        modelVersion: arm.modelVersion,
      });
      const batcher = new MicroBatcher(arm.model, {
        maxBatchSize: arm.maxBatchSize ?? 64,
        maxDelayMs: 0,
        maxQueueRows: arm.maxQueueRows ?? 4096,
        concurrency: arm.model.workerCount ?? 2,
        ...(observer === undefined ? {} : { observer }),
      });
      this.#batchers.push(batcher);
      return {
        name: armName,
        weight: arm.weight ?? 1,
        modelName: arm.modelName,
        modelVersion: arm.modelVersion,
        ...(arm.modelDigest === undefined ? {} : { modelDigest: arm.modelDigest }),
        model: arm.model,
        predict: (input, params) => batcher.predict(input, params),
      };
    };
    this.#entries.set(name, {
      deployment: name,
      revision: deployment.revision ?? 1,
      arms: deployment.arms.map((arm) => bind(arm)),
      shadow: deployment.shadow === undefined ? undefined : bind(deployment.shadow, 'shadow'),
      spec: {
        ...(deployment.recording === undefined ? {} : { recording: deployment.recording }),
        ...(deployment.resources === undefined ? {} : { resources: deployment.resources }),
      },
      ready: deployment.ready ?? true,
    });
  }

  lease(name: string): ServingLease {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw notFound(`Deployment '${name}' does not exist`);
    if (!entry.ready) throw new KeelError('TEMPORARILY_UNAVAILABLE', `Deployment '${name}' is not ready yet`);
    this.outstanding++;
    this.taken++;
    let released = false;
    return {
      deployment: entry.deployment,
      revision: entry.revision,
      spec: entry.spec,
      arms: entry.arms,
      shadow: entry.shadow,
      release: () => {
        if (released) throw new Error(`lease of '${name}' released twice`);
        released = true;
        this.outstanding--;
      },
    };
  }

  /** Closes every batcher (the models belong to the test). */
  async close(): Promise<void> {
    await Promise.all(this.#batchers.map((batcher) => batcher.close()));
  }
}

/** Keeps every record it gets, in order. */
export class MemoryRecorder implements PredictionSink {
  readonly records: PredictionRecordInput[] = [];

  record(input: PredictionRecordInput): void {
    this.records.push(input);
  }

  /** Resolves once `predicate` holds for the records (polled every few ms; rejects after `timeoutMs`). */
  async until(
    predicate: (records: readonly PredictionRecordInput[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.records)) {
      if (Date.now() > deadline)
        throw new Error(`records did not reach the expected state (${this.records.length} records)`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
