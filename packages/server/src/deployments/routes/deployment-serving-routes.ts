/**
 * The HTTP face of deployments (issue 6): MLflow scoring under `/deployments/{name}`, the Open
 * Inference Protocol under `/v2/models/{name}`, and the deployments' Prometheus `/metrics`, on the
 * Keel server (or any Fastify app with the MLflow error handler installed).
 */
import { KEEL_VERSION, KeelError } from '@keel/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { InFlightLimit } from '../../http/load-shedding.js';
import { DEFAULT_SERVING_BODY_LIMIT } from '../../serving/model-server.js';
import { installOpenInferenceErrors, type ModelMetadataResponse } from '../../serving/open-inference.js';
import { acceptTextBodies, retryAfterOn503 } from '../../serving/served-model.js';
import type { ServingProtocol } from '../../serving/serving-metrics.js';
import type { DeploymentRuntimeStatus, DeploymentStatusSource } from '../runtime/deployment-status.js';
import { DeploymentAdmission } from './admission.js';
import { armsServing, ROUTE_HEADER } from './arm-routing.js';
import {
  type InferBody,
  MLFLOW_CALL,
  ModelInfos,
  openInferenceCall,
  UnsupportedMediaTypeError,
} from './call-protocols.js';
import {
  type CallProtocol,
  type CallResources,
  decorateCallLabels,
  noteCallLabels,
  type PredictionSink,
  RouteCall,
  type ServingArm,
  type ServingLease,
  type ServingLeases,
  serveCall,
} from './deployment-call.js';
import type { DeploymentMetricLabels, DeploymentMetrics } from './deployment-metrics.js';
import { answerCallsDirectly } from './direct-calls.js';

/** Options of {@link registerDeploymentServingRoutes}. */
export interface DeploymentServingRoutesOptions {
  /** Leases deployments (the `DeploymentRuntime`). */
  runtime: ServingLeases;
  /** Gets one record per answered call and per shadow call (the `PredictionRecorder`). */
  recorder: PredictionSink;
  /** Request, batch and queue metrics; also the runtime's batch observer factory. */
  metrics: DeploymentMetrics;
  /** Largest request body in bytes; past it the answer is 413. @default DEFAULT_SERVING_BODY_LIMIT (16 MiB) */
  bodyLimit?: number;
  /** Source of the weighted draw between arms, in [0, 1) (tests pass a seeded one). @default Math.random */
  random?: () => number;
  /** Serve `GET /metrics` with {@link DeploymentServingRoutesOptions.metrics}. @default true */
  metricsRoute?: boolean;
  /**
   * The process's in-flight limit (`installLoadShedding`'s): calls answered on the direct path
   * count against it too. @default none
   */
  inFlight?: InFlightLimit;
  /**
   * Where `/deployments/{name}/ready` reads each deployment's state, revisions and latest error
   * (the `DeploymentRuntime`). @default none: the body is `{name, ready}` only
   */
  statuses?: DeploymentStatusSource;
}

/**
 * Whether `url` is a call to a deployment's model (`/deployments/{name}/invocations`,
 * `/v2/models/{name}[/versions/{v}]/infer`): the Keel server does not write its two request log lines
 * for those (their prediction records log them) unless it logs at `debug`.
 */
export function isServingCall(url: string): boolean {
  return (
    (url.startsWith('/deployments/') && url.includes('/invocations')) ||
    (url.startsWith('/v2/models/') && url.includes('/infer'))
  );
}

/** Labels of a request no deployment answered (an unknown one). */
const NO_LABELS: DeploymentMetricLabels = Object.freeze({});

interface DeploymentParams {
  name: string;
  version?: string;
}

