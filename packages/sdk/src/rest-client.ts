import { apiErrorFromResponse, KeelApiError, KeelConnectionError } from './errors.js';
import { IdleTimeout } from './idle-timeout.js';
import { credentialHeaders, resolveCredentials, type TrackingCredentials } from './tracking-credentials.js';

/** Where the client looks when neither the options nor the environment name a server. */
export const DEFAULT_TRACKING_URI = 'http://127.0.0.1:5000';

/** The path prefix of MLflow's REST API, under which every RPC path lives. */
export const MLFLOW_API_PREFIX = '/api/2.0/mlflow';

/**
 * Options of {@link KeelRestClient}; each documents its default. The credentials
 * (`username`, `password`, `token`) are resolved by `resolveCredentials`.
 */
export interface KeelRestClientOptions extends TrackingCredentials {
  /**
   * Base URL of the server, e.g. `http://tracking.example.com:5000` (a path prefix is kept).
   * @default `KEEL_TRACKING_URI`, then `MLFLOW_TRACKING_URI`, then `http://127.0.0.1:5000`
   */
  trackingUri?: string;
  /** Retries after a connection failure or a 429/503 answer. @default 3 */
  maxRetries?: number;
  /** Delay before the first retry; it doubles on each retry (with jitter). @default 250 */
  retryDelayMs?: number;
  /** Longest wait between two attempts, also the cap on a server's `Retry-After`. @default 5000 */
  maxRetryDelayMs?: number;
  /**
   * Time allowed for one attempt, answer body included. Streamed artifact transfers use it as an
   * idle timeout instead: they fail only when no bytes moved for that long. @default 120000
   */
  timeoutMs?: number;
  /**
   * Extra headers sent with every request; an `authorization` or `x-keel-user` here (any case)
   * replaces the one built from the credentials. @default {}
   */
  headers?: Readonly<Record<string, string>>;
}

/**
 * {@link KeelRestClientOptions} after defaults are applied. The credentials are left out, so that
 * printing the options never shows a password or a token.
 */
export type ResolvedRestClientOptions = Readonly<
  Required<Omit<KeelRestClientOptions, keyof TrackingCredentials>>
>;

/** A query-string value; arrays become repeated keys (`?run_ids=a&run_ids=b`), as MLflow expects. */
export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;

/** One request for {@link KeelRestClient.request}. */
export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute URL. */
  url: string;
  /** Headers added to (and overriding) the client's own. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Creates the body of one attempt (called again for each retry); `touch` resets the idle
   * timeout and should be called as the body's bytes are read. A `ReadableStream` is streamed.
   */
  body?: (touch: () => void) => NonNullable<RequestInit['body']>;
  /**
   * Consulted when an attempt fails without an answer: a value returned here (e.g. the error
   * of the local file being streamed) is thrown at once instead of retrying.
   */
  localError?: () => unknown;
}

/** A successful answer of {@link KeelRestClient.request}, body unread. */
export interface RawResponse {
  response: Response;
  /** Resets the idle timeout; call it as the answer's bytes are read. */
  touch: () => void;
  /** Stops the idle timeout; call it once the body is consumed or abandoned. */
  done: () => void;
}

/** Answers that may succeed when asked again a little later. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Picks the tracking URI: the explicit value, then `KEEL_TRACKING_URI`, then
 * `MLFLOW_TRACKING_URI` (so code written for MLflow finds Keel unchanged), then
 * {@link DEFAULT_TRACKING_URI}. Besides this, the SDK reads the environment only for the
 * credentials (`resolveCredentials`) and the user-name fallback of `collectSystemTags`.
 *
 * @example
 * resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: 'http://mlflow:5000' }); // 'http://mlflow:5000'
 */
export function resolveTrackingUri(
  explicit?: string,
  env: Readonly<Record<string, string | undefined>> = typeof process === 'undefined' ? {} : process.env,
): string {
  const uri = [explicit, env.KEEL_TRACKING_URI, env.MLFLOW_TRACKING_URI].find(
    (v) => v !== undefined && v !== '',
  );
  return uri ?? DEFAULT_TRACKING_URI;
}

