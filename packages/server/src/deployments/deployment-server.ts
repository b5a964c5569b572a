/**
 * The app of `keel serving`: the deployments of a Keel store served from a process of their own
 * (scale-out beside, or instead of, the Keel server), with no tracking or registry API.
 */
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { openArtifactStore } from '../artifacts/open-artifact-store.js';
import type { ServerConfig } from '../config.js';
import { installErrorHandler } from '../http/error-handler.js';
import { registerHealthRoutes } from '../routes/health.js';
import { createServices } from '../services/services.js';
import type { StoreConnection } from '../store/database.js';
import { hostDeployments } from './host-deployments.js';
import type { DeploymentRuntime } from './runtime/deployment-runtime.js';

/** What {@link buildDeploymentServer} needs: an open, migrated store and where things live. */
export interface DeploymentServerOptions {
  store: StoreConnection;
  /** `s3` is only needed for an `s3://` artifacts destination. */
  config: Pick<ServerConfig, 'artifactsDestination' | 'logLevel' | 'predictionSpillDir'> &
    Partial<Pick<ServerConfig, 's3'>>;
  /** Local folder versions are copied into before loading (see `ModelCache`). */
  cacheDir: string;
  /**
   * The artifact store; the caller keeps ownership. By default the server opens the one
   * `config.artifactsDestination` names and closes it with the app.
   */
  artifacts?: ArtifactStore;
  /** @default DEFAULT_POLL_INTERVAL_MS (2 s) */
  pollIntervalMs?: number;
  /** @default DEFAULT_IDLE_EVICT_MS (60 s) */
  idleEvictMs?: number;
  /** Also export Node's process metrics on `/metrics`. @default true */
  processMetrics?: boolean;
  /** Pass `false` to silence logs (tests). @default true */
  logger?: boolean;
}

/** A deployment server and its runtime (for `refresh()` after changes, and status). */
export interface DeploymentServer {
  app: FastifyInstance;
  runtime: DeploymentRuntime;
}

/**
 * Builds the deployment server: every deployment of the store served as on the Keel server
 * (`registerDeploymentServingRoutes`: `/deployments/{name}/…`, `/v2/models/{name}/…`, `/metrics`),
 * plus `GET /health` (the backend store answers) and `GET /version`. Every call is recorded through
 * this process's own prediction recorder (spilling to `config.predictionSpillDir`, which processes
 * may share). The deployments are loaded before the app is ready; the store is polled for changes.
 * Closing the app stops the runtime (closing every model), then writes the recorder's buffer.
 * Does not listen: call `app.listen()` or `app.inject()`.
 *
 * @example
 * const store = openStore(config.backendStoreUri);
 * const { app } = await buildDeploymentServer({ store, config, cacheDir: '/var/cache/keel/models' });
 * await app.listen({ host: '0.0.0.0', port: 5002 });
 */
export async function buildDeploymentServer(options: DeploymentServerOptions): Promise<DeploymentServer> {
  const app = Fastify({
    logger: options.logger === false ? false : { level: options.config.logLevel },
    // Two log lines per prediction would cost more than the prediction; the runtime logs its loads.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id',
  });
  const artifacts =
    options.artifacts ?? openArtifactStore(options.config.artifactsDestination, options.config.s3);
  const services = createServices(options.store, {
    artifacts,
    predictionSpillDir: options.config.predictionSpillDir,
  });
  installErrorHandler(app);
  registerHealthRoutes(app, options.store);
  const runtime = hostDeployments(app, {
    services,
    artifacts,
    cacheDir: options.cacheDir,
    processMetrics: options.processMetrics ?? true,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.idleEvictMs !== undefined ? { idleEvictMs: options.idleEvictMs } : {}),
  });
  const recorder = services.predictionRecorder;
  app.addHook('onReady', async () => recorder.start(app.log));
  app.addHook('onClose', async () => {
    // In this order whatever order Fastify runs its hooks in: shadow calls still running record
    // when the runtime's batchers settle, before the recorder writes its buffer.
    await runtime.stop();
    await recorder.close();
    if (options.artifacts === undefined) await artifacts.close();
  });
  await app.ready();
  return { app, runtime };
}
