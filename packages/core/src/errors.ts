/**
 * The error catalog: every stable error code Keel puts on the wire, with its HTTP status.
 *
 * Codes are MLflow's (`mlflow/protos/databricks.proto`), so MLflow clients that branch on
 * `RESOURCE_DOES_NOT_EXIST` or `RESOURCE_ALREADY_EXISTS` keep working. The status table follows
 * MLflow's `ERROR_CODE_TO_HTTP_STATUS`; note RESOURCE_ALREADY_EXISTS is 400, not 409.
 * Documented in `docs/errors.md`.
 */
export const ERROR_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  UNAUTHENTICATED: 401,
  CUSTOMER_UNAUTHORIZED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  NOT_FOUND: 404,
  ENDPOINT_NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  RESOURCE_CONFLICT: 409,
  ABORTED: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL_ERROR: 500,
  INVALID_STATE: 500,
  DATA_LOSS: 500,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

/** One of the stable error codes of {@link ERROR_STATUS}. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** HTTP status for a code; unknown codes map to 500 as in MLflow. */
export function httpStatusOf(code: string): number {
  return (ERROR_STATUS as Record<string, number>)[code] ?? 500;
}

/** Wire shape of every error response: `{"error_code": "...", "message": "..."}`. */
export interface ErrorBody {
  error_code: ErrorCode;
  message: string;
}

/**
 * An expected failure with a stable code. Services throw it; the HTTP layer turns it into
 * `{error_code, message}` with {@link httpStatusOf}; the SDK rebuilds it from responses.
 *
 * @example
 * throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Run with id=${runId} not found`);
 */
export class KeelError extends Error {
  override readonly name: string = 'KeelError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** HTTP status that goes with {@link code}. */
  get status(): number {
    return httpStatusOf(this.code);
  }

  toJSON(): ErrorBody {
    return { error_code: this.code, message: this.message };
  }
}

/** INVALID_PARAMETER_VALUE naming the offending field. */
export function invalidParameter(message: string): KeelError {
  return new KeelError('INVALID_PARAMETER_VALUE', message);
}

/** RESOURCE_DOES_NOT_EXIST. */
export function notFound(message: string): KeelError {
  return new KeelError('RESOURCE_DOES_NOT_EXIST', message);
}

/** RESOURCE_ALREADY_EXISTS. */
export function alreadyExists(message: string): KeelError {
  return new KeelError('RESOURCE_ALREADY_EXISTS', message);
}
