import { invalidParameter } from '@keel/core';

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

const NON_FINITE = ['-Infinity', 'Infinity', 'NaN'] as const;

/** Rewrites NaN/Infinity tokens that stand outside string literals into quoted strings. */
export function quoteNonFiniteTokens(text: string): string {
  let out = '';
  let i = 0;
  let last = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    const token = NON_FINITE.find((t) => text.startsWith(t, i));
    if (token && !isIdentifierChar(text[i - 1]) && !isIdentifierChar(text[i + token.length])) {
      out += `${text.slice(last, i)}"${token}"`;
      i += token.length;
      last = i;
      continue;
    }
    i++;
  }
  return out + text.slice(last);
}

function isIdentifierChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_]/.test(ch);
}
