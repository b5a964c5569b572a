/**
 * Core's workflow type rules (`typeAccepts`, `checkValue`, `parseTypedInterface`…) as the SDK
 * uses them while a graph is built: errors come out as the SDK's typed errors
 * (`InvalidParameterError`), their messages starting with where the mistake is.
 */
import {
  checkValue,
  parseTypedInterface,
  type TypedInterface,
  type TypeSpec,
  type ValueUse,
} from '@keel/core';
import { toSdkError } from '../models/sdk-error.js';

/**
 * Runs a core check, rethrowing its `KeelError` as the SDK's typed error.
 * @example sdkCheck(() => checkValue({ type: 'int' }, 1.5, 'x')); // throws InvalidParameterError 'x must be a whole number (int)'
 */
export function sdkCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw toSdkError(error);
  }
}

/**
 * Checks that `value` has type `spec` (core's `checkValue`): as a literal of the graph (`literal`:
 * files are artifact references), or as a value a task handles (`launch`: files are local paths).
 *
 * @throws InvalidParameterError `<where> must be …`.
 */
export function checkTyped(spec: TypeSpec, value: unknown, where: string, use: ValueUse): void {
  sdkCheck(() => checkValue(spec, value, where, use));
}

/**
 * Checks declared inputs and outputs (names, types) and returns them as core parses them (only
 * known fields; fresh objects).
 *
 * @throws InvalidParameterError `<where>.inputs.<name>…` naming the bad name or type.
 */
export function checkInterface(inputs: unknown, outputs: unknown, where: string): TypedInterface {
  return sdkCheck(() => parseTypedInterface({ inputs: inputs ?? {}, outputs: outputs ?? {} }, where));
}

/** Whether a value is a plain object (`{…}`), not an array, class instance or null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
