/**
 * What the protocol route families (`mlflow-scoring.ts`, `open-inference.ts`) share: the model they
 * serve, its protocol name and version, and the one way to score it (through the micro-batcher).
 */
import type { ModelInput } from '@keel/core';
import type { FastifyInstance } from 'fastify';
import type { Model, ModelOutput } from '../models/model.js';
import type { ServingProtocol } from './serving-metrics.js';

/** The model behind a server, as its routes see it. */
export interface ServedModel {
  readonly model: Model;
  /** Name in Open Inference Protocol paths. */
  readonly name: string;
  /** Version in Open Inference Protocol paths and responses; `undefined` for an unversioned model. */
  readonly version: string | undefined;
  /** Largest request body, in bytes; past it the answer is 413. */
  readonly bodyLimit: number;
  /** Scores an input already checked against the signature (through the micro-batcher). */
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput>;
  /** Whether the model can answer now (`model.ready`, `true` when the model does not say). */
  isReady(): boolean;
}

/** Route `config` naming the protocol, read by the metrics hook. */
export interface ServingRouteConfig {
  protocol: ServingProtocol;
}

/**
 * Makes every route registered on `scope` (an encapsulated plugin context) take its body as a UTF-8
 * string whatever its content type, up to `bodyLimit` bytes (Fastify answers 413 past it). The routes
 * check the content type and parse the text themselves, so that they answer in their protocol's
 * error shape.
 */
export function acceptTextBodies(scope: FastifyInstance, bodyLimit: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (_request, body, done) =>
    done(null, body),
  );
}

/** The body text a route registered after {@link acceptTextBodies} received (`''` when there was none). */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : '';
}

/**
 * Adds `Retry-After: 1` to every 503 answered in `scope` (a full queue, an unready model) that does not
 * carry one, so clients know when to retry; MLflow's clients back off on 503.
 */
export function retryAfterOn503(scope: FastifyInstance): void {
  scope.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    done(null, payload);
  });
}
