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

/** `RESOURCE_DOES_NOT_EXIST`: the experiment, run or model named in the request does not exist. */
export class NotFoundError extends KeelApiError {
  override readonly name: string = 'NotFoundError';
}

/** `INVALID_PARAMETER_VALUE`: the request was rejected; the message names the field. */
export class InvalidParameterError extends KeelApiError {
  override readonly name: string = 'InvalidParameterError';
}

/** `RESOURCE_ALREADY_EXISTS`: e.g. an experiment with that name exists (HTTP 400, as in MLflow). */
export class AlreadyExistsError extends KeelApiError {
  override readonly name: string = 'AlreadyExistsError';
}

/**
 * The server could not be reached (refused, reset, DNS failure, timeout) after the client's
 * retries. Distinct from {@link KeelApiError}: no answer was received at all.
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
};

/**
 * Rebuilds the typed error for a non-2xx answer. A body without MLflow's shape (a proxy's HTML
 * page, say) still yields a {@link KeelApiError}, coded `INTERNAL_ERROR` for 5xx and
 * `BAD_REQUEST` otherwise, with the start of the body as its message.
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
