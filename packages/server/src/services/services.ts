import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { createBatchWriter } from '../store/batch-writer-factory.js';
import type { StoreConnection } from '../store/database.js';
import { ExperimentStore } from '../store/experiment-store.js';
import { MetricStore } from '../store/metric-store.js';
import { RunStore } from '../store/run-store.js';
import { ArtifactService } from './artifact-service.js';
import { type Clock, systemClock } from './clock.js';
import { GcService } from './gc-service.js';
import { ExperimentService } from './tracking/experiment-service.js';
import { MetricService } from './tracking/metric-service.js';
import { RunService } from './tracking/run-service.js';

/** Where run artifacts are addressed: the server's artifact proxy (MLflow's `mlflow-artifacts:` scheme). */
export const DEFAULT_ARTIFACT_ROOT = 'mlflow-artifacts:';

/** The services of one server process, wired once from the stores. */
export interface Services {
  experiments: ExperimentService;
  runs: RunService;
  metrics: MetricService;
  artifacts: ArtifactService;
  gc: GcService;
}

/** What {@link createServices} wires besides the backend store. */
export interface ServicesOptions {
  /** Where artifact files live (see `openArtifactStore`). */
  artifacts: ArtifactStore;
  /** Source of "now"; tests pass a fixed clock. @default systemClock */
  clock?: Clock;
}

/**
 * Wires stores and services together.
 *
 * @example
 * const services = createServices(store, { artifacts: openArtifactStore(config.artifactsDestination, config.s3) });
 */
export function createServices(store: StoreConnection, options: ServicesOptions): Services {
  const clock = options.clock ?? systemClock;
  const experimentStore = new ExperimentStore(store.db, store.dialect);
  const runStore = new RunStore(store.db, store.dialect);
  const metricStore = new MetricStore(store);
  const experiments = new ExperimentService({
    store: experimentStore,
    clock,
    artifactRoot: DEFAULT_ARTIFACT_ROOT,
  });
  const runs = new RunService({
    runs: runStore,
    metrics: metricStore,
    batches: createBatchWriter(store),
    experiments,
    clock,
  });
  const metrics = new MetricService({ store: metricStore, runs });
  const artifacts = new ArtifactService({ store: options.artifacts, runs });
  const gc = new GcService({
    experiments: experimentStore,
    runs: runStore,
    artifacts: options.artifacts,
    clock,
  });
  return { experiments, runs, metrics, artifacts, gc };
}
