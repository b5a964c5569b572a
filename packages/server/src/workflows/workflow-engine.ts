/**
 * Wires the workflow engine of one server process: stores, the local executor, the scheduler,
 * live logs and the service.
 */

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import type { ExperimentService } from '../services/tracking/experiment-service.js';
import type { RunService } from '../services/tracking/run-service.js';
import type { StoreConnection } from '../store/database.js';
import { WorkflowBatchStore } from '../store/workflow-batch-store.js';
import { WorkflowStore } from '../store/workflow-store.js';
import { ExecutionTracking } from './engine/execution-tracking.js';
import type { Executor } from './engine/executor.js';
import { LocalProcessExecutor } from './engine/local-process-executor.js';
import { LogHub } from './engine/log-hub.js';
import { SCHEDULER_DEFAULTS, Scheduler, type SchedulerOptions } from './engine/scheduler.js';
import { WorkflowLogs } from './workflow-logs.js';
import { WorkflowService } from './workflow-service.js';

/** Settings of the workflow engine (see `ServerConfig.workflow*`). */
export interface WorkflowEngineOptions {
  /** Worker processes of the local executor. @default os.availableParallelism() */
  workers?: number;
  /** Local folder of the executor (code packages, inputs, attempts' work folders). @default `keel-workflow-cache` under the OS temp folder */
  cacheDir?: string;
  /** Runs attempts instead of a local process pool (tests, other executors). */
  executor?: Executor;
  /**
   * Scheduler timings and identity; `renewEveryMs` defaults to a third of `leaseMs`.
   * @default SCHEDULER_DEFAULTS
   */
  scheduler?: Pick<
    SchedulerOptions,
    'owner' | 'leaseMs' | 'renewEveryMs' | 'pollMs' | 'retry' | 'reservationPollMs' | 'maxExecutions'
  >;
  /** Create a tracking run per execution and per attempt. @default true */
  tracking?: boolean;
  /** How often a log follower looks again when the attempt runs elsewhere. @default 500 */
  logPollMs?: number;
  /**
   * The URI of the Keel server the engine runs in, asked for as each attempt is prepared: tasks
   * get it as `KEEL_TRACKING_URI` and `MLFLOW_TRACKING_URI` (a variable the server's own
   * environment sets is kept), so a `KeelClient` or MLflow client in a task reaches this server.
   * `buildApp` answers its listen address (undefined until it listens).
   * @default none: tasks get no tracking URI (an engine outside a server, e.g. `bench/workflows.mjs`)
   */
  trackingUri?: () => string | undefined;
}

/** What the engine is built from. */
export interface WorkflowEngineDeps {
  store: StoreConnection;
  artifacts: ArtifactStore;
  /** Records registrations, launches and cancellations (audit log). */
  changes: ChangeSink;
  clock: Clock;
  runs: RunService;
  experiments: ExperimentService;
}

/** The engine's parts the server uses. */
export interface WorkflowEngine {
  service: WorkflowService;
  /** Start it with the server (`start`) and stop it on close (`stop`); it owns the executor. */
  scheduler: Scheduler;
}

/**
 * Builds the engine. Nothing runs until `scheduler.start()`; the local executor starts its worker
 * processes on first use.
 *
 * @example
 * const { service, scheduler } = createWorkflowEngine(deps, { workers: 4, cacheDir: '/var/lib/keel/workflow-cache' });
 * scheduler.start(app.log);
 */
export function createWorkflowEngine(
  deps: WorkflowEngineDeps,
  options: WorkflowEngineOptions = {},
): WorkflowEngine {
  const { store, artifacts, changes, clock } = deps;
  const workflowStore = new WorkflowStore({ db: store.db, dialect: store.dialect, changes, clock });
  const batches = new WorkflowBatchStore({ db: store.db, dialect: store.dialect, changes, clock });
  const logs = new LogHub({ clock });
  const { trackingUri } = options;
  const executor =
    options.executor ??
    new LocalProcessExecutor({
      store: artifacts,
      cacheDir: options.cacheDir ?? join(tmpdir(), 'keel-workflow-cache'),
      ...(options.workers === undefined ? {} : { concurrency: options.workers }),
      ...(trackingUri === undefined ? {} : { attemptEnv: () => trackingEnv(trackingUri()) }),
    });
  const timings = options.scheduler ?? {};
  const leaseMs = timings.leaseMs ?? SCHEDULER_DEFAULTS.leaseMs;
  const scheduler = new Scheduler({
    ...timings,
    store: workflowStore,
    batches,
    executor,
    artifacts,
    logs,
    clock,
    leaseMs,
    renewEveryMs: timings.renewEveryMs ?? Math.max(10, Math.floor(leaseMs / 3)),
    ...(options.tracking === false
      ? {}
      : { tracking: new ExecutionTracking({ experiments: deps.experiments, runs: deps.runs }) }),
  });
  const service = new WorkflowService({
    store: workflowStore,
    batches,
    artifacts,
    runs: deps.runs,
    logs: new WorkflowLogs({
      store: workflowStore,
      artifacts,
      logs,
      ...(options.logPollMs === undefined ? {} : { pollMs: options.logPollMs }),
    }),
    scheduler,
    clock,
  });
  return { service, scheduler };
}

/** The environment that points a task's tracking clients at `uri`. */
function trackingEnv(uri: string | undefined): Record<string, string> {
  return uri === undefined ? {} : { KEEL_TRACKING_URI: uri, MLFLOW_TRACKING_URI: uri };
}
