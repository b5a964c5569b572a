import { invalidParameter, quoteNonFiniteTokens } from '@keel/core';

/**
 * Parses a JSON request body the way MLflow's clients need:
 * - bare `NaN`, `Infinity` and `-Infinity` tokens (Python's `json.dumps` writes them for float
 *   metrics) become the protobuf JSON strings `"NaN"`, `"Infinity"`, `"-Infinity"`;
 * - a body that is itself a JSON string holding JSON (double-encoded by old clients) is decoded again;
 * - an empty body is `{}`.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = JSON.parse(quoteNonFiniteTokens(text));
    } catch (error) {
      throw invalidParameter(`Malformed JSON request body: ${(error as Error).message}`);
    }
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      // A plain JSON string is not a request message; let schema validation reject it.
    }
  }
  return value;
}
