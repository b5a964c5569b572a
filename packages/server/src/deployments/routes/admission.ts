/**
 * Admission control of deployment calls (issue 6, "Operations"): how many calls each deployment is
 * answering now, and the Fastify hooks that refuse a call with 429 and `Retry-After` once its
 * deployment has `resources.maxConcurrentRequests` of them in flight.
 */
import { type DeploymentSpec, KeelError } from '@keel/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServingLease } from './deployment-call.js';
import type { DeploymentMetricLabels, DeploymentMetrics } from './deployment-metrics.js';

/** Seconds a refused caller is told to wait before retrying (`Retry-After`), as for a 503. */
export const ADMISSION_RETRY_AFTER_SECONDS = 1;

/**
 * Where admission reads a deployment's limit: a lease on its current revision, given back at once
 * (O(1) in the runtime). The runtime's leases carry the whole spec (`DeploymentLease.spec`); any
 * `ServingLeases` fits, and a lease whose spec shows no `resources` sets no limit.
 */
export interface AdmissionLeases {
  /** @throws KeelError for a deployment that cannot be leased now (unknown, not ready). */
  lease(name: string): {
    readonly spec: ServingLease['spec'] & Pick<DeploymentSpec, 'resources'>;
    release(): void;
  };
}

/** Options of {@link DeploymentAdmission}. */
export interface DeploymentAdmissionOptions {
  /** Where the limits are read (the deployment runtime). */
  runtime: AdmissionLeases;
  /** Gets the refusals and the in-flight counts. */
  metrics: Pick<DeploymentMetrics, 'observeRejection' | 'setInFlight'>;
  /**
   * Where the routes note who answered a request, for their request metrics (`noteCallLabels`): a
   * refused call is noted with its deployment. @default not noted
   */
  noteLabels?: (request: FastifyRequest, labels: DeploymentMetricLabels) => void;
}

/**
 * Counts of calls in flight per deployment. A deployment with no call in flight has no entry, so
 * deleted deployments leave nothing behind.
 *
 * @example
 * const counts = new InFlightCounts();
 * counts.tryAdd('fraud', 2); // true: 1 in flight
 * counts.remove('fraud'); // 0
 */
export class InFlightCounts {
  readonly #counts = new Map<string, number>();

  /** Calls of `deployment` in flight. */
  of(deployment: string): number {
    return this.#counts.get(deployment) ?? 0;
  }

  /**
   * Counts one more call of `deployment` unless `limit` or more are in flight already (a limit
   * lowered meanwhile may leave more); whether it did.
   */
  tryAdd(deployment: string, limit: number): boolean {
    const count = this.of(deployment);
    if (count >= limit) return false;
    this.#counts.set(deployment, count + 1);
    return true;
  }

  /** Counts one call of `deployment` less and returns the new count. */
  remove(deployment: string): number {
    const count = this.of(deployment) - 1;
    if (count > 0) this.#counts.set(deployment, count);
    else this.#counts.delete(deployment);
    return Math.max(count, 0);
  }
}

/**
 * Admission control of the deployment serving routes, shared by their scopes so that one limit
 * covers both protocols. Install it in each scope with {@link install}.
 *
 * - A call is a `POST` to a route with a `:name` parameter (`/deployments/{name}/invocations`,
 *   `/v2/models/{name}[/versions/{v}]/infer`). Other requests are not counted.
 * - When the call arrives (`onRequest`, before its body is read), the deployment's current
 *   `resources.maxConcurrentRequests` is read from a lease. At the limit, the call is answered
 *   **429** RESOURCE_EXHAUSTED with `Retry-After: 1` through the scope's error handler (so in each
 *   protocol's error shape), counted in `keel_deployment_rejected_requests_total{reason="concurrency"}`,
 *   and not recorded as a prediction (no arm answered it). Otherwise it is admitted and counted.
 * - A deployment that cannot be leased (unknown, not ready) is not counted: its route answers 404 or 503.
 * - An admitted call is released exactly once, when its answer (success or error) is handed to be
 *   sent (`onSend`); `onResponse` releases it too if an answer ever bypasses `onSend`. A client that
 *   disconnects does not free the slot early: the call keeps it until the deployment has answered,
 *   so the limit bounds the model work, not the open connections. (Fastify fires neither
 *   `onResponse` nor `onRequestAbort` for a client that disconnects after sending its body, but the
 *   handler's answer still goes through `onSend`.)
 *
 * @example
 * const admission = new DeploymentAdmission({ runtime, metrics });
 * app.register((scope, _options, done) => {
 *   admission.install(scope);
 *   // …routes
 *   done();
 * });
 */