/**
 * The low-level HTTP client of MLflow's REST API: `get`/`post`/`patch`/`delete` against
 * `<trackingUri>/api/2.0/mlflow/<path>`, JSON in and out. Error answers are rethrown as typed
 * errors (`NotFoundError`, `InvalidParameterError`, `AlreadyExistsError`, else `KeelApiError`);
 * a server that cannot be reached gives `KeelConnectionError`. Connection failures and 429/503
 * answers are retried with exponential backoff; other answers are not. Uses the global `fetch`,
 * whose shared connection pool keeps connections alive between calls. Every request, artifact
 * transfers included, carries the credentials' `Authorization` header (see `credentialHeaders`).
 *
 * @example
 * const client = new KeelRestClient({ trackingUri: 'http://127.0.0.1:5000', username: 'alice' });
 * const { experiment_id } = await client.post<{ experiment_id: string }>('experiments/create', { name: 'demo' });
 * const { experiment } = await client.get('experiments/get', { experiment_id });
 */
export class KeelRestClient {
  /** The resolved, frozen options. */
  readonly options: ResolvedRestClientOptions;
  private readonly apiBase: string;
  /** The credentials' headers; a private field, so that inspecting the client does not show them. */
  readonly #credentialHeaders: Readonly<Record<string, string>>;

