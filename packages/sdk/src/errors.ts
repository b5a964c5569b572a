import type { ErrorCode } from '@keel/core';

/**
 * An error answer from a Keel (or MLflow) server, rebuilt from its `{error_code, message}` body.
 * Branch on the subclass or on {@link KeelApiError.code}, not on the message.
 *
 * @example
 * try {
 *   await client.get('runs/get', { run_id: id });
 * } catch (error) {
 *   if (error instanceof NotFoundError) return undefined;
 *   throw error;
 * }
 */
export class KeelApiError extends Error {
  override readonly name: string = 'KeelApiError';
  /** The wire code, one of core's `ERROR_STATUS` keys for Keel servers (other servers may send others). */
  readonly code: ErrorCode | (string & {});
  /** The HTTP status of the answer. */
  readonly status: number;

  constructor(code: string, message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

/**
 * `RESOURCE_DOES_NOT_EXIST` (404): the experiment, run or model named in the request does not exist.
 * @example
 * const run = await client.getRun(id).catch((e) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
 */
export class NotFoundError extends KeelApiError {
  override readonly name: string = 'NotFoundError';
}

/**
 * `INVALID_PARAMETER_VALUE` (400): the request was rejected; the message names the field.
 * @example
 * await client.logParam(runId, 'lr', 0.2).catch((e) => { if (e instanceof InvalidParameterError) console.warn(e.message); });
 */
export class InvalidParameterError extends KeelApiError {
  override readonly name: string = 'InvalidParameterError';
}

/**
 * `RESOURCE_ALREADY_EXISTS`: e.g. an experiment with that name exists (HTTP 400, as in MLflow).
 * @example
 * await client.createExperiment('churn').catch((e) => { if (!(e instanceof AlreadyExistsError)) throw e; });
 */
export class AlreadyExistsError extends KeelApiError {
  override readonly name: string = 'AlreadyExistsError';
}

/**
 * `UNAUTHENTICATED` or `CUSTOMER_UNAUTHORIZED` (401): no or bad credentials; pass them in
 * `headers` (e.g. `{ authorization: 'Bearer …' }`).
 * @example
 * if (error instanceof UnauthenticatedError) console.error('set KEEL_TOKEN');
 */
export class UnauthenticatedError extends KeelApiError {
  override readonly name: string = 'UnauthenticatedError';
}

/**
 * `PERMISSION_DENIED` (403): the credentials are valid but may not do this.
 * @example
 * if (error instanceof PermissionDeniedError) console.error('ask for EDIT permission on the experiment');
 */
export class PermissionDeniedError extends KeelApiError {
  override readonly name: string = 'PermissionDeniedError';
}

/**
 * `ENDPOINT_NOT_FOUND` (404): the server does not have this route at all (an older server, or
 * not a Keel/MLflow server). Distinct from {@link NotFoundError}, which is about a resource.
 * @example
 * if (error instanceof EndpointNotFoundError) console.error('upgrade the tracking server');
 */
export class EndpointNotFoundError extends KeelApiError {
  override readonly name: string = 'EndpointNotFoundError';
}

/**
 * `NOT_IMPLEMENTED` (501): the server knows the route but cannot do it here, e.g. multipart
 * uploads on a local artifact store (clients fall back to a plain PUT).
 * @example
 * if (error instanceof NotImplementedError) await plainUpload();
 */
export class NotImplementedError extends KeelApiError {
  override readonly name: string = 'NotImplementedError';
}

/**
 * `REQUEST_LIMIT_EXCEEDED` or `RESOURCE_EXHAUSTED` (429), or `TEMPORARILY_UNAVAILABLE` (503),
 * still answered after the client's retries: the server is overloaded; try again later.
 * @example
 * if (error instanceof UnavailableError) setTimeout(retry, 60_000);
 */
export class UnavailableError extends KeelApiError {
  override readonly name: string = 'UnavailableError';
}

/**
 * The server could not be reached (refused, reset, DNS failure, timeout) after the client's
 * retries. Distinct from {@link KeelApiError}: no answer was received at all.
 *
 * @example
 * try { await client.searchExperiments(); }
 * catch (e) { if (e instanceof KeelConnectionError) console.error(`is the server at ${e.url} running?`); }
 */
export class KeelConnectionError extends Error {
  override readonly name: string = 'KeelConnectionError';
  /** The URL that could not be reached. */
  readonly url: string;

  constructor(url: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.url = url;
  }
}

const CLASS_BY_CODE: Readonly<Record<string, typeof KeelApiError>> = {
  RESOURCE_DOES_NOT_EXIST: NotFoundError,
  INVALID_PARAMETER_VALUE: InvalidParameterError,
  RESOURCE_ALREADY_EXISTS: AlreadyExistsError,
  UNAUTHENTICATED: UnauthenticatedError,
  CUSTOMER_UNAUTHORIZED: UnauthenticatedError,
  PERMISSION_DENIED: PermissionDeniedError,
  ENDPOINT_NOT_FOUND: EndpointNotFoundError,
  NOT_IMPLEMENTED: NotImplementedError,
  REQUEST_LIMIT_EXCEEDED: UnavailableError,
  RESOURCE_EXHAUSTED: UnavailableError,
  TEMPORARILY_UNAVAILABLE: UnavailableError,
};

/**
 * Rebuilds the typed error for a non-2xx answer. A body without MLflow's shape (a proxy's HTML
 * page, say) still yields a {@link KeelApiError}, coded `INTERNAL_ERROR` for 5xx and
 * `BAD_REQUEST` otherwise, with the start of the body as its message.
 *
 * @example
 * apiErrorFromResponse(404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run x not found"}'); // NotFoundError
 */
export function apiErrorFromResponse(status: number, bodyText: string): KeelApiError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const body = JSON.parse(bodyText) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'string') code = body.error_code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // Not JSON: fall through to the status-based code.
  }
  code ??= status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  message ??= `HTTP ${status}${bodyText.trim() === '' ? '' : `: ${bodyText.trim().slice(0, 200)}`}`;
  const ErrorClass = CLASS_BY_CODE[code] ?? KeelApiError;
  return new ErrorClass(code, message, status);
}

