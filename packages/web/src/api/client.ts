/**
 * The UI's only way to the server: typed JSON calls to the public API. MLflow's RPCs live under
 * `/ajax-api/2.0/mlflow/…` (the prefix MLflow's own UI uses), Keel's own APIs under `/api/2.0/keel/…`.
 * Error answers in MLflow's shape (`{error_code, message}`) become {@link ApiError}; a server that
 * cannot be reached becomes {@link ConnectionError}. Pages never call `fetch` themselves.
 */

/** Prefix of MLflow's REST API as the UI calls it. */
export const MLFLOW_API = '/ajax-api/2.0/mlflow';
/** Prefix of Keel's own REST API (deployments, workflows, audit, …). */
export const KEEL_API = '/api/2.0/keel';

/** An error answer of the API, rebuilt from MLflow's `{error_code, message}` body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** MLflow's error code, e.g. `INVALID_PARAMETER_VALUE`, `RESOURCE_DOES_NOT_EXIST`. */
  readonly code: string;
  /** HTTP status of the answer. */
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** The request never got an answer (server down, network gone). */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/** Query values: repeated keys for arrays, as MLflow's GET RPCs expect (`?run_ids=a&run_ids=b`). */
export type QueryValues = Record<string, string | number | boolean | readonly string[] | undefined>;

/** What {@link apiRequest} sends. */
export interface ApiRequestOptions {
  /** @default 'GET' */
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  query?: QueryValues;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Calls `path` (absolute, e.g. `/ajax-api/2.0/mlflow/runs/search`) and returns the parsed JSON body.
 *
 * @throws ApiError for any non-2xx answer (with the server's code and message when it sent them).
 * @throws ConnectionError when the server could not be reached.
 *
 * @example
 * const { experiment } = await apiRequest<{ experiment: Experiment }>(
 *   `${MLFLOW_API}/experiments/get`, { query: { experiment_id: '1' } });
 */
export async function apiRequest<T>(path: string, options: ApiRequestOptions = {}): Promise<T> {
  const init: RequestInit = {
    method: options.method ?? 'GET',
    headers: { accept: 'application/json' },
  };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  if (options.signal !== undefined) init.signal = options.signal;
  const response = await fetchFromServer(withQuery(path, options.query), init);
  const text = await response.text();
  if (!response.ok) throw errorOf(response.status, text);
  return (text === '' ? {} : JSON.parse(text)) as T;
}

/** POSTs an MLflow RPC, e.g. `mlflowPost('runs/search', {...})`. */
export function mlflowPost<T>(rpc: string, body: object, signal?: AbortSignal): Promise<T> {
  return apiRequest<T>(`${MLFLOW_API}/${rpc}`, { method: 'POST', body, ...(signal ? { signal } : {}) });
}

/** GETs an MLflow RPC, e.g. `mlflowGet('experiments/get', { experiment_id: '1' })`. */
export function mlflowGet<T>(rpc: string, query: QueryValues, signal?: AbortSignal): Promise<T> {
  return apiRequest<T>(`${MLFLOW_API}/${rpc}`, { query, ...(signal ? { signal } : {}) });
}

/** GETs a Keel API path, e.g. `keelGet('deployments/list', {})`. */
export function keelGet<T>(path: string, query: QueryValues = {}, signal?: AbortSignal): Promise<T> {
  return apiRequest<T>(`${KEEL_API}/${path}`, { query, ...(signal ? { signal } : {}) });
}

/** What {@link apiReadBytes} returns. */
export interface ReadBytes {
  /** The first bytes of the body: all of it unless `truncated`. */
  bytes: Uint8Array;
  /** The body is longer than `bytes` (reading stopped at the limit). */
  truncated: boolean;
  /** The body's full length from `Content-Length`, when the server sent it. */
  totalBytes: number | undefined;
  /** The answer's `Content-Type`, e.g. `image/png`. */
  contentType: string;
}

/**
 * GETs a non-JSON resource (an artifact file) and reads at most `maxBytes` of its body, then
 * cancels the rest of the download, so previewing the start of a large file stays cheap.
 *
 * @throws ApiError / ConnectionError as {@link apiRequest} does.
 *
 * @example
 * const head = await apiReadBytes('/get-artifact', { run_id, path: 'log.txt' }, 100_000);
 */
export async function apiReadBytes(
  path: string,
  query: QueryValues,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<ReadBytes> {
  const response = await fetchFromServer(withQuery(path, query), signal ? { signal } : {});
  if (!response.ok) throw errorOf(response.status, await response.text());
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = response.body?.getReader();
  while (reader !== undefined) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(size, maxBytes));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
  }
  return {
    bytes,
    truncated,
    totalBytes: Number.isFinite(length) ? length : undefined,
    contentType: response.headers.get('content-type') ?? '',
  };
}

/** What {@link apiRaw} answers: the status and the body as text, whatever the status. */
export interface RawAnswer {
  status: number;
  text: string;
}

/**
 * GETs `path` and returns its status and body as text without treating non-2xx as an error: for
 * endpoints whose error answers carry data (`/deployments/{name}/ready` answers 503 with the
 * deployment's state) and for non-JSON ones (`/metrics`).
 *
 * @throws ConnectionError when the server could not be reached.
 */
export async function apiRaw(
  path: string,
  options: { query?: QueryValues; accept?: string; signal?: AbortSignal } = {},
): Promise<RawAnswer> {
  const init: RequestInit = { headers: { accept: options.accept ?? 'application/json' } };
  if (options.signal !== undefined) init.signal = options.signal;
  const response = await fetchFromServer(withQuery(path, options.query), init);
  return { status: response.status, text: await response.text() };
}

/** The URL of a Keel API path with its query, for links (downloads) rather than fetches. */
export function keelHref(path: string, query: QueryValues = {}): string {
  return withQuery(`${KEEL_API}/${path}`, query);
}

/**
 * `fetch` that tells an unreachable server apart: an abort passes through as it is, any other
 * failure to get an answer becomes a {@link ConnectionError}.
 */
async function fetchFromServer(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ConnectionError(`Could not reach the Keel server (${String(error)})`);
  }
}

function withQuery(path: string, query: QueryValues | undefined): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value === 'object') for (const item of value) params.append(key, item);
    else params.append(key, String(value));
  }
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

function errorOf(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'string' && typeof body.message === 'string') {
      return new ApiError(body.error_code, body.message, status);
    }
  } catch {
    // Not JSON: a proxy's HTML error page, say. Fall through to a generic message.
  }
  return new ApiError('HTTP_ERROR', `The server answered HTTP ${status}`, status);
}
