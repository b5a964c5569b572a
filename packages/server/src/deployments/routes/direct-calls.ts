/**
 * Deployment calls answered straight from Node's HTTP server, ahead of Fastify's routing.
 *
 * A call to a deployment's model is the one request a Keel server gets thousands of times a second,
 * and Fastify's request machinery (routing, the hook chains of two scopes, the content-type parser,
 * the reply's serialisation and `onSend` chain) cost about a tenth of the CPU a call takes, as much
 * as scoring the model's batch. So the server's `request` listener looks at each request first and
 * answers the calls it can answer in full itself, through the same {@link serveCall} as the routes,
 * with the same errors, headers, records, metrics, admission and load shedding. Whatever it cannot
 * decide from the request line and headers alone goes to Fastify untouched, whose routes answer it
 * exactly as before:
 *
 * - anything other than a `POST` to `/deployments/{name}/invocations`,
 *   `/v2/models/{name}/infer` or `/v2/models/{name}/versions/{version}/infer` (a trailing slash and a
 *   query string allowed; `%`-escapes decoded, as the router does);
 * - a body without `Content-Length` (chunked), or one longer than the body limit (Fastify's 413);
 * - the process at its in-flight limit (the load-shedding hook's 503);
 * - a deployment that cannot be leased (404, 503) or is at `resources.maxConcurrentRequests` (429);
 * - while the app closes (Fastify's 503 with `Connection: close`).
 *
 * Requests that `app.inject()` sends never come here: they go to Fastify's handler directly, so
 * tests reach this path over a socket (`deployment-serving-routes.test.ts` runs its cases both ways).
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { mlflowErrorResponse } from '../../http/error-handler.js';
import type { InFlightLimit } from '../../http/load-shedding.js';
import { openInferenceErrorResponse } from '../../serving/open-inference.js';
import type { ServingProtocol } from '../../serving/serving-metrics.js';
import type { DeploymentAdmission } from './admission.js';
import { type InferBody, type ScoringBody, UnsupportedMediaTypeError } from './call-protocols.js';
import {
  type CallExchange,
  type CallProtocol,
  type CallResources,
  type CallTarget,
  nowMs,
  REQUEST_ID_HEADER,
  serveCall,
} from './deployment-call.js';
import type { DeploymentMetricLabels, DeploymentMetrics } from './deployment-metrics.js';

/** The route patterns the calls are counted under in the request metrics (Fastify's `routeOptions.url`). */
export const DIRECT_CALL_ROUTES = {
  invocations: '/deployments/:name/invocations',
  infer: '/v2/models/:name/infer',
  versionInfer: '/v2/models/:name/versions/:version/infer',
} as const;

/** Options of {@link answerCallsDirectly}. */
export interface DirectCallsOptions {
  resources: CallResources;
  admission: DeploymentAdmission;
  metrics: Pick<DeploymentMetrics, 'observeRequest'>;
  /** Longest body answered here, in bytes (the routes' limit: longer ones get Fastify's 413). */
  bodyLimit: number;
  /** The scoring protocol of `/deployments/{name}/invocations`. */
  mlflow: CallProtocol<ScoringBody>;
  /** The protocol of `/v2/models/{name}[/versions/{version}]/infer`. */
  openInference: CallProtocol<InferBody>;
  /** The process's in-flight limit (`installLoadShedding`'s), when it has one. */
  inFlight?: InFlightLimit | undefined;
}

/** A call this module answers: which deployment, which protocol, and the route it is counted under. */
interface DirectTarget extends CallTarget {
  protocol: Extract<ServingProtocol, 'mlflow' | 'oip'>;
  route: string;
}

/** Labels of a call no arm answered. */
const NO_LABELS: DeploymentMetricLabels = Object.freeze({});
/** Longest path parameter the router matches (find-my-way's default `maxParamLength`). */
const MAX_PARAM_LENGTH = 100;
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Puts the direct path in front of `app`'s routes: wraps the `request` listener Fastify put on
 * `app.server`. Does nothing (every call goes through the routes) when `app` is an encapsulated
 * scope with a prefix, when the server's listener is not Fastify's alone, or when the app logs at
 * `debug` or `trace` (whose request log lines only Fastify writes). Call once per app, after the
 * deployment serving routes are registered.
 */
