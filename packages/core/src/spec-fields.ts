/**
 * Field checks shared by the spec parsers (deployments, workflows): each throws
 * INVALID_PARAMETER_VALUE whose message starts with the JSON path of the offending field, e.g.
 * `spec.routes[1].weight must be a non-negative number`. Internal to core: not re-exported.
 */
import { invalidParameter } from './errors.js';

/**
 * The value as a plain object.
 *
 * @throws INVALID_PARAMETER_VALUE `<field> must be <expected>` for anything else (arrays and null included).
 * @example objectAt({ a: 1 }, 'spec'); // { a: 1 }
 */
export function objectAt(value: unknown, field: string, expected = 'an object'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParameter(`${field} must be ${expected}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Refuses fields outside `known`, so a misspelt option is not silently ignored.
 *
 * @throws INVALID_PARAMETER_VALUE `<field>.<key> is not a known field (expected …)`.
 */
export function knownFields(value: Record<string, unknown>, field: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalidParameter(`${field}.${key} is not a known field (expected ${known.join(', ')})`);
    }
  }
}

/**
 * A whole number from `min` to `max` (inclusive).
 *
 * @throws INVALID_PARAMETER_VALUE `<field> must be a whole number from <min> to <max>`.
 */
export function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`${field} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/**
 * A finite number from `min` to `max` (inclusive).
 *
 * @throws INVALID_PARAMETER_VALUE `<field> must be a number from <min> to <max>`.
 */
export function numberIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidParameter(`${field} must be a number from ${min} to ${max}`);
  }
  return value;
}
