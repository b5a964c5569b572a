import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { validateArtifactPath } from '../artifacts/artifact-path.js';
import { actorOf } from '../http/actor.js';
import { decodeMessage } from '../http/decode.js';
import { type AnyRpc, registerRpcs, rpc } from '../http/rpc.js';
import type { RegistrySearchInput, RegistryService } from '../services/registry/registry-service.js';
import { sendFile } from './artifacts.js';
import { KeyValueSchema, keyValue } from './schemas.js';

const Name = Type.Object({ name: Type.String() });
const NameVersion = Type.Object({ name: Type.String(), version: Type.String() });
const SearchRequest = Type.Object({
  filter: Type.Optional(Type.String()),
  max_results: Type.Optional(Type.Integer()),
  order_by: Type.Optional(Type.Array(Type.String())),
  page_token: Type.Optional(Type.String()),
});
const VersionArtifactQuery = Type.Object({
  name: Type.String(),
  version: Type.String(),
  path: Type.String(),
});

function searchInput(m: {
  filter?: string;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}): RegistrySearchInput {
  return {
    ...(m.filter !== undefined ? { filter: m.filter } : {}),
    ...(m.order_by !== undefined ? { orderBy: m.order_by } : {}),
    ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
    ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
  };
}

/**
 * Registers the model registry: every RPC of {@link registryRpcs} under MLflow's three prefixes,
 * and `GET /model-versions/get-artifact?name=&version=&path=`, which streams a file of a
 * version's immutable copy like `/get-artifact` does for runs.
 */
export function registerRegistryRoutes(app: FastifyInstance, registry: RegistryService): void {
  registerRpcs(app, registryRpcs(registry));
  app.route({
    method: ['GET', 'HEAD'],
    url: '/model-versions/get-artifact',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const m = decodeMessage<{ name: string; version: string; path: string }>(
        VersionArtifactQuery,
        request.query,
        true,
      );
      const path = validateArtifactPath(m.path);
      return sendFile(request, reply, path, await registry.openVersionArtifact(m.name, m.version, path));
    },
  });
}

