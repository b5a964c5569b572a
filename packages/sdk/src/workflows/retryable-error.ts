/**
 * Thrown by a task to ask for another attempt: the engine retries the task (up to its `retries`,
 * with exponential backoff) only when the failure is a `RetryableError` (or the worker crashed or
 * timed out); any other error fails the node at once. The engine recognises it by
 * `error.retryable === true`, so an error from another copy of the SDK counts too.
 *
 * @example
 * const res = await fetch(url);
 * if (res.status === 503) throw new RetryableError(`${url} is unavailable`);
 */
export class RetryableError extends Error {
  override readonly name: string = 'RetryableError';
  /** Always `true`: what the engine checks. */
  readonly retryable = true as const;
}

/** Whether an error asks for a retry (a {@link RetryableError} from any copy of the SDK). */
export function isRetryableError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}
