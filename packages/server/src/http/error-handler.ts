import { KeelError } from '@keel/core';
import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * The one place errors become responses. A {@link KeelError} becomes MLflow's
 * `{error_code, message}` with its status; Fastify's own client errors (body too large, bad
 * content length…) keep their 4xx status as BAD_REQUEST-style codes; anything else is logged
 * and answered with an opaque 500 INTERNAL_ERROR.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error_code: 'ENDPOINT_NOT_FOUND',
      message: `No endpoint ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
  app.setErrorHandler((error: FastifyError | KeelError | Error, request, reply) => {
    const answer = mlflowErrorResponse(error, request.id);
    if (answer.unhandled) request.log.error({ err: error }, 'unhandled error');
    return reply.status(answer.status).send(answer.body);
  });
}

/** How an error is answered: the status, the JSON body, and whether it was unhandled (to be logged). */
export interface ErrorResponse<Body> {
  status: number;
  body: Body;
  /** A 500 for an error nobody raised on purpose; the message to the client is opaque. */
  unhandled: boolean;
}

/**
 * The answer {@link installErrorHandler}'s handler gives `error`, for a request with id `requestId`:
 * a {@link KeelError}'s own status and `{error_code, message}`; a client error of Fastify's (or any
 * error with a 4xx `statusCode`) as `RESOURCE_EXHAUSTED` (413), `ENDPOINT_NOT_FOUND` (404) or
 * `BAD_REQUEST`; anything else an opaque 500 `INTERNAL_ERROR`.
 */
export function mlflowErrorResponse(
  error: unknown,
  requestId: string,
): ErrorResponse<{ error_code: string; message: string }> {
  if (error instanceof KeelError) return { status: error.status, body: error.toJSON(), unhandled: false };
  const status = clientErrorStatus(error);
  if (status !== undefined) {
    const code =
      status === 413 ? 'RESOURCE_EXHAUSTED' : status === 404 ? 'ENDPOINT_NOT_FOUND' : 'BAD_REQUEST';
    return { status, body: { error_code: code, message: errorMessage(error) }, unhandled: false };
  }
  return {
    status: 500,
    body: { error_code: 'INTERNAL_ERROR', message: `Internal error (request id ${requestId})` },
    unhandled: true,
  };
}

/** The 4xx `statusCode` an error carries (Fastify's client errors do), else `undefined`. */
export function clientErrorStatus(error: unknown): number | undefined {
  const status =
    typeof error === 'object' && error !== null && 'statusCode' in error ? error.statusCode : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** An error's message (the value itself when something other than an `Error` was thrown). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