/**
 * Metrics buffered by an `ActiveRun` that could not be written (a failed background `log-batch`).
 * Thrown by the run's next `flush()` or `end()`; `cause` is the error the server or the network
 * gave, and `metrics` holds the points that were not written, so they can be logged again.
 *
 * @example
 * try { await run.end(); }
 * catch (e) { if (e instanceof MetricFlushError) await client.logBatch(run.runId, { metrics: e.metrics }); }
 */
export class MetricFlushError extends Error {
  override readonly name: string = 'MetricFlushError';
  /** The run the metrics belong to. */
  readonly runId: string;
  /** The points that were not written, in logging order. */
  readonly metrics: readonly BufferedMetric[];

  constructor(runId: string, metrics: readonly BufferedMetric[], cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${metrics.length} metric point(s) of run ${runId} could not be logged: ${reason}`, { cause });
    this.runId = runId;
    this.metrics = metrics;
  }
}

/** A metric point as the SDK buffers it: timestamp and step already fixed. */
export interface BufferedMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/**
 * A run's `artifact_uri` that the SDK cannot reach through the server's artifact proxy (e.g. a
 * `file://` or `s3://` location set on an old experiment). Only `mlflow-artifacts:` URIs and
 * `http(s)://…/api/2.0/mlflow-artifacts/artifacts/…` URLs are supported.
 *
 * @example
 * if (error instanceof UnsupportedArtifactUriError) console.error(error.artifactUri);
 */
export class UnsupportedArtifactUriError extends Error {
  override readonly name: string = 'UnsupportedArtifactUriError';
  /** The URI that could not be used. */
  readonly artifactUri: string;

  constructor(artifactUri: string) {
    super(
      `The run's artifact URI '${artifactUri}' is not served by the tracking server's artifact proxy: ` +
        `expected 'mlflow-artifacts:/…' or 'http(s)://…/api/2.0/mlflow-artifacts/artifacts/…'`,
    );
    this.artifactUri = artifactUri;
  }
}

/**
 * Loading a model in this process (`loadModel`) needs the model runtime of `@keel/server`, an
 * optional peer dependency of the SDK that is not installed (or too old to have the runtime).
 * `cause` is the import's own error.
 *
 * @example
 * catch (e) { if (e instanceof ModelRuntimeNotInstalledError) console.error('npm install @keel/server'); }
 */
export class ModelRuntimeNotInstalledError extends Error {
  override readonly name: string = 'ModelRuntimeNotInstalledError';

  constructor(cause: unknown) {
    super(
      'Loading a model locally needs the model runtime of @keel/server: install @keel/server to load models locally (npm install @keel/server)',
      { cause },
    );
  }
}
