import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { ArtifactStore } from './artifacts/artifact-store.js';
import { openArtifactStore } from './artifacts/open-artifact-store.js';
import type { ChangeSink } from './changes/change.js';
import type { ServerConfig } from './config.js';
import { hostDeployments } from './deployments/host-deployments.js';
import { isServingCall } from './deployments/routes/index.js';
import { installErrorHandler } from './http/error-handler.js';
import { lazyChildLoggerFactory } from './http/lazy-child-logger.js';
import { listenUri } from './http/listen-uri.js';
import { installLoadShedding } from './http/load-shedding.js';
import { registerBodyParsers, registerRpcs } from './http/rpc.js';
import { registerWebUi, type WebUiOptions } from './http/web-ui.js';
import { registerArtifactRoutes } from './routes/artifacts.js';
import { auditRpcs } from './routes/audit.js';
import { deploymentRpcs } from './routes/deployments.js';
import { experimentRpcs } from './routes/experiments.js';
import { registerHealthRoutes } from './routes/health.js';
import { lineageRpcs } from './routes/lineage.js';
import { registerLoggedModelRoutes } from './routes/logged-models.js';
import { metricRpcs } from './routes/metrics.js';
import { registerPredictionRoutes } from './routes/predictions.js';
import { registerRegistryRoutes } from './routes/registry.js';
import { runRpcs } from './routes/runs.js';
import { webhookRpcs } from './routes/webhooks.js';
import { registerWorkflowRoutes } from './routes/workflows.js';
import { createServices, type Services } from './services/services.js';
import type { StoreConnection } from './store/database.js';
import type { WorkflowEngineOptions } from './workflows/workflow-engine.js';

/** Largest JSON body accepted: a log-inputs call may carry a 16 MB dataset profile. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** What {@link buildApp} needs: an open, migrated store and the resolved configuration. */
export interface AppOptions {
  store: StoreConnection;
  /** `s3` is only needed for an `s3://` artifacts destination. */
  config: Pick<ServerConfig, 'artifactsDestination' | 'logLevel'> &
    Partial<Pick<ServerConfig, 's3'>> & {
      /** Webhook delivery settings; tests pass short backoffs. @default DEFAULT_WEBHOOK_DELIVERY */
      webhooks?: Partial<ServerConfig['webhooks']>;
      /** Spill folder of the prediction recorder. @default see `ServicesOptions.predictionSpillDir` */
      predictionSpillDir?: string;
      /** Where deployments copy model versions before loading them. @default a folder under the OS temp folder */
      modelCacheDir?: string;
    } & Partial<Pick<ServerConfig, 'workflowWorkers' | 'workflowCacheDir' | 'workflowLeaseMs'>>;
  /**
   * Hosting of deployments (`/deployments/{name}/…`, `/v2/models/{name}/…`, `/metrics`): the runtime's
   * options, or `false` to serve only the tracking and registry APIs. @default {}
   */
  deployments?: false | { pollIntervalMs?: number; idleEvictMs?: number };
  /** Pass `false` to silence request logs (tests). @default true */
  logger?: boolean;
  /**
   * The artifact store; the caller keeps ownership. By default the app opens the one
   * `config.artifactsDestination` names and closes it with the app.
   */
  artifacts?: ArtifactStore;
  services?: Services;
  /** Extra change sinks for the services the app builds (tests). @default [] */
  changeSinks?: readonly ChangeSink[];
  /** Requests held at once before answering 503 (see `http/load-shedding.ts`). @default DEFAULT_MAX_IN_FLIGHT */
  maxInFlight?: number;
  /**
   * The workflow engine the app builds: its settings (overriding `config.workflow*`), or `false`
   * to serve the workflow API without running executions (another process runs them). Its
   * `trackingUri` defaults to the app's listen address (with `services` given, the caller sets it).
   * @default {}
   */
  workflows?: false | WorkflowEngineOptions;
  /**
   * The web UI at `/` (see `http/web-ui.ts`): where its built files are, or `false` to serve only the
   * APIs. @default {} (the built `@keel/web` package; a page saying how to build it when missing)
   */
  webUi?: false | WebUiOptions;
}

/**
 * Builds the Keel HTTP application: MLflow's tracking API under its three prefixes, the artifact
 * proxy, health and version routes, one error handler. Does not listen; call `app.listen()` or
 * `app.inject()`.
 */
