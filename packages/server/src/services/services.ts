import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { ChangeRecorder, type ChangeSink } from '../changes/change.js';
import type { WebhookDeliveryConfig } from '../config.js';
import { PredictionRecorder } from '../predictions/prediction-recorder.js';
import { PredictionService } from '../predictions/prediction-service.js';
import { PredictionStore } from '../predictions/prediction-store.js';
import { SqliteInsertWorker } from '../predictions/sqlite-insert-worker.js';
import { createBatchWriter } from '../store/batch-writer-factory.js';
import type { StoreConnection } from '../store/database.js';
import { DeploymentStore } from '../store/deployment-store.js';
import { ExperimentStore } from '../store/experiment-store.js';
import { LoggedModelStore } from '../store/logged-model-store.js';
import { MetricStore } from '../store/metric-store.js';
import { RegistryStore } from '../store/registry-store.js';
import { RunStore } from '../store/run-store.js';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import { WebhookService } from '../webhooks/webhook-service.js';
import { WebhookSink } from '../webhooks/webhook-sink.js';
import { WebhookStore } from '../webhooks/webhook-store.js';
import type { Scheduler } from '../workflows/engine/scheduler.js';
import { createWorkflowEngine, type WorkflowEngineOptions } from '../workflows/workflow-engine.js';
import type { WorkflowService } from '../workflows/workflow-service.js';
import { ArtifactService } from './artifact-service.js';
import { type Clock, systemClock } from './clock.js';
import { DeploymentService } from './deployments/deployment-service.js';
import { GcService } from './gc-service.js';
import { LineageService } from './lineage-service.js';
import { RegistryService } from './registry/registry-service.js';
import { ExperimentService } from './tracking/experiment-service.js';
import { LoggedModelService } from './tracking/logged-model-service.js';
import { MetricService } from './tracking/metric-service.js';
import { RunService } from './tracking/run-service.js';

/** Where run artifacts are addressed: the server's artifact proxy (MLflow's `mlflow-artifacts:` scheme). */
export const DEFAULT_ARTIFACT_ROOT = 'mlflow-artifacts:';

/** The services of one server process, wired once from the stores. */
export interface Services {
  experiments: ExperimentService;
  runs: RunService;
  /** MLflow 3 logged models. */
  loggedModels: LoggedModelService;
  metrics: MetricService;
  artifacts: ArtifactService;
  gc: GcService;
  /** The model registry (MLflow's registered models and versions). */
  registry: RegistryService;
  lineage: LineageService;
  /** Deployments: named, versioned serving configurations with their revisions. */
  deployments: DeploymentService;
  /** Every state change goes through it, inside its transaction (webhook outbox, audit log). */
  recorder: ChangeRecorder;
  /** The hash-chained audit log: search and verify. */
  audit: AuditLog;
  webhooks: WebhookService;
  /** Sends the webhook outbox; `buildApp` starts it with the server and stops it on close. */
  webhookDispatcher: WebhookDispatcher;
  /** Records every deployment call off the request path; `buildApp` starts it and closes it on close. */
  predictionRecorder: PredictionRecorder;
  /** Search, export and feedback of prediction records. */
  predictions: PredictionService;
  /** Workflows: versions, executions, logs. */
  workflows: WorkflowService;
  /** Drives workflow executions; `buildApp` starts it with the server and stops it on close. */
  workflowScheduler: Scheduler;
}

/** What {@link createServices} wires besides the backend store. */
export interface ServicesOptions {
  /** Where artifact files live (see `openArtifactStore`). */
  artifacts: ArtifactStore;
  /** Source of "now"; tests pass a fixed clock. @default systemClock */
  clock?: Clock;
  /** Webhook delivery settings (see `resolveServerConfig`). @default DEFAULT_WEBHOOK_DELIVERY */
  webhooks?: Partial<WebhookDeliveryConfig>;
  /** Extra change sinks, after the audit log and webhooks (tests use one that fails). @default [] */
  changeSinks?: readonly ChangeSink[];
  /**
   * Where the prediction recorder spills records the store cannot take yet (see
   * `resolveServerConfig`). @default `predictions-spill` beside a SQLite file, else a fresh
   * folder under the OS temp folder (created only on first spill)
   */
  predictionSpillDir?: string;
  /** The workflow engine's executor and scheduler settings. @default see `WorkflowEngineOptions` */
  workflows?: WorkflowEngineOptions;
}