  constructor(options: KeelRestClientOptions = {}) {
    const trackingUri = resolveTrackingUri(options.trackingUri);
    if (!/^https?:\/\/[^/]/i.test(trackingUri)) {
      throw new TypeError(`Invalid tracking URI '${trackingUri}': expected http://host:port or https://…`);
    }
    this.options = Object.freeze({
      trackingUri,
      maxRetries: nonNegativeInteger('maxRetries', options.maxRetries ?? 3),
      retryDelayMs: nonNegativeInteger('retryDelayMs', options.retryDelayMs ?? 250),
      maxRetryDelayMs: nonNegativeInteger('maxRetryDelayMs', options.maxRetryDelayMs ?? 5_000),
      timeoutMs: nonNegativeInteger('timeoutMs', options.timeoutMs ?? 120_000),
      headers: Object.freeze({ ...options.headers }),
    });
    this.#credentialHeaders = Object.freeze(
      withoutOverridden(credentialHeaders(resolveCredentials(options)), this.options.headers),
    );
    this.apiBase = `${trackingUri.replace(/\/+$/, '')}${MLFLOW_API_PREFIX}/`;
  }

  /**
   * `GET <prefix>/<path>?<query>`; `undefined` query values are left out.
   * @example await client.get('runs/get', { run_id: runId })
   */
  get<T = unknown>(path: string, query: Readonly<Record<string, QueryValue>> = {}): Promise<T> {
    const url = new URL(this.urlOf(path));
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
    }
    return this.send<T>('GET', url.href, undefined);
  }

  /**
   * `POST <prefix>/<path>` with `body` as JSON.
   * @example await client.post('runs/log-batch', { run_id: runId, metrics: [...] })
   */
  post<T = unknown>(path: string, body: object = {}): Promise<T> {
    return this.send<T>('POST', this.urlOf(path), JSON.stringify(body));
  }

  /**
   * `PATCH <prefix>/<path>` with `body` as JSON (registry updates use PATCH).
   * @example await client.patch('registered-models/update', { name: 'churn', description: 'v2' })
   */
  patch<T = unknown>(path: string, body: object = {}): Promise<T> {
    return this.send<T>('PATCH', this.urlOf(path), JSON.stringify(body));
  }

  /**
   * `DELETE <prefix>/<path>` with `body` as JSON: MLflow's registry DELETE calls carry their
   * fields in a JSON body, not the query string.
   * @example await client.delete('registered-models/delete', { name: 'churn' })
   */
  delete<T = unknown>(path: string, body: object = {}): Promise<T> {
    return this.send<T>('DELETE', this.urlOf(path), JSON.stringify(body));
  }

  /** The absolute URL of an RPC path, e.g. `runs/get` → `<trackingUri>/api/2.0/mlflow/runs/get`. */
  urlOf(path: string): string {
    return `${this.apiBase}${path.replace(/^\/+/, '')}`;
  }

  /**
   * Sends one request to an absolute URL with the client's headers, retry policy and typed
   * errors, and returns the successful (2xx) answer with its body still unread. The low-level
   * door used for artifact transfers; `get`/`post`/`patch`/`delete` are built on it.
   *
   * `body` is a factory called once per attempt, so a streamed body is opened again for a retry;
   * it receives `touch`, to call whenever bytes move. `timeoutMs` is an idle timeout: an attempt
   * fails when no call to `touch` happened for that long (a request whose body never touches it
   * gets an overall timeout). The caller reads the answer, calling `touch` per chunk, then calls
   * `done()`.
   *
   * @example
   * const { response, done } = await client.request({ method: 'GET', url });
   * const bytes = await response.arrayBuffer();
   * done();
   */
  async request(request: RawRequest): Promise<RawResponse> {
    const { maxRetries } = this.options;
    const { method, url } = request;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.#credentialHeaders,
      ...this.options.headers,
      ...request.headers,
    };
    for (let attempt = 0; ; attempt += 1) {
      const idle = new IdleTimeout(this.options.timeoutMs);
      let response: Response;
      try {
        const body = request.body?.(idle.touch);
        const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: idle.signal };
        if (body !== undefined) init.body = body;
        // Node's fetch needs `duplex: 'half'` to send a streamed body.
        if (body instanceof ReadableStream) init.duplex = 'half';
        response = await fetch(url, init);
      } catch (error) {
        idle.clear();
        const local = request.localError?.();
        if (local !== undefined) throw local;
        if (idle.fired || isTimeout(error)) throw this.timeoutError(method, url, error);
        if (attempt < maxRetries) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw new KeelConnectionError(
          url,
          `Cannot reach the tracking server: ${method} ${url} failed (${causeOf(error)}) after ${attempt + 1} attempts`,
          { cause: error },
        );
      }
      if (RETRYABLE_STATUSES.has(response.status) && attempt < maxRetries) {
        // Drain the body so the connection goes back to the pool.
        await response.arrayBuffer().catch(() => undefined);
        idle.clear();
        await sleep(this.retryAfter(response) ?? this.backoff(attempt));
        continue;
      }
      if (!response.ok) {
        const text = await this.readText(response, () => idle.clear(), method, url);
        throw apiErrorFromResponse(response.status, text);
      }
      return { response, touch: idle.touch, done: () => idle.clear() };
    }
  }

  private async send<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body: string | undefined,
  ): Promise<T> {
    const { response, done } = await this.request({
      method,
      url,
      ...(body === undefined ? {} : { body: () => body, headers: { 'content-type': 'application/json' } }),
    });
    const text = await this.readText(response, done, method, url);
    if (text.trim() === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new KeelApiError('INTERNAL_ERROR', `${method} ${url}: answer is not JSON`, response.status, {
        cause: error,
      });
    }
  }

  /** Reads a whole (small) answer body, turning a timeout or a lost connection into KeelConnectionError. */
  private async readText(response: Response, done: () => void, method: string, url: string): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      if (isTimeout(error)) throw this.timeoutError(method, url, error);
      throw new KeelConnectionError(url, `${method} ${url}: connection lost while reading the answer`, {
        cause: error,
      });
    } finally {
      done();
    }
  }

  private timeoutError(method: string, url: string, error: unknown): KeelConnectionError {
    return new KeelConnectionError(url, `${method} ${url} timed out after ${this.options.timeoutMs} ms`, {
      cause: error,
    });
  }

  /** `retryDelayMs · 2^attempt`, capped, with ±25 % jitter so many clients do not retry in step. */
  private backoff(attempt: number): number {
    const base = Math.min(this.options.maxRetryDelayMs, this.options.retryDelayMs * 2 ** attempt);
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  /** A `Retry-After` header (seconds or HTTP date), capped at `maxRetryDelayMs`. */
  private retryAfter(response: Response): number | undefined {
    const header = response.headers.get('retry-after');
    if (header === null) return undefined;
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (!Number.isFinite(ms)) return undefined;
    return Math.min(this.options.maxRetryDelayMs, Math.max(0, ms));
  }
}

/** `headers` minus the names (compared case-insensitively) that `explicit` sets. */
function withoutOverridden(
  headers: Record<string, string>,
  explicit: Readonly<Record<string, string>>,
): Record<string, string> {
  const taken = new Set(Object.keys(explicit).map((name) => name.toLowerCase()));
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !taken.has(name)));
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`Invalid ${name} ${value}: expected a non-negative integer`);
  }
  return value;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** `ECONNREFUSED`, `UND_ERR_SOCKET`…: the low-level reason undici keeps in `cause`. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
