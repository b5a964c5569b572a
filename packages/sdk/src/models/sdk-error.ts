import { httpStatusOf } from '@keel/core';
import { apiErrorFromResponse } from '../errors.js';

/**
 * The SDK's typed error for a `KeelError` thrown by core or by a model runtime (checked by code and
 * name, so a second copy of `@keel/core` is recognised too): the same class a server answer with that
 * code rebuilds to (`InvalidParameterError` for INVALID_PARAMETER_VALUE, `KeelApiError` coded
 * BAD_REQUEST…). Anything else is returned unchanged.
 *
 * @example
 * try { enforceSignature(input, signature); } catch (error) { throw toSdkError(error); }
 */
export function toSdkError(error: unknown): unknown {
  const candidate = error as { name?: unknown; code?: unknown; message?: unknown } | null;
  const isKeelError =
    typeof candidate === 'object' &&
    candidate !== null &&
    (candidate.name === 'KeelError' || !(candidate instanceof Error)) &&
    typeof candidate.code === 'string' &&
    typeof candidate.message === 'string';
  if (!isKeelError) return error;
  const code = candidate.code as string;
  const converted = apiErrorFromResponse(
    httpStatusOf(code),
    JSON.stringify({ error_code: code, message: candidate.message }),
  );
  if (error instanceof Error) converted.cause = error;
  return converted;
}

/**
 * An `InvalidParameterError` (INVALID_PARAMETER_VALUE, 400) for a bad option or argument.
 * @example throw invalidOption("saveModel: give either 'path' or 'onnx', not both");
 */
export function invalidOption(message: string): Error {
  return toSdkError({ code: 'INVALID_PARAMETER_VALUE', message }) as Error;
}
