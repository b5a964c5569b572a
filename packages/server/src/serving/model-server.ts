/**
 * The model server's HTTP app (`keel models serve`, deployments, the serving benchmark): MLflow's
 * scoring protocol, the Open Inference Protocol under `/v2` and Prometheus `/metrics`, with every
 * prediction going through one {@link MicroBatcher}.
 */
import { invalidParameter, type ModelInput } from '@keel/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { installErrorHandler } from '../http/error-handler.js';
import type { Model } from '../models/model.js';
import { MicroBatcher } from './batcher.js';
import { mlflowScoringRoutes } from './mlflow-scoring.js';
import { openInferenceRoutes } from './open-inference.js';
import { retryAfterOn503, type ServedModel, type ServingRouteConfig } from './served-model.js';
import { ServingMetrics } from './serving-metrics.js';

/**
 * Micro-batching defaults: up to 64 rows per model call and no timer wait (Triton's default): the
 * requests that arrived in one event-loop turn, and those that queued while every call slot was busy,
 * are merged and dispatched at the end of the turn.
 */
export const DEFAULT_BATCHING: Readonly<{ maxBatchSize: number; maxDelayMs: number }> = Object.freeze({
  maxBatchSize: 64,
  maxDelayMs: 0,
});

/** Rows waiting for a model call before requests get 503. @default 4096 */
export const DEFAULT_MAX_QUEUE_ROWS = 4096;

/** Largest request body: 16 MiB, the payload limit of MLflow's hosted model serving. */
export const DEFAULT_SERVING_BODY_LIMIT = 16 * 1024 * 1024;

/** Model calls in flight at once when the model does not report a worker count. */
export const DEFAULT_SERVING_CONCURRENCY = 2;

/** Options of {@link buildModelServer}. */
export interface ModelServerOptions {
  /** The model to serve (from `loadModelFromDirectory`); the caller keeps ownership and closes it. */
  model: Model;
  /**
   * Name in Open Inference Protocol paths (`/v2/models/{name}`).
   * @default model.metadata.name
   */
  name?: string;
  /** Version in Open Inference Protocol paths and responses (the registered model version). @default none */
  version?: string;
  /**
   * Micro-batching: rows per model call and how long an incomplete batch may wait for more requests.
   * `maxBatchSize: 1` turns batching off.
   * @default DEFAULT_BATCHING ({ maxBatchSize: 64, maxDelayMs: 0 })
   */
  batching?: { maxBatchSize: number; maxDelayMs: number };
  /** Rows waiting for a model call before new requests get 503 with `Retry-After`. @default 4096 */
  maxQueueRows?: number;
  /** Model calls in flight at once. @default model.workerCount, else 2 */
  concurrency?: number;
  /** Largest request body in bytes; past it the answer is 413. @default 16 MiB */
  bodyLimit?: number;
  /**
   * Also export Node's process metrics on `/metrics` (see `ServingMetricsOptions.processMetrics`).
   * @default false
   */
  processMetrics?: boolean;
  /** Fastify's logger option. @default false */
  logger?: FastifyServerOptions['logger'];
}

interface ResolvedOptions {
  readonly name: string;
  readonly version: string | undefined;
  readonly maxBatchSize: number;
  readonly maxDelayMs: number;
  readonly maxQueueRows: number;
  readonly concurrency: number;
  readonly bodyLimit: number;
  readonly processMetrics: boolean;
}

function resolveOptions(options: ModelServerOptions): ResolvedOptions {
  const { model } = options;
  const batching = options.batching ?? DEFAULT_BATCHING;
  const resolved: ResolvedOptions = {
    name: options.name ?? model.metadata.name,
    version: options.version,
    maxBatchSize: batching.maxBatchSize,
    maxDelayMs: batching.maxDelayMs,
    maxQueueRows: options.maxQueueRows ?? DEFAULT_MAX_QUEUE_ROWS,
    concurrency: options.concurrency ?? model.workerCount ?? DEFAULT_SERVING_CONCURRENCY,
    bodyLimit: options.bodyLimit ?? DEFAULT_SERVING_BODY_LIMIT,
    processMetrics: options.processMetrics ?? false,
  };
  if (resolved.name === '' || resolved.name.includes('/')) {
    throw invalidParameter(`The served model's name must be non-empty without '/', got '${resolved.name}'`);
  }
  if (resolved.version === '' || resolved.version?.includes('/')) {
    throw invalidParameter(
      `The served model's version must be non-empty without '/', got '${resolved.version}'`,
    );
  }
  // The batching sizes are checked by MicroBatcher's constructor.
  if (!Number.isInteger(resolved.bodyLimit) || resolved.bodyLimit < 1) {
    throw invalidParameter(`bodyLimit must be a positive integer, got ${JSON.stringify(resolved.bodyLimit)}`);
  }
  return Object.freeze(resolved);
}

/**
 * Builds the model server: MLflow's scoring routes (`/ping`, `/health`, `/version`, `/invocations`,
 * see `mlflow-scoring.ts`), the Open Inference Protocol under `/v2` (see `open-inference.ts`),
 * `GET /metrics` (Prometheus text, see `ServingMetrics`), and a 404 JSON answer for anything else.
 * Predictions from both protocols share one {@link MicroBatcher}; a full queue answers 503 with
 * `Retry-After: 1`. Does not listen: call `app.listen()` or `app.inject()`. Closing the app closes the
 * batcher (queued requests get 503), not the model.
 *
 * @throws INVALID_PARAMETER_VALUE for an option out of range (non-positive sizes or body limit, a
 *   negative delay, a name or version that is empty or holds `/`).
 *
 * @example
 * const model = await loadModelFromDirectory('./model');
 * const app = await buildModelServer({ model, name: 'fraud', version: '3' });
 * await app.listen({ port: 5001, host: '127.0.0.1' });
 * // …
 * await app.close();
 * await model.close();
 */
export async function buildModelServer(options: ModelServerOptions): Promise<FastifyInstance> {
  const { model } = options;
  const resolved = resolveOptions(options);
  const metrics = new ServingMetrics({ processMetrics: resolved.processMetrics });
  const batcher = new MicroBatcher(model, {
    maxBatchSize: resolved.maxBatchSize,
    maxDelayMs: resolved.maxDelayMs,
    maxQueueRows: resolved.maxQueueRows,
    concurrency: resolved.concurrency,
    observer: metrics,
  });
  const served: ServedModel = {
    model,
    name: resolved.name,
    version: resolved.version,
    bodyLimit: resolved.bodyLimit,
    predict: (input: ModelInput, params?: Record<string, unknown>) => batcher.predict(input, params),
    isReady: () => model.ready !== false,
  };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: resolved.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.addHook('onClose', () => batcher.close());
  installErrorHandler(app);
  retryAfterOn503(app);
  app.addHook('onResponse', (request, reply, done) => {
    const { protocol } = request.routeOptions.config as Partial<ServingRouteConfig>;
    const route = protocol === undefined ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.observeRequest(protocol ?? 'none', route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.register(mlflowScoringRoutes, { served });
  app.register(openInferenceRoutes, { prefix: '/v2', served });
  const metricsRoute = { config: { protocol: 'metrics' } satisfies ServingRouteConfig };
  app.get('/metrics', metricsRoute, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );
  await app.ready();
  return app;
}
