import { invalidParameter } from '@keel/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validateArtifactPath } from '../artifacts/artifact-path.js';
import type { ArtifactObject } from '../artifacts/artifact-store.js';
import { attachmentDisposition, guessContentType } from '../artifacts/content-type.js';
import { decodeMessage } from '../http/decode.js';
import { acceptRawBodies, rawBody } from '../http/raw-body.js';
import { type AnyRpc, registerRpcs, rpc, sendMessage } from '../http/rpc.js';
import { type ArtifactService, MAX_UI_UPLOAD_BYTES } from '../services/artifact-service.js';

/** Where MLflow mounts its artifact proxy (`mlflow-artifacts` service): the REST and the UI prefix. */
export const ARTIFACT_PROXY_PREFIXES = [
  '/api/2.0/mlflow-artifacts',
  '/ajax-api/2.0/mlflow-artifacts',
] as const;

const RunArtifactQuery = Type.Object({ run_id: Type.String(), path: Type.String() });
const ListQuery = Type.Object({ path: Type.Optional(Type.String()) });

/**
 * Artifact routes (reference §1.5 and §1.10):
 * - the proxy under {@link ARTIFACT_PROXY_PREFIXES}: `GET|PUT|DELETE artifacts/<path>`,
 *   `GET artifacts?path=<dir>`, `POST mpu/{create,complete,abort}/<dir>`;
 * - run-scoped: `GET /api/2.0/mlflow/artifacts/list`, `GET /get-artifact`,
 *   `POST /ajax-api/2.0/mlflow/upload-artifact`.
 *
 * Uploads and downloads stream. Upload routes live in an encapsulated context that takes bodies
 * raw, whatever their content type (the app's JSON parser would refuse them); the multipart and
 * list RPCs are ordinary JSON RPCs. Every path goes through `validateArtifactPath`; paths in URLs
 * are taken from the raw URL so that encoded separators can be told from real ones.
 */
export function registerArtifactRoutes(app: FastifyInstance, artifacts: ArtifactService): void {
  registerRpcs(app, artifactRpcs(artifacts));
  app.register((scope, _options, done) => {
    acceptRawBodies(scope);
    for (const prefix of ARTIFACT_PROXY_PREFIXES) {
      scope.route({
        method: ['GET', 'HEAD'],
        url: `${prefix}/artifacts/*`,
        // The default HEAD route would read the whole file to discard it.
        exposeHeadRoute: false,
        handler: async (request, reply) => {
          const path = urlPath(request);
          return sendFile(request, reply, path, await artifacts.download(path));
        },
      });
      scope.get(`${prefix}/artifacts`, async (request, reply) => {
        const message = decodeMessage<{ path?: string }>(ListQuery, request.query, true);
        const dir = validateArtifactPath(message.path ?? '', { allowRoot: true });
        const files = await artifacts.list(dir);
        return sendMessage(reply, {
          files: files.map((f) => ({ path: f.name, is_dir: f.is_dir, file_size: f.file_size })),
        });
      });
      scope.put(`${prefix}/artifacts/*`, async (request, reply) => {
        const path = urlPath(request);
        const body = rawBody(request);
        try {
          await artifacts.upload(path, body.stream, {
            ...(body.size !== undefined ? { size: body.size } : {}),
            ...(request.headers['content-type'] ? { contentType: request.headers['content-type'] } : {}),
          });
        } finally {
          body.discard();
        }
        return sendMessage(reply, {});
      });
      scope.delete(`${prefix}/artifacts/*`, async (request, reply) => {
        await artifacts.delete(urlPath(request));
        return sendMessage(reply, {});
      });
    }
    scope.route({
      method: ['GET', 'HEAD'],
      url: '/get-artifact',
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const message = decodeMessage<{ run_id: string; path: string }>(
          RunArtifactQuery,
          request.query,
          true,
        );
        const path = validateArtifactPath(message.path);
        return sendFile(request, reply, path, await artifacts.openRunArtifact(message.run_id, path));
      },
    });
    scope.post('/ajax-api/2.0/mlflow/upload-artifact', async (request, reply) => {
      const message = decodeMessage<{ run_id: string; path: string }>(RunArtifactQuery, request.query, true);
      const path = validateArtifactPath(message.path);
      const declared = request.headers['content-length'];
      if (
        declared === '0' ||
        (declared === undefined && request.headers['transfer-encoding'] === undefined)
      ) {
        throw invalidParameter('Request must specify data.');
      }
      const body = rawBody(request, MAX_UI_UPLOAD_BYTES);
      try {
        await artifacts.uploadRunArtifact(message.run_id, path, body.stream, {
          ...(body.size !== undefined ? { size: body.size } : {}),
        });
      } finally {
        body.discard();
      }
      return sendMessage(reply, {});
    });
    done();
  });
}

