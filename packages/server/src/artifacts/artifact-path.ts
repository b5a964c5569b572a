import { invalidParameter } from '@keel/core';

/** Longest artifact path accepted, in characters. */
export const MAX_ARTIFACT_PATH_LENGTH = 4096;
/** Longest single path segment, in UTF-8 bytes: what common file systems allow for one name. */
export const MAX_ARTIFACT_SEGMENT_BYTES = 255;

/** How {@link validateArtifactPath} reads its input. */
export interface ArtifactPathOptions {
  /** Parameter name for error messages. @default 'path' */
  field?: string;
  /**
   * The value is still percent-encoded (the raw tail of a request URL) and is decoded here once;
   * an encoded separator (`%2F`, `%5C`) or NUL is refused before decoding. @default false
   */
  encoded?: boolean;
  /** Accept the empty path, meaning the store root (listing). @default false */
  allowRoot?: boolean;
}

/**
 * Validates an artifact path from a request and returns it normalised: a relative POSIX path
 * with no empty, `.` or trailing segments (`''` is the root when `allowRoot` is set).
 *
 * Refused with INVALID_PARAMETER_VALUE naming the path: `..` segments; percent-encoded
 * traversal that a second decoding would reveal (`%2e%2e`, `%2f`, `%5c`, `%25…`, `%00`);
 * absolute paths (`/etc`, `C:\`, `C:`); backslashes; NUL and other control characters; names
 * longer than the file system allows. Stores may rely on this and join the result under their
 * root.
 *
 * @example
 * validateArtifactPath('models//model.onnx')           // 'models/model.onnx'
 * validateArtifactPath('%2e%2e/x', { encoded: true })  // throws INVALID_PARAMETER_VALUE
 */
export function validateArtifactPath(value: string, options: ArtifactPathOptions = {}): string {
  const field = options.field ?? 'path';
  const refuse = (why: string): never => {
    throw invalidParameter(`Invalid value for parameter '${field}': artifact path '${shown(value)}' ${why}`);
  };
  let path = value;
  if (options.encoded) {
    // Decoding turns these into a separator or NUL that the router would otherwise hide.
    if (/%(2f|5c|00)/i.test(path)) refuse('contains an encoded separator or NUL');
    try {
      path = decodeURIComponent(path);
    } catch {
      refuse('is not validly percent-encoded');
    }
  }
  // What is left after the one decoding a client's URL gets must not decode into anything
  // meaningful again: `%2e%2e` here means the client encoded `..` twice.
  if (/%(2e|2f|5c|25|00)/i.test(path)) refuse('contains percent-encoded traversal characters');
  if (path.length > MAX_ARTIFACT_PATH_LENGTH) refuse(`is longer than ${MAX_ARTIFACT_PATH_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(path)) refuse('contains NUL or control characters');
  if (path.includes('\\')) refuse('contains a backslash');
  if (path.startsWith('/')) refuse('is absolute');
  if (/^[a-z]:/i.test(path)) refuse('is absolute (a drive letter)');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') refuse("contains a '..' segment");
    if (Buffer.byteLength(segment) > MAX_ARTIFACT_SEGMENT_BYTES) {
      refuse(`has a segment longer than ${MAX_ARTIFACT_SEGMENT_BYTES} bytes`);
    }
    segments.push(segment);
  }
  if (segments.length === 0 && !options.allowRoot) refuse('is empty');
  return segments.join('/');
}

/** Joins already validated artifact paths; empty parts (the root) are skipped. */
export function joinArtifactPath(...parts: readonly string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

/** The last segment of a validated artifact path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Error messages quote at most 200 characters of the offending path, with control characters escaped. */
function shown(value: string): string {
  const escaped = value.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point.
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}