export function answerCallsDirectly(app: FastifyInstance, options: DirectCallsOptions): void {
  if (app.prefix !== '' || ['debug', 'trace'].includes(app.log.level)) return;
  const server: Server = app.server;
  const listeners = server.listeners('request');
  if (listeners.length !== 1) return;
  const fastify = listeners[0] as (req: IncomingMessage, res: ServerResponse) => void;
  const calls = new DirectCalls(options, app.log);
  app.addHook('preClose', (done) => {
    calls.closing = true;
    done();
  });
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!calls.take(req, res)) fastify(req, res);
  });
}

class DirectCalls {
  closing = false;
  readonly #options: DirectCallsOptions;
  readonly #log: FastifyBaseLogger;

  constructor(options: DirectCallsOptions, log: FastifyBaseLogger) {
    this.#options = options;
    this.#log = log;
  }

  /** Takes the request and answers it, or returns `false` without touching it. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || this.closing) return false;
    const target = directTarget(req.url ?? '');
    if (target === undefined) return false;
    const { headers } = req;
    if (headers['transfer-encoding'] !== undefined) return false;
    const length = contentLength(headers['content-length']);
    if (length === undefined || length > this.#options.bodyLimit) return false;
    const { inFlight, admission } = this.#options;
    if (inFlight !== undefined && !inFlight.tryEnter()) return false;
    if (!admission.tryEnter(target.deployment)) {
      inFlight?.leave();
      return false;
    }
    if (inFlight !== undefined) res.on('close', inFlight.leave);
    const call = new DirectCall(headers, this.#log, this, target, res);
    // Raw chunks, decoded once at the end (a body is one chunk but for large ones): no
    // `setEncoding`, whose string decoder costs every call an object and a copy.
    req.on('data', (chunk: Buffer) => call.received(chunk));
    req.on('end', () => void call.answer());
    req.on('error', ignore);
    // A client gone before its body arrived never reaches the model: its slot is free at once.
    res.on('close', () => call.abandon());
    return true;
  }

  /** Serves a call whose body arrived, and answers it. Never rejects. */
  async answer(call: DirectCall): Promise<void> {
    const { target, res } = call;
    const { resources, mlflow, openInference } = this.#options;
    let status = 200;
    try {
      try {
        const output =
          target.protocol === 'mlflow'
            ? await serveCall(resources, call, target, mlflow)
            : await serveCall(resources, call, target, openInference);
        call.release();
        send(res, 200, call.responseHeaders, JSON_TYPE, output);
      } catch (error) {
        call.release();
        status = this.#sendError(call, error);
      }
    } catch (error) {
      // The answer itself could not be written (a header Node refuses): the connection is dropped,
      // as Fastify does when its error handler fails.
      this.#log.error({ err: error }, 'cannot answer a deployment call');
      res.destroy();
      status = 500;
    }
    this.#options.metrics.observeRequest(
      call.labels ?? NO_LABELS,
      target.protocol,
      target.route,
      status,
      (nowMs() - call.receivedAt) / 1000,
    );
  }

  leave(deployment: string): void {
    this.#options.admission.leave(deployment);
  }

  /** Answers `error` as the route's error handler would; returns the status sent. */
  #sendError(call: DirectCall, error: unknown): number {
    const headers = call.responseHeaders;
    if (error instanceof UnsupportedMediaTypeError) {
      send(call.res, 415, headers, 'text/plain; charset=utf-8', error.message);
      return 415;
    }
    const requestId = headers[REQUEST_ID_HEADER] ?? '';
    const answer =
      call.target.protocol === 'mlflow'
        ? mlflowErrorResponse(error, requestId)
        : openInferenceErrorResponse(error, requestId);
    if (answer.unhandled) this.#log.error({ err: error, reqId: requestId }, 'unhandled error');
    // As `retryAfterOn503` does in the routes' scopes.
    if (answer.status === 503 && headers['retry-after'] === undefined) headers['retry-after'] = '1';
    send(call.res, answer.status, headers, JSON_TYPE, JSON.stringify(answer.body));
    return answer.status;
  }
}

/**
 * One call on the direct path. A class, not an object literal: a literal with a getter would give
 * every call an object of its own hidden class, which lives in the old generation and keeps the
 * whole request reachable through young-generation collections until the next full one.
 */
