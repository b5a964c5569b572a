import { Type } from '@sinclair/typebox';
import { actorOf } from '../http/actor.js';
import { type AnyRpc, rpc } from '../http/rpc.js';
import type { RunService } from '../services/tracking/run-service.js';
import { KeyValueSchema, keyValue, RunStatusSchema, ViewTypeSchema } from './schemas.js';

const MetricSchema = Type.Object({
  key: Type.String(),
  value: Type.Number(),
  timestamp: Type.Integer(),
  step: Type.Optional(Type.Integer()),
});

const DatasetInputSchema = Type.Object({
  tags: Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.String() }))),
  dataset: Type.Object({
    name: Type.String(),
    digest: Type.String(),
    source_type: Type.String(),
    source: Type.String(),
    schema: Type.Optional(Type.String()),
    profile: Type.Optional(Type.String()),
  }),
});

const RunIdOnly = Type.Object({ run_id: Type.String() });

const metricPoint = (m: { key: string; value: number; timestamp: number; step?: number }) => ({
  key: m.key,
  value: m.value,
  timestamp: m.timestamp,
  step: m.step ?? 0,
});

/** MLflow's run RPCs (reference §1.3) and experiments/search-datasets (§1.6). */
export function runRpcs(runs: RunService): AnyRpc[] {
  return [
    rpc({
      methods: ['POST'],
      path: '/runs/create',
      request: Type.Object({
        experiment_id: Type.Optional(Type.String()),
        user_id: Type.Optional(Type.String()),
        run_name: Type.Optional(Type.String()),
        start_time: Type.Optional(Type.Integer()),
        tags: Type.Optional(Type.Array(KeyValueSchema)),
      }),
      handler: async (m, context) => ({
        run: await runs.create(
          {
            ...(m.experiment_id !== undefined ? { experimentId: m.experiment_id } : {}),
            ...(m.user_id !== undefined ? { userId: m.user_id } : {}),
            ...(m.run_name !== undefined ? { runName: m.run_name } : {}),
            ...(m.start_time !== undefined ? { startTime: m.start_time } : {}),
            tags: (m.tags ?? []).map(keyValue),
          },
          actorOf(context),
        ),
      }),
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/update',
      request: Type.Object({
        run_id: Type.String(),
        status: Type.Optional(RunStatusSchema),
        end_time: Type.Optional(Type.Integer()),
        run_name: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => ({
        run_info: await runs.update(
          {
            runId: m.run_id,
            ...(m.status !== undefined ? { status: m.status } : {}),
            ...(m.end_time !== undefined ? { endTime: m.end_time } : {}),
            ...(m.run_name !== undefined ? { runName: m.run_name } : {}),
          },
          actorOf(context),
        ),
      }),
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/delete',
      request: RunIdOnly,
      handler: async (m, context) => {
        await runs.delete(m.run_id, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/restore',
      request: RunIdOnly,
      handler: async (m, context) => {
        await runs.restore(m.run_id, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/runs/get',
      request: RunIdOnly,
      handler: async (m) => ({ run: await runs.get(m.run_id) }),
    }),
    rpc({
      methods: ['POST', 'GET'],
      path: '/runs/search',
      request: Type.Object({
        experiment_ids: Type.Optional(Type.Array(Type.String())),
        filter: Type.Optional(Type.String()),
        run_view_type: Type.Optional(ViewTypeSchema),
        max_results: Type.Optional(Type.Integer()),
        order_by: Type.Optional(Type.Array(Type.String())),
        page_token: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const page = await runs.search({
          ...(m.experiment_ids !== undefined ? { experimentIds: m.experiment_ids } : {}),
          ...(m.filter !== undefined ? { filter: m.filter } : {}),
          ...(m.run_view_type !== undefined ? { runViewType: m.run_view_type } : {}),
          ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
          ...(m.order_by !== undefined ? { orderBy: m.order_by } : {}),
          ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
        });
        return { runs: page.runs, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/log-metric',
      request: Type.Object({
        run_id: Type.String(),
        key: Type.String(),
        value: Type.Number(),
        timestamp: Type.Integer(),
        step: Type.Optional(Type.Integer()),
      }),
      handler: async (m, context) => {
        await runs.logBatch({ runId: m.run_id, metrics: [metricPoint(m)] }, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/log-parameter',
      request: Type.Object({
        run_id: Type.String(),
        key: Type.String(),
        value: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => {
        await runs.logBatch({ runId: m.run_id, params: [keyValue(m)] }, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/set-tag',
      request: Type.Object({
        run_id: Type.String(),
        key: Type.String(),
        value: Type.Optional(Type.String()),
      }),
      handler: async (m, context) => {
        await runs.logBatch({ runId: m.run_id, tags: [keyValue(m)] }, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/delete-tag',
      request: Type.Object({ run_id: Type.String(), key: Type.String() }),
      handler: async (m, context) => {
        await runs.deleteTag(m.run_id, m.key, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/log-batch',
      request: Type.Object({
        run_id: Type.String(),
        metrics: Type.Optional(Type.Array(MetricSchema)),
        params: Type.Optional(Type.Array(KeyValueSchema)),
        tags: Type.Optional(Type.Array(KeyValueSchema)),
      }),
      handler: async (m, context) => {
        await runs.logBatch(
          {
            runId: m.run_id,
            metrics: (m.metrics ?? []).map(metricPoint),
            params: (m.params ?? []).map(keyValue),
            tags: (m.tags ?? []).map(keyValue),
          },
          actorOf(context),
        );
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/log-model',
      request: Type.Object({ run_id: Type.String(), model_json: Type.String() }),
      handler: async (m, context) => {
        await runs.logModel(m.run_id, m.model_json, actorOf(context));
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/log-inputs',
      request: Type.Object({
        run_id: Type.String(),
        datasets: Type.Optional(Type.Array(DatasetInputSchema)),
        models: Type.Optional(Type.Array(Type.Object({ model_id: Type.String() }))),
      }),
      handler: async (m, context) => {
        await runs.logInputs(
          m.run_id,
          m.datasets ?? [],
          (m.models ?? []).map((model) => model.model_id),
          actorOf(context),
        );
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/runs/outputs',
      request: Type.Object({
        run_id: Type.String(),
        models: Type.Array(Type.Object({ model_id: Type.String(), step: Type.Integer() })),
      }),
      handler: async (m, context) => {
        await runs.logOutputs(
          m.run_id,
          m.models.map((model) => ({ modelId: model.model_id, step: model.step })),
          actorOf(context),
        );
        return {};
      },
    }),
    rpc({
      methods: ['POST', 'GET'],
      path: '/experiments/search-datasets',
      request: Type.Object({ experiment_ids: Type.Array(Type.String()) }),
      handler: async (m) => ({ dataset_summaries: await runs.searchDatasets(m.experiment_ids) }),
    }),
  ];
}