/** The JSON RPCs: multipart uploads through the proxy, and the tracking API's `artifacts/list`. */
export function artifactRpcs(artifacts: ArtifactService): AnyRpc[] {
  const proxy = { methods: ['POST'], prefixes: ARTIFACT_PROXY_PREFIXES } as const;
  return [
    rpc({
      ...proxy,
      path: '/mpu/create/*',
      request: Type.Object({ path: Type.String(), num_parts: Type.Optional(Type.Integer()) }),
      handler: async (m, { request }) => {
        const upload = await artifacts.createMultipartUpload(
          urlPath(request, true),
          m.path,
          m.num_parts ?? 0,
        );
        return { upload_id: upload.uploadId, credentials: upload.credentials };
      },
    }),
    rpc({
      ...proxy,
      path: '/mpu/complete/*',
      request: Type.Object({
        path: Type.String(),
        upload_id: Type.String(),
        parts: Type.Array(
          Type.Object({
            part_number: Type.Integer(),
            etag: Type.Optional(Type.String()),
            url: Type.Optional(Type.String()),
          }),
        ),
      }),
      handler: async (m, { request }) => {
        await artifacts.completeMultipartUpload(
          urlPath(request, true),
          m.path,
          m.upload_id,
          m.parts.map((p) => ({ part_number: p.part_number, etag: p.etag ?? '' })),
        );
        return {};
      },
    }),
    rpc({
      ...proxy,
      path: '/mpu/abort/*',
      request: Type.Object({ path: Type.String(), upload_id: Type.String() }),
      handler: async (m, { request }) => {
        await artifacts.abortMultipartUpload(urlPath(request, true), m.path, m.upload_id);
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/artifacts/list',
      request: Type.Object({
        run_id: Type.String(),
        path: Type.Optional(Type.String()),
        // Accepted for compatibility; a folder is listed whole, so there is never a next page.
        page_token: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const path = validateArtifactPath(m.path ?? '', { allowRoot: true });
        const listing = await artifacts.listRunArtifacts(m.run_id, path);
        return { root_uri: listing.rootUri, files: listing.files };
      },
    }),
  ];
}

/**
 * The artifact path of a `…/*` route, validated. It is cut from the raw URL (the router has
 * already decoded `%2F` into `/`, which would hide an encoded separator); when the URL does not
 * start with the route's literal prefix, the router's decoded value is used.
 */
function urlPath(request: FastifyRequest, allowRoot = false): string {
  const pattern = request.routeOptions.url ?? '';
  const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  const rawPath = request.url.split('?', 1)[0] ?? '';
  if (rawPath.startsWith(prefix)) {
    return validateArtifactPath(rawPath.slice(prefix.length), { encoded: true, allowRoot });
  }
  const decoded = (request.params as Record<string, string | undefined>)['*'] ?? '';
  return validateArtifactPath(decoded, { allowRoot });
}

/** Streams a stored file as an attachment with a guessed type and `nosniff`, as MLflow does. */
export function sendFile(request: FastifyRequest, reply: FastifyReply, path: string, file: ArtifactObject) {
  reply
    .header('content-type', guessContentType(path))
    .header('content-disposition', attachmentDisposition(path))
    .header('x-content-type-options', 'nosniff')
    .header('content-length', String(file.size));
  if (request.method === 'HEAD') {
    file.stream.destroy();
    return reply.send();
  }
  return reply.send(file.stream);
}
