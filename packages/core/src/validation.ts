import { invalidParameter } from './errors.js';
import { LIMITS } from './limits.js';

const KEY_PATTERN = /^[/\w.\- :]*$/;

/**
 * Validates a metric, param or tag key as MLflow does: at most 250 characters, only letters,
 * digits, `_ - . / : space`, and it must name one unique path (no `..`, no leading `/`, no `//`).
 * `what` names the field in the error, e.g. `"metric name"`.
 */
export function validateKey(key: string, what: string): void {
  if (key === '') throw invalidParameter(`Missing value for required parameter '${what}'`);
  if (key.length > LIMITS.maxKeyLength) {
    throw invalidParameter(
      `Invalid ${what} '${key.slice(0, 50)}…': length ${key.length} exceeds the limit of ${LIMITS.maxKeyLength}`,
    );
  }
  if (!KEY_PATTERN.test(key)) {
    throw invalidParameter(
      `Invalid ${what} '${key}': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)`,
    );
  }
  if (!isUniquePath(key)) {
    throw invalidParameter(
      `Invalid ${what} '${key}': names must not resolve to a different path (no '..', './' or leading '/')`,
    );
  }
}

/** True when a key, read as a POSIX path, is already in normal form and stays below its root. */
function isUniquePath(key: string): boolean {
  if (key.startsWith('/')) return false;
  const parts = key.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return false;
  return true;
}

/** Rejects a value longer than `limit` characters, naming the field. */
export function validateLength(value: string, limit: number, what: string): void {
  if (value.length > limit) {
    throw invalidParameter(
      `Invalid value for ${what}: length ${value.length} exceeds the limit of ${limit} characters`,
    );
  }
}

const EXPERIMENT_ID = /^[A-Za-z0-9][\w-]{0,63}$/;
const RUN_ID = /^[A-Za-z0-9][\w-]{0,255}$/;

/** Checks the format of an experiment id (`[A-Za-z0-9][\w-]{0,63}`). */
export function validateExperimentId(id: string, field = 'experiment_id'): void {
  if (!EXPERIMENT_ID.test(id))
    throw invalidParameter(`Invalid value '${id.slice(0, 100)}' for parameter '${field}'`);
}

/** Checks the format of a run id (`[A-Za-z0-9][\w-]{0,255}`). */
export function validateRunId(id: string, field = 'run_id'): void {
  if (!RUN_ID.test(id))
    throw invalidParameter(`Invalid value '${id.slice(0, 100)}' for parameter '${field}'`);
}
