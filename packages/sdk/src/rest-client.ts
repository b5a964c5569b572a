import { apiErrorFromResponse, KeelApiError, KeelConnectionError } from './errors.js';

/** Where the client looks when neither the options nor the environment name a server. */
export const DEFAULT_TRACKING_URI = 'http://127.0.0.1:5000';

/** The path prefix of MLflow's REST API, under which every RPC path lives. */
export const MLFLOW_API_PREFIX = '/api/2.0/mlflow';

/** Options of {@link KeelRestClient}; each documents its default. */
export interface KeelRestClientOptions {
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
  /** Time allowed for one attempt, answer body included. @default 120000 */
  timeoutMs?: number;
  /** Extra headers sent with every request, e.g. `authorization`. @default {} */
  headers?: Readonly<Record<string, string>>;
}

/** {@link KeelRestClientOptions} after defaults are applied. */
export type ResolvedRestClientOptions = Readonly<Required<KeelRestClientOptions>>;

/** A query-string value; arrays become repeated keys (`?run_ids=a&run_ids=b`), as MLflow expects. */
export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined;

/** Answers that may succeed when asked again a little later. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Picks the tracking URI: the explicit value, then `KEEL_TRACKING_URI`, then
 * `MLFLOW_TRACKING_URI` (so code written for MLflow finds Keel unchanged), then
 * {@link DEFAULT_TRACKING_URI}. The SDK reads the environment here and nowhere else.
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
 * The low-level HTTP client of MLflow's REST API: `get`/`post` against
 * `<trackingUri>/api/2.0/mlflow/<path>`, JSON in and out. Error answers are rethrown as typed
 * errors (`NotFoundError`, `InvalidParameterError`, `AlreadyExistsError`, else `KeelApiError`);
 * a server that cannot be reached gives `KeelConnectionError`. Connection failures and 429/503
 * answers are retried with exponential backoff; other answers are not. Uses the global `fetch`,
 * whose shared connection pool keeps connections alive between calls.
 *
 * @example
 * const client = new KeelRestClient({ trackingUri: 'http://127.0.0.1:5000' });
 * const { experiment_id } = await client.post<{ experiment_id: string }>('experiments/create', { name: 'demo' });
 * const { experiment } = await client.get('experiments/get', { experiment_id });
 */
export class KeelRestClient {
  /** The resolved, frozen options. */
  readonly options: ResolvedRestClientOptions;
  private readonly apiBase: string;

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

  private urlOf(path: string): string {
    return `${this.apiBase}${path.replace(/^\/+/, '')}`;
  }

  private async send<T>(method: 'GET' | 'POST', url: string, body: string | undefined): Promise<T> {
    const { maxRetries, timeoutMs } = this.options;
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (let attempt = 0; ; attempt += 1) {
      const signal = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, signal });
      } catch (error) {
        if (isTimeout(error)) throw this.timeoutError(method, url, error);
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
        await sleep(this.retryAfter(response) ?? this.backoff(attempt));
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        if (isTimeout(error)) throw this.timeoutError(method, url, error);
        throw new KeelConnectionError(url, `${method} ${url}: connection lost while reading the answer`, {
          cause: error,
        });
      }
      if (!response.ok) throw apiErrorFromResponse(response.status, text);
      if (text.trim() === '') return {} as T;
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new KeelApiError('INTERNAL_ERROR', `${method} ${url}: answer is not JSON`, response.status, {
          cause: error,
        });
      }
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