export class DeploymentAdmission {
  readonly #runtime: AdmissionLeases;
  readonly #metrics: DeploymentAdmissionOptions['metrics'];
  readonly #noteLabels: DeploymentAdmissionOptions['noteLabels'];
  readonly #counts = new InFlightCounts();
  /** The admitted calls not yet released, with their deployment. */
  readonly #admitted = new WeakMap<FastifyRequest, string>();

  constructor(options: DeploymentAdmissionOptions) {
    this.#runtime = options.runtime;
    this.#metrics = options.metrics;
    this.#noteLabels = options.noteLabels;
  }

  /** Calls of `deployment` admitted and not yet answered. */
  inFlight(deployment: string): number {
    return this.#counts.of(deployment);
  }

  /**
   * Admits a call to `deployment` that bypasses the routes' hooks (`direct-calls.ts`): `true` when
   * it is admitted and counted (call {@link leave} once it is answered), `false` when the deployment
   * cannot be leased or is at its limit. Then nothing is counted and nothing refused: the caller
   * hands the request to the routes, whose hooks answer it.
   */
  tryEnter(deployment: string): boolean {
    const limit = this.#limitOf(deployment);
    if (limit === undefined || !this.#counts.tryAdd(deployment, limit)) return false;
    this.#metrics.setInFlight(deployment, this.#counts.of(deployment));
    return true;
  }

  /** Releases a call {@link tryEnter} admitted; call exactly once per admitted call. */
  leave(deployment: string): void {
    this.#metrics.setInFlight(deployment, this.#counts.remove(deployment));
  }

  /** Adds the admission hooks to `scope` (see {@link DeploymentAdmission}). */
  install(scope: FastifyInstance): void {
    scope.addHook('onRequest', (request, reply, done) => {
      const refusal = this.#admit(request, reply);
      if (refusal === undefined) done();
      else done(refusal);
    });
    scope.addHook('onSend', (request, _reply, payload, done) => {
      this.#release(request);
      done(null, payload);
    });
    scope.addHook('onResponse', (request, _reply, done) => {
      this.#release(request);
      done();
    });
  }

  /** Admits a call (or lets through what is no call); the error to answer when it is refused. */
  #admit(request: FastifyRequest, reply: FastifyReply): KeelError | undefined {
    const deployment = calledDeployment(request);
    if (deployment === undefined) return undefined;
    const limit = this.#limitOf(deployment);
    if (limit === undefined) return undefined;
    if (!this.#counts.tryAdd(deployment, limit)) return this.#refuse(request, reply, deployment);
    this.#admitted.set(request, deployment);
    this.#metrics.setInFlight(deployment, this.#counts.of(deployment));
    return undefined;
  }

  /**
   * The deployment's current limit (`Infinity` when it sets none); `undefined` when it cannot be
   * leased now, in which case its route answers (404, 503).
   */
  #limitOf(deployment: string): number | undefined {
    let lease: ReturnType<AdmissionLeases['lease']>;
    try {
      lease = this.#runtime.lease(deployment);
    } catch (error) {
      if (error instanceof KeelError) return undefined;
      throw error;
    }
    try {
      return lease.spec.resources?.maxConcurrentRequests ?? Number.POSITIVE_INFINITY;
    } finally {
      lease.release();
    }
  }

  #refuse(request: FastifyRequest, reply: FastifyReply, deployment: string): KeelError {
    this.#metrics.observeRejection(deployment, 'concurrency');
    this.#noteLabels?.(request, { deployment });
    reply.header('retry-after', String(ADMISSION_RETRY_AFTER_SECONDS));
    const count = this.#counts.of(deployment);
    return new KeelError(
      'RESOURCE_EXHAUSTED',
      `Deployment '${deployment}' has ${count} ${count === 1 ? 'request' : 'requests'} in flight (its limit, resources.maxConcurrentRequests); retry later`,
    );
  }

  /** Releases an admitted call; a no-op for a call not admitted or already released. */
  #release(request: FastifyRequest): void {
    const deployment = this.#admitted.get(request);
    if (deployment === undefined) return;
    this.#admitted.delete(request);
    this.leave(deployment);
  }
}

/** The deployment a request calls: the `:name` of a `POST` route; `undefined` for anything else. */
function calledDeployment(request: FastifyRequest): string | undefined {
  if (request.method !== 'POST') return undefined;
  const { params } = request;
  if (typeof params !== 'object' || params === null || !('name' in params)) return undefined;
  return typeof params.name === 'string' ? params.name : undefined;
}
