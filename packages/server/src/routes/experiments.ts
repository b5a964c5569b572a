import type { VIEW_TYPES } from '@keel/core';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../http/actor.js';
import { type AnyRpc, rpc } from '../http/rpc.js';
import type { ExperimentService } from '../services/tracking/experiment-service.js';
import { toWireExperiment } from '../services/tracking/experiment-service.js';
import { KeyValueSchema, keyValue, ViewTypeSchema } from './schemas.js';

const SearchRequest = Type.Object({
  max_results: Type.Optional(Type.Integer()),
  page_token: Type.Optional(Type.String()),
  filter: Type.Optional(Type.String()),
  order_by: Type.Optional(Type.Array(Type.String())),
  view_type: Type.Optional(ViewTypeSchema),
});

/** MLflow's experiment RPCs (reference §1.2), plus the legacy `experiments/list` of 1.x clients. */
export function experimentRpcs(experiments: ExperimentService): AnyRpc[] {
  const search = async (m: {
    max_results?: number;
    page_token?: string;
    filter?: string;
    order_by?: string[];
    view_type?: (typeof VIEW_TYPES)[number];
  }) => {
    const page = await experiments.search({
      ...(m.filter !== undefined ? { filter: m.filter } : {}),
      ...(m.order_by !== undefined ? { orderBy: m.order_by } : {}),
      ...(m.view_type !== undefined ? { viewType: m.view_type } : {}),
      ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
      ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
    });
    return { experiments: page.experiments.map(toWireExperiment), next_page_token: page.nextPageToken };
  };
  return [
    rpc({
      methods: ['POST'],
      path: '/experiments/create',
      request: Type.Object({
        name: Type.String(),
        artifact_location: Type.Optional(Type.String()),
        tags: Type.Optional(Type.Array(KeyValueSchema)),
      }),
      handler: async (m, context) => ({
        experiment_id: await experiments.create(
          {
            name: m.name,
            ...(m.artifact_location !== undefined ? { artifactLocation: m.artifact_location } : {}),
            ...(m.tags !== undefined ? { tags: m.tags.map(keyValue) } : {}),
          },
          actorOf(context),
        ),
      }),
    }),
    rpc({ methods: ['POST', 'GET'], path: '/experiments/search', request: SearchRequest, handler: search }),
    rpc({
      methods: ['GET'],
      path: '/experiments/list',
      request: SearchRequest,
      handler: search,
    }),
    rpc({
      methods: ['GET'],
      path: '/experiments/get',
      request: Type.Object({ experiment_id: Type.String() }),
      handler: async (m) => ({ experiment: toWireExperiment(await experiments.get(m.experiment_id)) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/experiments/get-by-name',
      request: Type.Object({ experiment_name: Type.String() }),
      handler: async (m) => ({
        experiment: toWireExperiment(await experiments.getByName(m.experiment_name)),
      }),
    }),
    rpc({
      methods: ['POST'],
      path: '/experiments/delete',
      request: Type.Object({ experiment_id: Type.String() }),
      handler: async (m, context) => {
        await experiments.delete(m.experiment_id, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/experiments/restore',
      request: Type.Object({ experiment_id: Type.String() }),
      handler: async (m, context) => {
        await experiments.restore(m.experiment_id, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/experiments/update',
      request: Type.Object({ experiment_id: Type.String(), new_name: Type.String() }),
      handler: async (m, context) => {
        await experiments.rename(m.experiment_id, m.new_name, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/experiments/set-experiment-tag',
      request: Type.Object({
        experiment_id: Type.String(),
        key: Type.String(),
        value: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => {
        await experiments.setTag(m.experiment_id, m.key, m.value ?? '', actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/experiments/delete-experiment-tag',
      request: Type.Object({ experiment_id: Type.String(), key: Type.String() }),
      handler: async (m, context) => {
        await experiments.deleteTag(m.experiment_id, m.key, actorOf(context));
        return {};
      },
    }),
  ];
}