/** MLflow's model-registry RPCs (reference §1.9), plus the legacy `registered-models/list` of 1.x clients. */
export function registryRpcs(registry: RegistryService): AnyRpc[] {
  return [
    rpc({
      methods: ['POST'],
      path: '/registered-models/create',
      request: Type.Object({
        name: Type.String(),
        tags: Type.Optional(Type.Array(KeyValueSchema)),
        description: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        registered_model: await registry.createModel(
          {
            name: m.name,
            ...(m.tags !== undefined ? { tags: m.tags.map(keyValue) } : {}),
            ...(m.description !== undefined ? { description: m.description } : {}),
          },
          actorOf(context),
        ),
      }),
    }),
    rpc({
      methods: ['POST'],
      path: '/registered-models/rename',
      request: Type.Object({ name: Type.String(), new_name: Type.String() }),
      handler: async (m, context) => ({
        registered_model: await registry.renameModel(m.name, m.new_name, actorOf(context)),
      }),
    }),
    rpc({
      methods: ['PATCH'],
      path: '/registered-models/update',
      request: Type.Object({ name: Type.String(), description: Type.Optional(Type.String()) }),
      handler: async (m, context) => ({
        registered_model: await registry.updateModel(m.name, m.description, actorOf(context)),
      }),
    }),
    rpc({
      methods: ['DELETE'],
      path: '/registered-models/delete',
      request: Name,
      handler: async (m, context) => {
        await registry.deleteModel(m.name, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/registered-models/get',
      request: Name,
      handler: async (m) => ({ registered_model: await registry.getModel(m.name) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/registered-models/search',
      request: SearchRequest,
      handler: async (m) => {
        const page = await registry.searchModels(searchInput(m));
        return { registered_models: page.models, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/registered-models/list',
      request: Type.Object({
        max_results: Type.Optional(Type.Integer()),
        page_token: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const page = await registry.searchModels(searchInput(m));
        return { registered_models: page.models, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['POST', 'GET'],
      path: '/registered-models/get-latest-versions',
      request: Type.Object({ name: Type.String(), stages: Type.Optional(Type.Array(Type.String())) }),
      handler: async (m) => ({ model_versions: await registry.getLatestVersions(m.name, m.stages) }),
    }),
    rpc({
      methods: ['POST'],
      path: '/registered-models/set-tag',
      request: Type.Object({ name: Type.String(), key: Type.String(), value: Type.Optional(Type.String()) }),
      handler: async (m, context) => {
        await registry.setModelTag(m.name, m.key, m.value ?? '', actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['DELETE'],
      path: '/registered-models/delete-tag',
      request: Type.Object({ name: Type.String(), key: Type.String() }),
      handler: async (m, context) => {
        await registry.deleteModelTag(m.name, m.key, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/registered-models/alias',
      request: Type.Object({ name: Type.String(), alias: Type.String(), version: Type.String() }),
      handler: async (m, context) => {
        await registry.setAlias(m.name, m.alias, m.version, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['DELETE'],
      path: '/registered-models/alias',
      request: Type.Object({ name: Type.String(), alias: Type.String() }),
      handler: async (m, context) => {
        await registry.deleteAlias(m.name, m.alias, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/registered-models/alias',
      request: Type.Object({ name: Type.String(), alias: Type.String() }),
      handler: async (m) => ({ model_version: await registry.getVersionByAlias(m.name, m.alias) }),
    }),
    rpc({
      methods: ['POST'],
      path: '/model-versions/create',
      request: Type.Object({
        name: Type.String(),
        source: Type.String(),
        run_id: Type.Optional(Type.String()),
        tags: Type.Optional(Type.Array(KeyValueSchema)),
        run_link: Type.Optional(Type.String()),
        description: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        model_version: await registry.createVersion(
          {
            name: m.name,
            source: m.source,
            ...(m.run_id ? { runId: m.run_id } : {}),
            ...(m.tags !== undefined ? { tags: m.tags.map(keyValue) } : {}),
            ...(m.run_link !== undefined ? { runLink: m.run_link } : {}),
            ...(m.description !== undefined ? { description: m.description } : {}),
          },
          actorOf(context),
        ),
      }),
    }),
    rpc({
      methods: ['PATCH'],
      path: '/model-versions/update',
      request: Type.Object({
        name: Type.String(),
        version: Type.String(),
        description: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        model_version: await registry.updateVersion(m.name, m.version, m.description, actorOf(context)),
      }),
    }),
    rpc({
      methods: ['POST'],
      path: '/model-versions/transition-stage',
      request: Type.Object({
        name: Type.String(),
        version: Type.String(),
        stage: Type.String(),
        archive_existing_versions: Type.Optional(Type.Boolean()),
      }),
      handler: async (m, context) => ({
        model_version: await registry.transitionStage(
          m.name,
          m.version,
          m.stage,
          m.archive_existing_versions ?? false,
          actorOf(context),
        ),
      }),
    }),
    rpc({
      methods: ['DELETE'],
      path: '/model-versions/delete',
      request: NameVersion,
      handler: async (m, context) => {
        await registry.deleteVersion(m.name, m.version, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/model-versions/get',
      request: NameVersion,
      handler: async (m) => ({ model_version: await registry.getVersion(m.name, m.version) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/model-versions/search',
      request: SearchRequest,
      handler: async (m) => {
        const page = await registry.searchVersions(searchInput(m));
        return { model_versions: page.versions, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/model-versions/get-download-uri',
      request: NameVersion,
      handler: async (m) => ({ artifact_uri: await registry.getDownloadUri(m.name, m.version) }),
    }),
    rpc({
      methods: ['POST'],
      path: '/model-versions/set-tag',
      request: Type.Object({
        name: Type.String(),
        version: Type.String(),
        key: Type.String(),
        value: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => {
        await registry.setVersionTag(m.name, m.version, m.key, m.value ?? '', actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['DELETE'],
      path: '/model-versions/delete-tag',
      request: Type.Object({ name: Type.String(), version: Type.String(), key: Type.String() }),
      handler: async (m, context) => {
        await registry.deleteVersionTag(m.name, m.version, m.key, actorOf(context));
        return {};
      },
    }),
  ];
}
