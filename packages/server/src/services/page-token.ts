import { invalidParameter } from '@keel/core';

/**
 * Opaque page tokens: base64url of `{"o": offset}`. Clients must treat them as opaque; the
 * server rejects anything it did not mint with INVALID_PARAMETER_VALUE naming `page_token`.
 */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

/** Decodes a token from {@link encodePageToken}; an absent or empty token is offset 0. */
export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isSafeInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through to the error below
  }
  throw invalidParameter(`Invalid page_token '${token.slice(0, 100)}'`);
}

/**
 * Slices one page out of rows fetched with `limit + 1`: the extra row only tells whether a next
 * page exists.
 */
export function pageOf<T>(rows: T[], offset: number, limit: number): { items: T[]; nextPageToken?: string } {
  if (rows.length > limit)
    return { items: rows.slice(0, limit), nextPageToken: encodePageToken(offset + limit) };
  return { items: rows };
}