/**
 * Wires stores and services together.
 *
 * @example
 * const services = createServices(store, { artifacts: openArtifactStore(config.artifactsDestination, config.s3) });
 */
export function createServices(store: StoreConnection, options: ServicesOptions): Services {
  const clock = options.clock ?? systemClock;
  const audit = new AuditLog({ db: store.db, dialect: store.dialect, clock });
  const webhookStore = new WebhookStore(store.db);
  const webhookDispatcher = new WebhookDispatcher({
    store: webhookStore,
    clock,
    ...(options.webhooks ? { config: options.webhooks } : {}),
  });
  // The stores record every change through it, so it is built before them.
  const recorder = new ChangeRecorder([
    audit,
    new WebhookSink({ store: webhookStore, clock, onEnqueued: () => webhookDispatcher.wake() }),
    ...(options.changeSinks ?? []),
  ]);
  const experimentStore = new ExperimentStore(store.db, store.dialect, recorder);
  const runStore = new RunStore(store.db, store.dialect, recorder);
  const metricStore = new MetricStore(store);
  const experiments = new ExperimentService({
    store: experimentStore,
    clock,
    artifactRoot: DEFAULT_ARTIFACT_ROOT,
  });
  const runs = new RunService({
    runs: runStore,
    metrics: metricStore,
    batches: createBatchWriter(store, { recorder, audit }),
    experiments,
    clock,
  });
  const metrics = new MetricService({ store: metricStore, runs });
  const artifacts = new ArtifactService({ store: options.artifacts, runs });
  const loggedModels = new LoggedModelService({
    store: new LoggedModelStore(store.db, store.dialect, recorder),
    experiments,
    artifacts,
    clock,
  });
  const registryStore = new RegistryStore(store.db, store.dialect);
  const gc = new GcService({
    experiments: experimentStore,
    runs: runStore,
    registry: registryStore,
    artifacts: options.artifacts,
    clock,
  });
  const webhooks = new WebhookService({
    db: store.db,
    store: webhookStore,
    clock,
    recorder,
    timeoutMs: webhookDispatcher.settings.timeoutMs,
  });
  const registry = new RegistryService({
    store: registryStore,
    artifacts: options.artifacts,
    runs,
    loggedModels,
    changes: recorder,
    clock,
  });
  const predictionStore = new PredictionStore(store);
  const sqliteFile = sqliteFileOf(store);
  const predictionRecorder = new PredictionRecorder({
    // A SQLite file is written from a worker thread: better-sqlite3 would block the event loop.
    store: sqliteFile === undefined ? predictionStore : new SqliteInsertWorker({ path: sqliteFile }),
    spillDir: options.predictionSpillDir ?? defaultSpillDir(sqliteFile),
  });
  const predictions = new PredictionService({ store: predictionStore, clock, recorder: predictionRecorder });
  const deployments = new DeploymentService({
    store: new DeploymentStore(store.db, store.dialect),
    changes: recorder,
    clock,
  });
  const lineage = new LineageService({ registry, runs, experiments, predictions, deployments });
  const engine = createWorkflowEngine(
    { store, artifacts: options.artifacts, changes: recorder, clock, runs, experiments },
    options.workflows,
  );
  return {
    experiments,
    runs,
    loggedModels,
    metrics,
    artifacts,
    gc,
    registry,
    lineage,
    deployments,
    recorder,
    audit,
    webhooks,
    webhookDispatcher,
    predictionRecorder,
    predictions,
    workflows: engine.service,
    workflowScheduler: engine.scheduler,
  };
}

/** The file of a SQLite store; `undefined` for PostgreSQL and in-memory SQLite. */
function sqliteFileOf(store: StoreConnection): string | undefined {
  const file = store.sqlite?.name;
  return file === undefined || file === '' || file === ':memory:' ? undefined : file;
}

/** Beside a SQLite file; otherwise a folder of its own per services instance (nothing is shared by accident). */
function defaultSpillDir(sqliteFile: string | undefined): string {
  if (sqliteFile !== undefined) return join(dirname(sqliteFile), 'predictions-spill');
  return join(tmpdir(), `keel-predictions-spill-${randomUUID()}`);
}
