/**
 * One call to a deployment, whatever its protocol: take a lease on the deployment, choose the arm,
 * read the body, copy it to the shadow, score it, record exactly one prediction record per answered
 * call (and one per shadow call), and give the lease back once nothing uses it any more.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type DeploymentSpec, KeelError, type ModelInput } from '@keel/core';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callerOf } from '../../http/actor.js';
import { clientErrorStatus, errorMessage } from '../../http/error-handler.js';
import type { Model, ModelOutput } from '../../models/model.js';
import { type PredictionRecordInput, timeOrderedId } from '../../predictions/prediction-record.js';
import { bodyText } from '../../serving/served-model.js';
import { chooseArm, ROUTE_HEADER, ROUTING_KEY_HEADER, type RoutableArm } from './arm-routing.js';
import type { DeploymentMetricLabels } from './deployment-metrics.js';

/** Request and response header carrying the call's id; generated (a UUID) when the caller sends none. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The recording of a deployment whose spec names none. */
const FULL_RECORDING: PredictionRecordInput['recording'] = Object.freeze({ mode: 'full' });

/** Arm name of the shadow in prediction records and metrics. */
export const SHADOW_ARM = 'shadow';

/** One arm of a leased deployment, as the routes use it (the runtime's `DeploymentArm`). */
export interface ServingArm extends RoutableArm {
  readonly modelName: string;
  readonly modelVersion: string;
  /** sha256 of the served version's files, as the runtime knows it. */
  readonly modelDigest?: string;
  /** The arm's metric labels, made once per arm (built per call when absent). */
  readonly labels?: DeploymentMetricLabels;
  readonly model: Model;
  /** Scores an input already checked against `model.signature` (through the arm's micro-batcher). */
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput>;
}

/** A consistent view of one deployment for one call (the runtime's `DeploymentLease`). */
export interface ServingLease {
  readonly deployment: string;
  readonly revision: number;
  readonly spec: Pick<DeploymentSpec, 'recording'>;
  /** The routes' arms (not the shadow). */
  readonly arms: readonly ServingArm[];
  readonly shadow: ServingArm | undefined;
  /** Called exactly once, after every `predict` made through the lease (shadow included) has settled. */
  release(): void;
}

/** Where the routes take leases: the deployment runtime. */
export interface ServingLeases {
  /**
   * A lease on deployment `name`.
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown deployment, TEMPORARILY_UNAVAILABLE while it is not ready.
   */
  lease(name: string): ServingLease;
}

/** Where answered calls go: the prediction recorder. `record` must not throw or wait. */
export interface PredictionSink {
  record(input: PredictionRecordInput): void;
}

/** What a protocol reads of a request: its headers and its body text. */
export interface CallBody {
  readonly headers: IncomingHttpHeaders;
  /** The body as received, decoded as UTF-8 (`''` when there is none). */
  readonly body: string;
}

/**
 * One call as {@link serveCall} sees it, whichever way it arrived: through the Fastify routes
 * ({@link RouteCall}) or answered straight from the HTTP server (`direct-calls.ts`).
 */
export interface CallExchange extends CallBody {
  /** When the request arrived, in epoch milliseconds. */
  readonly receivedAt: number;
  readonly log: FastifyBaseLogger;
  /** Sets a response header. */
  header(name: string, value: string): void;
  /** Notes who answered the call (deployment, arm, model version), for its request metrics. */
  noteLabels(labels: DeploymentMetricLabels): void;
}

/** A wire protocol's part of a call: reading a body, and scoring it on an arm into a response body. */
export interface CallProtocol<Body> {
  readonly name: PredictionRecordInput['protocol'];
  /**
   * Reads the request body (content type, JSON syntax). Throws for a body that cannot be read; such a
   * call is recorded with the raw text as its input, and not copied to the shadow.
   */
  read(call: CallBody): Body;
  /** The request body as a prediction record keeps it: JSON text (see `PredictionRecordInput.inputJson`). */
  recordedInputJson(body: Body): string;
  /**
   * Decodes `body` for `arm`'s model, scores it through `arm.predict` and resolves with the JSON
   * response body. Rejects with a `KeelError` for an input the model cannot take.
   */
  score(body: Body, arm: ServingArm, lease: ServingLease): Promise<unknown>;
}