/** Writes that can change what a deployment serves: deployment CRUD and registry versions, aliases, stages. */
const CHANGES_DEPLOYMENTS = /\/(keel\/deployments|registered-models|model-versions)\//;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  let logsDebug = false;
  const app = Fastify({
    logger: options.logger === false ? false : { level: options.config.logLevel },
    bodyLimit: MAX_BODY_BYTES,
    // MLflow clients send query lists as repeated keys (`?run_ids=a&run_ids=b`).
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id',
    // Prediction calls are logged by their prediction records, not by two lines each (debug keeps them).
    logController: new LogController({
      disableRequestLogging: (request: { url?: string }) => !logsDebug && isServingCall(request.url ?? ''),
    }),
  });
  logsDebug = ['debug', 'trace'].includes(app.log.level);
  app.setChildLoggerFactory(lazyChildLoggerFactory);
  const artifacts =
    options.artifacts ?? openArtifactStore(options.config.artifactsDestination, options.config.s3);
  if (options.artifacts === undefined) app.addHook('onClose', () => artifacts.close());
  let services = options.services;
  if (services === undefined) {
    services = createServices(options.store, {
      artifacts,
      ...(options.config.webhooks ? { webhooks: options.config.webhooks } : {}),
      ...(options.changeSinks ? { changeSinks: options.changeSinks } : {}),
      ...(options.config.predictionSpillDir ? { predictionSpillDir: options.config.predictionSpillDir } : {}),
      // Tasks reach this server at its listen address once it listens (see WorkflowEngineOptions.trackingUri).
      workflows: { trackingUri: () => listenUri(app.server.address()), ...workflowEngineOptions(options) },
    });
  }
  // One webhook dispatcher per server process; it picks up whatever the outbox holds on start.
  const dispatcher = services.webhookDispatcher;
  app.addHook('onReady', async () => dispatcher.start(app.log));
  app.addHook('onClose', () => dispatcher.stop());
  // Replays spill files a stopped or crashed process left; on close, writes (or spills) the buffer.
  const predictionRecorder = services.predictionRecorder;
  app.addHook('onReady', async () => predictionRecorder.start(app.log));
  app.addHook('onClose', () => predictionRecorder.close());
  // One workflow scheduler per server process; on start it takes over executions whose process died.
  if (options.workflows !== false) {
    const scheduler = services.workflowScheduler;
    app.addHook('onReady', async () => scheduler.start(app.log));
    app.addHook('onClose', () => scheduler.stop());
  }
  const inFlight = installLoadShedding(app, options.maxInFlight);
  registerBodyParsers(app);
  installErrorHandler(app);
  registerHealthRoutes(app, options.store);
  registerRpcs(app, [
    ...experimentRpcs(services.experiments),
    ...runRpcs(services.runs),
    ...metricRpcs(services.metrics),
    ...webhookRpcs(services.webhooks),
    ...auditRpcs(services.audit),
    ...deploymentRpcs(services.deployments),
  ]);
  registerArtifactRoutes(app, services.artifacts);
  registerLoggedModelRoutes(app, services.loggedModels);
  registerRegistryRoutes(app, services.registry);
  registerRpcs(app, lineageRpcs(services.lineage));
  registerPredictionRoutes(app, services.predictions);
  registerWorkflowRoutes(app, services.workflows);
  if (options.webUi !== false) registerWebUi(app, options.webUi ?? {});
  if (options.deployments !== false) {
    const runtime = hostDeployments(app, {
      services,
      artifacts,
      cacheDir: options.config.modelCacheDir ?? join(tmpdir(), 'keel-model-cache'),
      inFlight,
      ...options.deployments,
    });
    // A change made through this process applies at once; others (another replica, `keel serving`)
    // are picked up by the runtime's polling.
    app.addHook('onResponse', (request, reply, done) => {
      if (request.method !== 'GET' && reply.statusCode < 300 && CHANGES_DEPLOYMENTS.test(request.url)) {
        runtime
          .refresh()
          .catch((error: unknown) => app.log.warn({ err: error }, 'Deployment refresh failed'));
      }
      done();
    });
  }
  await app.ready();
  return app;
}

/** The workflow engine settings: `config.workflow*`, then the app's explicit options. */
function workflowEngineOptions(options: AppOptions): WorkflowEngineOptions {
  const { config } = options;
  const explicit = options.workflows === false ? {} : (options.workflows ?? {});
  return {
    ...(config.workflowWorkers === undefined ? {} : { workers: config.workflowWorkers }),
    ...(config.workflowCacheDir === undefined ? {} : { cacheDir: config.workflowCacheDir }),
    ...(config.workflowLeaseMs === undefined ? {} : { scheduler: { leaseMs: config.workflowLeaseMs } }),
    ...explicit,
  };
}