/**
 * Registers the deployment serving routes on `app`. The MLflow routes answer errors through the app's
 * error handler (install `installErrorHandler` first, as the Keel server does); the `/v2` routes
 * answer `{"error": "<message>"}` (their own scope, with a 404 of that shape for unknown `/v2` paths).
 *
 * MLflow scoring (`mlflow-compat.md` §4):
 * - `POST /deployments/{name}/invocations`: JSON or CSV, exactly as `/invocations` (415 in plain text
 *   for an unsupported content type, 400 for a malformed body or one that does not fit the signature
 *   of the arm's model) → `{"predictions": …}`;
 * - `GET /deployments/{name}/ping` and `…/health` → 200 `"\n"` when every route's model is ready, else 503;
 * - `GET /deployments/{name}/ready` → 200 `{name, ready: true, …}` or 503 `{name, ready: false, …}`,
 *   with `state`, `desired_revision`, `serving_revision` and `error` from `statuses` (see
 *   `DeploymentRuntimeStatus`).
 *
 * Open Inference Protocol (`serving-and-monitoring.md` §1), `{name}` being the deployment's name:
 * - `POST /v2/models/{name}/infer` → an inference response whose `model_version` is the answering arm's;
 * - `POST /v2/models/{name}/versions/{version}/infer` → served only by arms serving that model version
 *   (404 when none does);
 * - `GET /v2/models/{name}[/versions/{version}]` → model metadata of one arm: the arm serving
 *   `version`, else the arm named by `x-keel-route`, else the heaviest route; `versions` lists the
 *   versions the deployment serves;
 * - `GET /v2/models/{name}[/versions/{version}]/ready`; `GET /v2`, `/v2/health/live`, `/v2/health/ready`.
 *
 * Routing (see `chooseArm`): an explicit version, else the arm named by the `x-keel-route` request
 * header, else the `x-keel-routing-key` header's hash (a stable cohort per key), else a weighted draw.
 * Every call's response carries `x-request-id` (the caller's, or a new UUID) and, once an arm was
 * chosen, `x-keel-route: <arm>`; the shadow, if any, gets a copy of the call, off the caller's path.
 *
 * The `POST` calls are answered straight from `app.server`'s request listener when they can be
 * (`direct-calls.ts`, the same {@link serveCall} without Fastify's per-request machinery); the
 * routes answer the rest, and every call `app.inject()` sends.
 *
 * Records: one `recorder.record` per call answered by an arm (success or error, including 400 and 415)
 * and one per shadow call (arm `shadow`, same request id). An unknown deployment (404), a deployment
 * not ready yet (503 with `Retry-After`) and an explicit version no arm serves (404) are not recorded.
 * A full micro-batcher queue answers 503 with `Retry-After: 1`.
 *
 * @example
 * const metrics = new DeploymentMetrics();
 * registerDeploymentServingRoutes(app, { runtime, recorder: services.predictionRecorder, metrics });
 */
