/**
 * Puts the deployments on a Fastify app: the runtime that keeps them loaded, the serving routes
 * that lease them, and the metrics both report to. Used by `keel serving`; the Keel server can do
 * the same in `buildApp`.
 */
import type { FastifyInstance } from 'fastify';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { InFlightLimit } from '../http/load-shedding.js';
import type { LoadModelOptions } from '../models/load-model.js';
import type { PredictionRecorder } from '../predictions/prediction-recorder.js';
import type { DeploymentService } from '../services/deployments/deployment-service.js';
import type { RegistryService } from '../services/registry/registry-service.js';
import { DeploymentMetrics } from './routes/deployment-metrics.js';
import { registerDeploymentServingRoutes } from './routes/deployment-serving-routes.js';
import { DeploymentRuntime } from './runtime/deployment-runtime.js';

/** Options of {@link hostDeployments}. */
export interface HostDeploymentsOptions {
  /** The services the runtime and routes use (a `Services` object fits). */
  services: {
    deployments: DeploymentService;
    registry: RegistryService;
    predictionRecorder: Pick<PredictionRecorder, 'record' | 'stats'>;
  };
  /** The artifact store holding the registry's copies of version files. */
  artifacts: ArtifactStore;
  /** Local folder versions are copied into before loading (see `ModelCache`). */
  cacheDir: string;
  /** @default DEFAULT_POLL_INTERVAL_MS (2 s) */
  pollIntervalMs?: number;
  /** @default DEFAULT_IDLE_EVICT_MS (60 s) */
  idleEvictMs?: number;
  /** Options for every model load. @default {} */
  loadOptions?: LoadModelOptions;
  /** Export Node's process metrics on `/metrics` too (once per process). @default false */
  processMetrics?: boolean;
  /** Serve `GET /metrics`. @default true */
  metricsRoute?: boolean;
  /** The process's in-flight limit, which calls answered without Fastify's hooks count against. @default none */
  inFlight?: InFlightLimit;
}

/**
 * Creates a {@link DeploymentRuntime} and registers the deployment serving routes on `app`
 * (`registerDeploymentServingRoutes`), with one `DeploymentMetrics` fed by both (the runtime reports
 * each deployment's state and failed loads to it, and `/ready` reads its statuses). The runtime starts
 * when the app gets ready (`app.ready()`/`listen()` wait for its first load, whose failures are
 * logged, not thrown) and stops when the app closes, after the server stopped taking requests.
 * Logs through `app.log`. Call before `app.ready()`, after `installErrorHandler`.
 *
 * @example
 * installErrorHandler(app);
 * const runtime = hostDeployments(app, { services, artifacts, cacheDir: '/var/cache/keel/models' });
 * await app.listen({ port: 5002 });
 * // after a deployment changed through this process: await runtime.refresh();
 */
export function hostDeployments(app: FastifyInstance, options: HostDeploymentsOptions): DeploymentRuntime {
  const metrics = new DeploymentMetrics({ processMetrics: options.processMetrics ?? false });
  metrics.observeRecorder(options.services.predictionRecorder);
  const runtime = new DeploymentRuntime({
    deployments: options.services.deployments,
    registry: options.services.registry,
    artifacts: options.artifacts,
    cacheDir: options.cacheDir,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.idleEvictMs !== undefined ? { idleEvictMs: options.idleEvictMs } : {}),
    ...(options.loadOptions !== undefined ? { loadOptions: options.loadOptions } : {}),
    batchObserver: (labels) => metrics.batchObserver(labels),
    statusObserver: metrics,
    logger: {
      info: (object, message) => app.log.info(object, message),
      warn: (object, message) => app.log.warn(object, message),
      error: (object, message) => app.log.error(object, message),
    },
  });
  registerDeploymentServingRoutes(app, {
    runtime,
    recorder: options.services.predictionRecorder,
    metrics,
    statuses: runtime,
    ...(options.metricsRoute !== undefined ? { metricsRoute: options.metricsRoute } : {}),
    ...(options.inFlight !== undefined ? { inFlight: options.inFlight } : {}),
  });
  app.addHook('onReady', () => runtime.start());
  app.addHook('onClose', () => runtime.stop());
  return runtime;
}
