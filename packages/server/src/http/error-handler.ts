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
    if (error instanceof KeelError) {
      return reply.status(error.status).send(error.toJSON());
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code =
        status === 413 ? 'RESOURCE_EXHAUSTED' : status === 404 ? 'ENDPOINT_NOT_FOUND' : 'BAD_REQUEST';
      return reply.status(status).send({ error_code: code, message: error.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply
      .status(500)
      .send({ error_code: 'INTERNAL_ERROR', message: `Internal error (request id ${request.id})` });
  });
}
