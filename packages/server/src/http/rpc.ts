import { invalidParameter } from '@keel/core';
import type { Static, TObject } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeMessage } from './decode.js';
import { parseJsonBody } from './json-body.js';

/** HTTP methods an RPC can be mounted with. */
export type RpcMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Where MLflow mounts its REST API: the public prefix, the UI's prefix, and the 1.x preview alias. */
export const MLFLOW_PREFIXES = [
  '/api/2.0/mlflow',
  '/ajax-api/2.0/mlflow',
  '/api/2.0/preview/mlflow',
] as const;

/** Where Keel's own APIs (beyond MLflow's) are mounted: the public prefix and the UI's. */
export const KEEL_PREFIXES = ['/api/2.0/keel', '/ajax-api/2.0/keel'] as const;

/** What a handler knows about the call besides its message. */
export interface RpcContext {
  readonly requestId: string;
  readonly request: FastifyRequest;
}

/** One MLflow-style RPC: a path under the prefixes, its request schema, and its handler. */
export interface RpcDefinition<S extends TObject> {
  /** Methods it answers; MLflow serves some searches on both GET and POST. */
  readonly methods: readonly RpcMethod[];
  /** Path below the prefix, e.g. `/experiments/create`; `:name` segments become message fields. */
  readonly path: string;
  readonly request: S;
  /** Returns the response message; `undefined` fields and empty lists are omitted on the wire. */
  // Method syntax on purpose: it lets a list of RPCs with different schemas share one type.
  handler(message: Static<S>, context: RpcContext): Promise<object> | object;
  /** Prefixes to mount under. @default MLFLOW_PREFIXES */
  readonly prefixes?: readonly string[];
  /**
   * Send the response as the handler returns it, not compacted: for messages that carry JSON
   * values whose nulls and empty lists mean something (workflow specs, inputs, outputs).
   * @default false
   */
  readonly verbatim?: boolean;
}

/** An RPC of any schema. */
export type AnyRpc = RpcDefinition<TObject>;

/** Helper that keeps the schema and handler types tied together. */
export function rpc<S extends TObject>(definition: RpcDefinition<S>): RpcDefinition<S> {
  return definition;
}

/** Mounts RPCs on a Fastify instance under each of their prefixes. */
export function registerRpcs(app: FastifyInstance, definitions: readonly AnyRpc[]): void {
  for (const definition of definitions) {
    for (const prefix of definition.prefixes ?? MLFLOW_PREFIXES) {
      app.route({
        method: [...definition.methods],
        url: `${prefix}${definition.path}`,
        handler: async (request, reply) => {
          const message = decodeMessage<Static<TObject>>(
            definition.request,
            withPathParams(await requestFields(request), request.params),
            request.method === 'GET',
          );
          const result = await definition.handler(message, { requestId: request.id, request });
          if (definition.verbatim) return reply.type('application/json').send(JSON.stringify(result));
          return sendMessage(reply, result);
        },
      });
    }
  }
}

/**
 * Path parameters (`/webhooks/:webhook_id`) are message fields too, as in MLflow's
 * `/mlflow/webhooks/{webhook_id}`; they win over a same-named body or query field.
 */
function withPathParams(fields: unknown, params: unknown): unknown {
  if (typeof params !== 'object' || params === null || Object.keys(params).length === 0) return fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return fields;
  return { ...fields, ...params };
}

/**
 * GET reads the query string; with no query string at all it falls back to a JSON body, which
 * 0.x Python clients sent (Fastify does not parse GET bodies, so it is read here, bounded).
 * Other methods read the JSON body (see `json-body.ts`).
 */
async function requestFields(request: FastifyRequest): Promise<unknown> {
  if (request.method !== 'GET') return request.body ?? {};
  const query = request.query as Record<string, unknown>;
  if (Object.keys(query).length > 0) return query;
  const text = await readSmallBody(request);
  return text === '' ? query : parseJsonBody(text);
}

const MAX_GET_BODY_BYTES = 1024 * 1024;

async function readSmallBody(request: FastifyRequest): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (!declared && request.headers['transfer-encoding'] === undefined) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_GET_BODY_BYTES) throw invalidParameter('GET request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes a response message with MLflow's conventions: empty fields omitted, `{}` when empty. */
export function sendMessage(reply: FastifyReply, message: object): FastifyReply {
  return reply.type('application/json').send(JSON.stringify(compact(message)));
}

/** Drops `undefined`/`null` fields and empty lists, recursively, as protobuf JSON does. */
export function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined || field === null) continue;
    if (Array.isArray(field) && field.length === 0) continue;
    out[key] = compact(field);
  }
  return out;
}

/**
 * Registers the JSON body parser for every route: MLflow's lenient JSON (see `parseJsonBody`).
 * Any other content type on an RPC is answered 400 INVALID_PARAMETER_VALUE, as MLflow does.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('*', (request, _payload, done) => {
    done(
      invalidParameter(
        `Bad Request. Content-Type must be 'application/json', got '${request.headers['content-type'] ?? ''}'`,
      ),
      undefined,
    );
  });
}
