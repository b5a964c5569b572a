import { Transform } from 'node:stream';
import { invalidParameter, type KeelError } from '@keel/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** A request body handed over as a stream, unparsed. */
export interface RawBody {
  /** The bytes as they arrive; errors when the client goes away or the limit is passed. */
  readonly stream: Transform;
  /** From `Content-Length`, when the client sent one. */
  readonly size?: number;
  /**
   * Stops reading into {@link stream} and drains what the client still sends, so the
   * connection stays usable for the error response. Safe to call at any time.
   */
  discard(): void;
}

/**
 * Makes every route registered on `scope` (an encapsulated plugin context) take its body raw:
 * no parsing, any content type, no Fastify body limit. Handlers read it with {@link rawBody}.
 */
export function acceptRawBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
}

/**
 * Opens a request's body as a stream with backpressure (nothing is buffered beyond the stream's
 * own high-water mark). A declared length over `maxBytes` is refused before reading; a chunked
 * body that passes it errors the stream.
 */
export function rawBody(request: FastifyRequest, maxBytes: number = Number.POSITIVE_INFINITY): RawBody {
  const declared = request.headers['content-length'];
  const size = declared === undefined ? undefined : Number(declared);
  if (size !== undefined && size > maxBytes) throw tooLarge(maxBytes);
  const req = request.raw;
  let seen = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(tooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
  const discard = (): void => {
    if (req.complete || req.destroyed) return;
    req.unpipe(stream);
    req.resume();
  };
  // The store may stop early (an error, a size limit): keep the socket readable by draining.
  stream.on('close', discard);
  req.on('error', (error) => stream.destroy(error));
  req.on('close', () => {
    if (!req.complete)
      stream.destroy(new Error('The client closed the connection before the body was complete'));
  });
  req.pipe(stream);
  return { stream, discard, ...(size !== undefined ? { size } : {}) };
}

function tooLarge(maxBytes: number): KeelError {
  return invalidParameter(`Artifact size is too large. Max size is ${Math.round(maxBytes / 1024 / 1024)}MB.`);
}