/** What every call needs: the runtime, the recorder, the random source of the weighted draw. */
export interface CallResources {
  readonly runtime: ServingLeases;
  readonly recorder: PredictionSink;
  readonly random: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who answered a deployment call (deployment, arm, model version), for its request metrics;
     * `null` until the deployment serving routes note it. A request decoration rather than a
     * `WeakMap` keyed by requests: every call would add an ephemeron the garbage collector must
     * trace in each young-generation collection.
     */
    keelDeploymentLabels: DeploymentMetricLabels | null;
  }
}

/** Decorates the requests of `scope` with {@link FastifyRequest.keelDeploymentLabels} (`null`). */
export function decorateCallLabels(scope: FastifyInstance): void {
  scope.decorateRequest('keelDeploymentLabels', null);
}

/** Notes `labels` on `request` (see {@link FastifyRequest.keelDeploymentLabels}). */
export function noteCallLabels(request: FastifyRequest, labels: DeploymentMetricLabels): void {
  request.keelDeploymentLabels = labels;
}

/**
 * A call that came through a Fastify route. A class (its methods on the prototype), not an object
 * literal with closures: see `DirectCall`.
 */
export class RouteCall implements CallExchange {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly receivedAt: number;
  readonly log: FastifyBaseLogger;
  readonly #request: FastifyRequest;
  readonly #reply: FastifyReply;

  constructor(request: FastifyRequest, reply: FastifyReply) {
    this.#request = request;
    this.#reply = reply;
    this.headers = request.headers;
    this.body = bodyText(request.body);
    this.receivedAt = nowMs() - reply.elapsedTime;
    this.log = request.log;
  }

  header(name: string, value: string): void {
    this.#reply.header(name, value);
  }

