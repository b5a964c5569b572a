import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { validateArtifactPath } from '../artifacts/artifact-path.js';
import { actorOf } from '../http/actor.js';
import { decodeMessage } from '../http/decode.js';
import { type AnyRpc, registerRpcs, rpc } from '../http/rpc.js';
import { LOGGED_MODEL_STATUSES, type LoggedModelService } from '../services/tracking/logged-model-service.js';
import { sendFile } from './artifacts.js';
import { KeyValueSchema, keyValue } from './schemas.js';

const ModelIdOnly = Type.Object({ model_id: Type.String() });

/** MLflow's LoggedModelStatus; by name, or by its proto number (PENDING=1 … UPLOAD_FAILED=3). */
const LoggedModelStatusSchema = Type.Union(
  LOGGED_MODEL_STATUSES.map((s) => Type.Literal(s)),
  { protoEnum: true },
);

const ArtifactFileQuery = Type.Object({ model_id: Type.String(), artifact_file_path: Type.String() });

/**
 * MLflow 3's logged-model RPCs (reference §1.7) under every MLflow prefix, and the UI's
 * `GET /ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files`, which streams one file.
 */
export function registerLoggedModelRoutes(app: FastifyInstance, models: LoggedModelService): void {
  registerRpcs(app, loggedModelRpcs(models));
  app.get('/ajax-api/2.0/mlflow/logged-models/:model_id/artifacts/files', async (request, reply) => {
    const message = decodeMessage<{ model_id: string; artifact_file_path: string }>(
      ArtifactFileQuery,
      { ...(request.query as object), ...(request.params as object) },
      true,
    );
    const path = validateArtifactPath(message.artifact_file_path, { field: 'artifact_file_path' });
    return sendFile(request, reply, path, await models.openArtifact(message.model_id, path));
  });
}

/** The logged-model RPCs: create, get, finalize, delete, search, tags, params, artifact listing. */
export function loggedModelRpcs(models: LoggedModelService): AnyRpc[] {
  return [
    rpc({
      methods: ['POST'],
      path: '/logged-models',
      request: Type.Object({
        experiment_id: Type.String(),
        name: Type.Optional(Type.String()),
        model_type: Type.Optional(Type.String()),
        source_run_id: Type.Optional(Type.String()),
        params: Type.Optional(Type.Array(KeyValueSchema)),
        tags: Type.Optional(Type.Array(KeyValueSchema)),
      }),
      handler: async (m, context) => ({
        model: await models.create(
          {
            experimentId: m.experiment_id,
            ...(m.name !== undefined ? { name: m.name } : {}),
            ...(m.model_type !== undefined ? { modelType: m.model_type } : {}),
            ...(m.source_run_id !== undefined ? { sourceRunId: m.source_run_id } : {}),
            params: (m.params ?? []).map(keyValue),
            tags: (m.tags ?? []).map(keyValue),
          },
          actorOf(context),
        ),
      }),
    }),
    rpc({
      methods: ['POST'],
      path: '/logged-models/search',
      request: Type.Object({
        experiment_ids: Type.Optional(Type.Array(Type.String())),
        filter: Type.Optional(Type.String()),
        order_by: Type.Optional(
          Type.Array(
            Type.Object({
              field_name: Type.String(),
              ascending: Type.Optional(Type.Boolean()),
              dataset_name: Type.Optional(Type.String()),
              dataset_digest: Type.Optional(Type.String()),
            }),
          ),
        ),
        max_results: Type.Optional(Type.Integer()),
        page_token: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const page = await models.search({
          experimentIds: m.experiment_ids ?? [],
          ...(m.filter !== undefined ? { filter: m.filter } : {}),
          ...(m.order_by !== undefined ? { orderBy: m.order_by } : {}),
          ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
          ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
        });
        return { models: page.models, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/logged-models/:model_id',
      request: ModelIdOnly,
      handler: async (m) => ({ model: await models.get(m.model_id) }),
    }),
    rpc({
      methods: ['PATCH'],
      path: '/logged-models/:model_id',
      request: Type.Object({ model_id: Type.String(), status: LoggedModelStatusSchema }),
      handler: async (m, context) => ({
        model: await models.finalize(m.model_id, m.status, actorOf(context)),
      }),
    }),
    rpc({
      methods: ['DELETE'],
      path: '/logged-models/:model_id',
      request: ModelIdOnly,
      handler: async (m, context) => {
        await models.delete(m.model_id, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['PATCH'],
      path: '/logged-models/:model_id/tags',
      request: Type.Object({ model_id: Type.String(), tags: Type.Optional(Type.Array(KeyValueSchema)) }),
      handler: async (m, context) => ({
        model: await models.setTags(m.model_id, (m.tags ?? []).map(keyValue), actorOf(context)),
      }),
    }),
    rpc({
      methods: ['DELETE'],
      path: '/logged-models/:model_id/tags/:tag_key',
      request: Type.Object({ model_id: Type.String(), tag_key: Type.String() }),
      handler: async (m, context) => {
        await models.deleteTag(m.model_id, m.tag_key, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/logged-models/:model_id/params',
      request: Type.Object({ model_id: Type.String(), params: Type.Optional(Type.Array(KeyValueSchema)) }),
      handler: async (m, context) => {
        await models.logParams(m.model_id, (m.params ?? []).map(keyValue), actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/logged-models/:model_id/artifacts/directories',
      request: Type.Object({
        model_id: Type.String(),
        artifact_directory_path: Type.Optional(Type.String()),
        // Accepted for compatibility; a folder is listed whole, so there is never a next page.
        page_token: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const path = validateArtifactPath(m.artifact_directory_path ?? '', {
          allowRoot: true,
          field: 'artifact_directory_path',
        });
        const listing = await models.listArtifacts(m.model_id, path);
        return { root_uri: listing.rootUri, files: listing.files };
      },
    }),
  ];
}
