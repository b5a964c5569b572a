import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.js';
import { installErrorHandler } from './http/error-handler.js';
import { registerBodyParsers, registerRpcs } from './http/rpc.js';
import { experimentRpcs } from './routes/experiments.js';
import { registerHealthRoutes } from './routes/health.js';
import { metricRpcs } from './routes/metrics.js';
import { runRpcs } from './routes/runs.js';
import { createServices, type Services } from './services/services.js';
import type { StoreConnection } from './store/database.js';

/** Largest JSON body accepted: a log-inputs call may carry a 16 MB dataset profile. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** What {@link buildApp} needs: an open, migrated store and the resolved configuration. */
export interface AppOptions {
  store: StoreConnection;
  config: Pick<ServerConfig, 'artifactsDestination' | 'logLevel'>;
  /** Pass `false` to silence request logs (tests). @default true */
  logger?: boolean;
  services?: Services;
}

/**
 * Builds the Keel HTTP application: MLflow's tracking API under its three prefixes, health and
 * version routes, one error handler. Does not listen; call `app.listen()` or `app.inject()`.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : { level: options.config.logLevel },
    bodyLimit: MAX_BODY_BYTES,
    // MLflow clients send query lists as repeated keys (`?run_ids=a&run_ids=b`).
    routerOptions: { ignoreTrailingSlash: true },
    requestIdHeader: 'x-request-id',
  });
  const services = options.services ?? createServices(options.store);
  registerBodyParsers(app);
  installErrorHandler(app);
  registerHealthRoutes(app, options.store);
  registerRpcs(app, [
    ...experimentRpcs(services.experiments),
    ...runRpcs(services.runs),
    ...metricRpcs(services.metrics),
  ]);
  await app.ready();
  return app;
}