class DirectCall implements CallExchange {
  readonly headers: IncomingHttpHeaders;
  body = '';
  readonly receivedAt = nowMs();
  readonly log: FastifyBaseLogger;
  readonly target: DirectTarget;
  readonly res: ServerResponse;
  /** Headers of the answer, set by `serveCall` and the error path. */
  readonly responseHeaders: Record<string, string> = {};
  labels: DeploymentMetricLabels | null = null;
  readonly #calls: DirectCalls;
  #started = false;
  #released = false;
  /** The body's chunks until it has all arrived. */
  #chunks: Buffer | Buffer[] | undefined;

  constructor(
    headers: IncomingHttpHeaders,
    log: FastifyBaseLogger,
    calls: DirectCalls,
    target: DirectTarget,
    res: ServerResponse,
  ) {
    this.headers = headers;
    this.log = log;
    this.#calls = calls;
    this.target = target;
    this.res = res;
  }

  header(name: string, value: string): void {
    this.responseHeaders[name] = value;
  }

  /** Takes a chunk of the body. */
  received(chunk: Buffer): void {
    if (this.#chunks === undefined) this.#chunks = chunk;
    else if (Array.isArray(this.#chunks)) this.#chunks.push(chunk);
    else this.#chunks = [this.#chunks, chunk];
  }

  noteLabels(labels: DeploymentMetricLabels): void {
    this.labels = labels;
  }

  answer(): Promise<void> {
    this.#started = true;
    const chunks = this.#chunks;
    if (chunks !== undefined) {
      this.body = (Array.isArray(chunks) ? Buffer.concat(chunks) : chunks).toString('utf8');
      this.#chunks = undefined;
    }
    return this.#calls.answer(this);
  }

  /**
   * The response closed: frees the admission slot of a call whose body never arrived. A call being
   * served keeps its slot until the model answered (as on the routes: the limit bounds model work).
   */
  abandon(): void {
    if (!this.#started) this.release();
  }

  /** Gives the admission slot back (once). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#calls.leave(this.target.deployment);
  }
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  contentType: string,
  body: string,
): void {
  if (res.destroyed) return;
  headers['content-type'] = contentType;
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}

function ignore(): void {}

/** A `Content-Length` value as a byte count; `undefined` when absent or malformed. */
function contentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The call a request URL names, if it is one this module answers: `/deployments/{name}/invocations`,
 * `/v2/models/{name}/infer`, `/v2/models/{name}/versions/{version}/infer`, each with an optional
 * trailing slash and query string.
 */
export function directTarget(url: string): DirectTarget | undefined {
  // Sliced by hand: `split` would allocate an array and a string per segment for every request.
  const query = url.indexOf('?');
  let end = query === -1 ? url.length : query;
  if (url.charCodeAt(end - 1) === 47 /* '/' */) end--;
  if (url.startsWith('/deployments/')) {
    const slash = url.indexOf('/', 13);
    if (slash === -1 || slash >= end || !url.startsWith('/invocations', slash) || slash + 12 !== end) {
      return undefined;
    }
    const deployment = param(url.slice(13, slash));
    if (deployment === undefined) return undefined;
    return { protocol: 'mlflow', deployment, route: DIRECT_CALL_ROUTES.invocations };
  }
  if (!url.startsWith('/v2/models/') || !url.startsWith('/infer', end - 6)) return undefined;
  // Between '/v2/models/' and '/infer': `{name}` or `{name}/versions/{version}`.
  const inner = url.slice(11, end - 6);
  const slash = inner.indexOf('/');
  if (slash === -1) {
    const deployment = param(inner);
    if (deployment === undefined) return undefined;
    return { protocol: 'oip', deployment, route: DIRECT_CALL_ROUTES.infer };
  }
  if (!inner.startsWith('/versions/', slash)) return undefined;
  const deployment = param(inner.slice(0, slash));
  const version = param(inner.slice(slash + 10));
  if (deployment === undefined || version === undefined) return undefined;
  return { protocol: 'oip', deployment, version, route: DIRECT_CALL_ROUTES.versionInfer };
}

/** A path segment decoded as the router decodes parameters; `undefined` when it would not match. */
function param(segment: string): string | undefined {
  if (segment === '' || segment.length > MAX_PARAM_LENGTH || segment.includes('/')) return undefined;
  if (!segment.includes('%')) return segment;
  try {
    const decoded = decodeURIComponent(segment);
    return decoded === '' || decoded.includes('/') ? undefined : decoded;
  } catch {
    return undefined;
  }
}
