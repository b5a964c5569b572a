/**
 * `keel-jsonl/1`: the JSON-lines protocol a `process` model speaks on stdin/stdout. One JSON object
 * per line (UTF-8, `\n`-terminated, no newline inside a message), in both directions.
 *
 * 1. **Ready.** Once the model is loaded, the child prints `{"ready": true}` on stdout. Until then it
 *    prints nothing else on stdout (logs go to stderr). Keel waits `startupTimeoutMs` for it.
 * 2. **Requests.** Keel writes one line per request to the child's stdin:
 *    `{"id": 7, "input": <ModelInput>, "params": {...}}` where `id` is a non-negative integer unique
 *    among requests in flight, `input` is `{"kind": "columns", "columns": {"x": [1, 2]}, "rowCount": 2}`
 *    or `{"kind": "tensors", "tensors": {"input": {"data": [1, 2, 3, 4], "shape": [2, 2]}}}` (values
 *    flattened row-major; an unnamed tensor is named `""`), and `params` is omitted when the request
 *    had none. Values are JSON: `binary` cells are base64 strings, `datetime` cells ISO 8601 strings,
 *    missing values and `NaN` are `null`. Several requests may be in flight at once (pipelined).
 * 3. **Replies.** The child answers every request with one line, in any order:
 *    `{"id": 7, "output": <output>}` where `<output>` follows the rules of `normalizeModelOutput`
 *    (a `ModelOutput`, a list with one element per row, or an object of equal-length lists), or
 *    `{"id": 7, "error": {"message": "..."}}`, which fails the request with 400 BAD_REQUEST. Floats
 *    must be finite JSON numbers (`NaN` and `Infinity` are not JSON; write `null`).
 * 4. **Shutdown.** Keel closes the child's stdin; the child exits. One that has not exited after the
 *    grace period gets SIGTERM, then SIGKILL.
 *
 * stderr is free-form: Keel forwards each line to its logger and keeps the last lines for error
 * messages. A stdout line that is not a reply to a request in flight (not JSON, no known `id`) means
 * the streams are out of step: every request in flight fails and the child is restarted.
 */
import type { ModelInput } from '@keel/core';

/** The protocol name `flavors.process.protocol` must carry. */
export const PROCESS_PROTOCOL = 'keel-jsonl/1';

/** The ready line a child prints once, before any reply. */
export const READY_LINE = '{"ready": true}';

/** One request as Keel writes it. */
export interface ProtocolRequest {
  id: number;
  input: ModelInput;
  params?: Record<string, unknown>;
}

/** A stdout line of the child, decoded. */
export type ChildLine =
  | { kind: 'ready' }
  | { kind: 'output'; id: number; output: unknown }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'malformed'; id: number | undefined; reason: string };

/**
 * Encodes a request as one line, newline included.
 *
 * @example
 * encodeRequest({ id: 0, input: { kind: 'columns', columns: { x: [1] }, rowCount: 1 } })
 * // '{"id":0,"input":{"kind":"columns","columns":{"x":[1]},"rowCount":1}}\n'
 */
export function encodeRequest(request: ProtocolRequest): string {
  return `${JSON.stringify(request, binaryAsBase64)}\n`;
}

/** `JSON.stringify` replacer: bytes (a `binary` column's cells) travel as base64 strings. */
function binaryAsBase64(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
    : value;
}

/**
 * Decodes one stdout line of the child. A line that is not one of the protocol's messages is
 * `malformed`, with its `id` when it carries a valid one.
 *
 * @example
 * parseChildLine('{"id": 3, "output": [1, 0]}') // { kind: 'output', id: 3, output: [1, 0] }
 * parseChildLine('hello') // { kind: 'malformed', id: undefined, reason: 'not JSON: hello' }
 */
export function parseChildLine(line: string): ChildLine {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return { kind: 'malformed', id: undefined, reason: `not JSON: ${snippet(line)}` };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { kind: 'malformed', id: undefined, reason: `not a JSON object: ${snippet(line)}` };
  }
  const record = message as Record<string, unknown>;
  if (record.ready === true && !('id' in record)) return { kind: 'ready' };
  const { id } = record;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    return { kind: 'malformed', id: undefined, reason: `no valid "id": ${snippet(line)}` };
  }
  if ('error' in record) {
    const error = record.error;
    const text =
      typeof error === 'object' && error !== null ? (error as Record<string, unknown>).message : undefined;
    if (typeof text !== 'string') {
      return { kind: 'malformed', id, reason: `"error" is not {"message": "..."}: ${snippet(line)}` };
    }
    return { kind: 'error', id, message: text };
  }
  if ('output' in record) return { kind: 'output', id, output: record.output };
  return { kind: 'malformed', id, reason: `neither "output" nor "error": ${snippet(line)}` };
}

/** The start of a line, for error messages. */
export function snippet(line: string, max = 200): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
