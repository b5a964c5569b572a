import { KeelError } from '@keel/core';
import { KeelApiError, KeelConnectionError } from '@keel/sdk';
import { oneLine } from './cli-error.js';

/** Socket error codes in words, for the "cannot reach" line. */
const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for an answer',
};

/**
 * The text after `error: ` for any failure a command throws, on one line:
 * - a server's error answer: its message and code — `Run with id=… not found (RESOURCE_DOES_NOT_EXIST)`;
 * - a locally detected search error (same catalog): the same shape;
 * - no answer at all: `cannot reach Keel at http://127.0.0.1:5000: connection refused`;
 * - anything else: the error's own message, newlines collapsed.
 */
export function errorLine(error: unknown): string {
  if (error instanceof KeelApiError || error instanceof KeelError) {
    return oneLine(`${error.message} (${error.code})`);
  }
  if (error instanceof KeelConnectionError) {
    return oneLine(`cannot reach Keel at ${serverOf(error.url)}: ${reasonOf(error)}`);
  }
  return oneLine(error);
}

/** The tracking URI part of a request URL (everything before the API path). */
function serverOf(url: string): string {
  return url.replace(/\/(api|ajax-api)\/\d+\.\d+\/.*$/, '').replace(/\/+$/, '');
}

/** A socket error code in the cause chain in words, else the innermost cause's message. */
function reasonOf(error: KeelConnectionError): string {
  let current: unknown = error;
  let innermost: Error = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && REASONS[code] !== undefined) return REASONS[code];
    if (current.name === 'TimeoutError') return 'timed out';
    innermost = current;
    current = current.cause;
  }
  return innermost === error ? error.message : innermost.message;
}