  noteLabels(labels: DeploymentMetricLabels): void {
    noteCallLabels(this.#request, labels);
  }
}

/** What a route asks: which deployment, optionally which model version (`/v2/…/versions/{v}`). */
export interface CallTarget {
  deployment: string;
  version?: string | undefined;
}

/**
 * Serves one call: resolves with the response body as JSON text (the route sends it as it is, and
 * the prediction record keeps the same text), or rejects with the error to answer (the scope's
 * error handler sends it).
 *
 * - The request id ({@link REQUEST_ID_HEADER}) is set on the response before anything can fail; a
 *   generated one is a UUID version 7 (time-ordered, so the records' request-id index grows at its end).
 * - `runtime.lease` failing (unknown deployment 404, not ready 503) and an explicit version no arm
 *   serves (404) are answered without a record: no arm was chosen, so no model version answered.
 * - From the moment an arm is chosen (named in {@link ROUTE_HEADER} on the response), the call is
 *   recorded exactly once, success or error, with the status the client gets.
 * - A body that was read is copied to the shadow on the next event-loop turn; the shadow's answer or
 *   error is recorded with arm `shadow` and never reaches the caller.
 * - The lease is released when both the call and its shadow copy have settled.
 */
export async function serveCall<Body>(
  resources: CallResources,
  call: CallExchange,
  target: CallTarget,
  protocol: CallProtocol<Body>,
): Promise<string> {
  const requestId = requestIdOf(call.headers);
  call.header(REQUEST_ID_HEADER, requestId);
  const { runtime } = resources;
  let lease: ServingLease;
  try {
    lease = runtime.lease(target.deployment);
  } catch (error) {
    // Only a deployment that exists gets its own label values; unknown names would grow the series.
    if (error instanceof KeelError && error.code === 'TEMPORARILY_UNAVAILABLE') {
      call.noteLabels({ deployment: target.deployment });
    }
    throw error;
  }
  const { receivedAt } = call;
  const holders = new LeaseHolders(lease);
  try {
    const arm = chooseArm(
      lease.deployment,
      lease.arms,
      {
        version: target.version,
        route: headerValue(call.headers, ROUTE_HEADER),
        routingKey: headerValue(call.headers, ROUTING_KEY_HEADER),
      },
      resources.random,
    );
    call.header(ROUTE_HEADER, arm.name);
    call.noteLabels(arm.labels ?? armLabels(lease, arm));
    const facts: CallFacts = {
      requestId,
      caller: callerOf(call.headers),
      protocol: protocol.name,
      lease,
    };
    let inputJson: string | undefined;
    try {
      const body = protocol.read(call);
      inputJson = protocol.recordedInputJson(body);
      const { shadow } = lease;
      if (shadow !== undefined) {
        const copy = { inputJson, score: () => protocol.score(body, shadow, lease) };
        copyToShadow(resources, facts, shadow, holders, copy, call.log);
      }
      const outputJson = JSON.stringify(await protocol.score(body, arm, lease));
      record(resources, call.log, facts, arm, { receivedAt, status: 200, inputJson, outputJson });
      return outputJson;
    } catch (error) {
      // An unreadable body is kept as the text received.
      inputJson ??= JSON.stringify(call.body);
      record(resources, call.log, facts, arm, { receivedAt, inputJson, ...errorFacts(error) });
      throw error;
    }
  } finally {
    holders.drop();
  }
}

/** What every record of one call shares. */
interface CallFacts {
  requestId: string;
  caller: string;
  protocol: PredictionRecordInput['protocol'];
  lease: ServingLease;
}

/** What differs between the records of a call and of its shadow copy. */
interface Outcome {
  receivedAt: number;
  status: number;
  inputJson: string;
  outputJson?: string;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * Scores the copy on the shadow from the next event-loop turn on, so that the caller's own call is
 * decoded and queued first and never waits for the copy; records the outcome with arm `shadow`. The
 * shadow's errors are recorded, never surfaced.
 */
function copyToShadow(
  resources: CallResources,
  call: CallFacts,
  shadow: ServingArm,
  holders: LeaseHolders,
  copy: { inputJson: string; score: () => Promise<unknown> },
  log: FastifyBaseLogger,
): void {
  const { inputJson } = copy;
  holders.add();
  setImmediate(async () => {
    const receivedAt = nowMs();
    try {
      const outputJson = JSON.stringify(await copy.score());
      record(resources, log, call, shadow, { receivedAt, status: 200, inputJson, outputJson }, SHADOW_ARM);
    } catch (error) {
      record(resources, log, call, shadow, { receivedAt, inputJson, ...errorFacts(error) }, SHADOW_ARM);
    } finally {
      holders.drop();
    }
  });
}

function record(
  resources: CallResources,
  log: FastifyBaseLogger,
  call: CallFacts,
  arm: ServingArm,
  outcome: Outcome,
  armName: string = arm.name,
): void {
  const { lease } = call;
  // One shape for every call (optional facts are undefined, not left out): no object spreads.
  const entry: PredictionRecordInput = {
    requestId: call.requestId,
    deployment: lease.deployment,
    deploymentRevision: lease.revision,
    modelName: arm.modelName,
    modelVersion: arm.modelVersion,
    modelDigest: arm.modelDigest,
    arm: armName,
    caller: call.caller,
    protocol: call.protocol,
    receivedAt: outcome.receivedAt,
    completedAt: nowMs(),
    status: outcome.status,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
    inputJson: outcome.inputJson,
    outputJson: outcome.outputJson,
    recording: lease.spec.recording ?? FULL_RECORDING,
  };
  try {
    resources.recorder.record(entry);
  } catch (error) {
    // The recorder promises not to throw; if it does, the caller still gets its answer.
    log.error({ err: error, requestId: call.requestId }, 'prediction recorder failed');
  }
}

/** The status, code and message a client gets for `error` (as the scopes' error handlers answer it). */
function errorFacts(error: unknown): { status: number; errorCode: string; errorMessage: string } {
  if (error instanceof KeelError) {
    return { status: error.status, errorCode: error.code, errorMessage: error.message };
  }
  const status = clientErrorStatus(error) ?? 500;
  return {
    status,
    errorCode: status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST',
    errorMessage: errorMessage(error),
  };
}

function armLabels(lease: ServingLease, arm: ServingArm): DeploymentMetricLabels {
  return {
    deployment: lease.deployment,
    arm: arm.name,
    modelName: arm.modelName,
    modelVersion: arm.modelVersion,
  };
}

/** Counts the users of a lease (the call, its shadow copy) and releases it when the last one is done. */
class LeaseHolders {
  readonly #lease: ServingLease;
  #holders = 1;

  constructor(lease: ServingLease) {
    this.#lease = lease;
  }

  add(): void {
    this.#holders++;
  }

  drop(): void {
    this.#holders--;
    if (this.#holders === 0) this.#lease.release();
  }
}

/** The caller's request id when it is usable (1–256 printable ASCII characters), else a new UUID v7. */
function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headerValue(headers, REQUEST_ID_HEADER);
  return given !== undefined && /^[\x21-\x7e]{1,256}$/.test(given) ? given : timeOrderedId();
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/** Epoch milliseconds with sub-millisecond precision. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