export function registerDeploymentServingRoutes(
  app: FastifyInstance,
  options: DeploymentServingRoutesOptions,
): void {
  const { runtime, recorder, metrics } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_SERVING_BODY_LIMIT;
  const resources: CallResources = {
    runtime,
    recorder,
    random: options.random ?? Math.random,
  };
  const admission = new DeploymentAdmission({ runtime, metrics, noteLabels: noteCallLabels });
  const infos = new ModelInfos();
  const infer = openInferenceCall(infos);
  const observe = (scope: FastifyInstance, protocol: ServingProtocol) => {
    scope.addHook('onResponse', (request, reply, done) => {
      metrics.observeRequest(
        request.keelDeploymentLabels ?? NO_LABELS,
        protocol,
        request.routeOptions.url ?? 'unmatched',
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
      done();
    });
  };

  app.register((scope, _options, done) => {
    decorateCallLabels(scope);
    acceptTextBodies(scope, bodyLimit);
    retryAfterOn503(scope);
    admission.install(scope);
    observe(scope, 'mlflow');
    mlflowRoutes(scope, resources, options.statuses);
    done();
  });
  app.register(
    (scope, _options, done) => {
      decorateCallLabels(scope);
      acceptTextBodies(scope, bodyLimit);
      installOpenInferenceErrors(scope);
      retryAfterOn503(scope);
      admission.install(scope);
      observe(scope, 'oip');
      openInferenceRoutes(scope, resources, infos, infer);
      done();
    },
    { prefix: '/v2' },
  );
  answerCallsDirectly(app, {
    resources,
    admission,
    metrics,
    bodyLimit,
    mlflow: MLFLOW_CALL,
    openInference: infer,
    inFlight: options.inFlight,
  });
  if (options.metricsRoute !== false) {
    app.get('/metrics', async (_request, reply) =>
      reply.type(metrics.contentType).send(await metrics.render()),
    );
  }
}

function mlflowRoutes(
  scope: FastifyInstance,
  resources: CallResources,
  statuses: DeploymentStatusSource | undefined,
): void {
  for (const url of ['/deployments/:name/ping', '/deployments/:name/health']) {
    scope.get<{ Params: DeploymentParams }>(url, async (request, reply) => {
      const ready = readiness(resources.runtime, request.params.name);
      return reply
        .status(ready ? 200 : 503)
        .type('application/json')
        .send('\n');
    });
  }
  scope.get<{ Params: DeploymentParams }>('/deployments/:name/ready', async (request, reply) => {
    const { name } = request.params;
    const ready = readiness(resources.runtime, name);
    return reply.status(ready ? 200 : 503).send({ name, ready, ...readyDetails(statuses?.statusOf(name)) });
  });
  scope.post<{ Params: DeploymentParams }>('/deployments/:name/invocations', async (request, reply) => {
    let output: string;
    try {
      const call = new RouteCall(request, reply);
      output = await serveCall(resources, call, { deployment: request.params.name }, MLFLOW_CALL);
    } catch (error) {
      if (!(error instanceof UnsupportedMediaTypeError)) throw error;
      return reply.status(415).type('text/plain; charset=utf-8').send(error.message);
    }
    return sendJson(reply, output);
  });
}

function openInferenceRoutes(
  scope: FastifyInstance,
  resources: CallResources,
  infos: ModelInfos,
  infer: CallProtocol<InferBody>,
): void {
  const { runtime } = resources;

  scope.get('/', async () => ({ name: 'keel', version: KEEL_VERSION, extensions: [] }));
  scope.get('/health/live', async () => ({ live: true }));
  scope.get('/health/ready', async () => ({ ready: true }));

  for (const base of ['/models/:name', '/models/:name/versions/:version']) {
    scope.get<{ Params: DeploymentParams }>(base, async (request) => {
      const { name, version } = request.params;
      return withLease(runtime, name, (lease): ModelMetadataResponse => {
        const arm = metadataArm(lease, version, request.headers[ROUTE_HEADER]);
        const info = infos.of(arm.model);
        return {
          name,
          versions: version === undefined ? [...new Set(lease.arms.map((a) => a.modelVersion))] : [version],
          platform: info.platform,
          ...info.tensors,
        };
      });
    });
    scope.get<{ Params: DeploymentParams }>(`${base}/ready`, async (request, reply) => {
      const { name, version } = request.params;
      const ready = readiness(runtime, name, version);
      return reply.status(ready ? 200 : 503).send({ name, ready });
    });
    scope.post<{ Params: DeploymentParams }>(`${base}/infer`, async (request, reply) => {
      const { name, version } = request.params;
      const output = await serveCall(
        resources,
        new RouteCall(request, reply),
        { deployment: name, version },
        infer,
      );
      return sendJson(reply, output);
    });
  }
}

/** Sends JSON text as it is (serialised once, by `serveCall`, for the reply and the record alike). */
function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

/** Runs `read` on a lease of `name` and gives the lease back at once. */
function withLease<T>(runtime: ServingLeases, name: string, read: (lease: ServingLease) => T): T {
  const lease = runtime.lease(name);
  try {
    return read(lease);
  } finally {
    lease.release();
  }
}

/**
 * Whether deployment `name` can answer now (only its arms serving `version`, when given): it has a
 * lease to give and the arms' models are ready.
 *
 * @throws RESOURCE_DOES_NOT_EXIST for an unknown deployment or a version no arm serves.
 */
function readiness(runtime: ServingLeases, name: string, version?: string): boolean {
  try {
    return withLease(runtime, name, (lease) =>
      armsServing(name, lease.arms, version).every((arm) => arm.model.ready !== false),
    );
  } catch (error) {
    if (error instanceof KeelError && error.code === 'TEMPORARILY_UNAVAILABLE') return false;
    throw error;
  }
}

/** The part of a deployment's status the `/ready` body carries (nothing when there is no status). */
function readyDetails(status: DeploymentRuntimeStatus | undefined) {
  if (status === undefined) return {};
  return {
    state: status.state,
    desired_revision: status.desired_revision,
    ...(status.serving_revision !== undefined ? { serving_revision: status.serving_revision } : {}),
    ...(status.error !== undefined ? { error: status.error } : {}),
  };
}

/** The arm whose model metadata describes the deployment: see {@link registerDeploymentServingRoutes}. */
function metadataArm(
  lease: ServingLease,
  version: string | undefined,
  route: string | string[] | undefined,
): ServingArm {
  const candidates = armsServing(lease.deployment, lease.arms, version);
  const pinned = candidates.find((arm) => arm.name === (Array.isArray(route) ? route[0] : route));
  if (pinned !== undefined) return pinned;
  return candidates.reduce((heaviest, arm) => (arm.weight > heaviest.weight ? arm : heaviest));
}
