import { Type } from '@sinclair/typebox';
import { type AnyRpc, rpc } from '../http/rpc.js';
import type { MetricService } from '../services/tracking/metric-service.js';

/**
 * MLflow's metric-history RPCs (reference §1.4): `get-history`, the charts'
 * `get-history-bulk-interval`, and the UI-only `get-history-bulk` under the ajax prefix.
 */
export function metricRpcs(metrics: MetricService): AnyRpc[] {
  return [
    rpc({
      methods: ['GET'],
      path: '/metrics/get-history',
      request: Type.Object({
        run_id: Type.String(),
        metric_key: Type.String(),
        page_token: Type.Optional(Type.String()),
        max_results: Type.Optional(Type.Integer()),
      }),
      handler: async (m) => {
        const page = await metrics.getHistory({
          runId: m.run_id,
          metricKey: m.metric_key,
          ...(m.page_token === undefined ? {} : { pageToken: m.page_token }),
          ...(m.max_results === undefined ? {} : { maxResults: m.max_results }),
        });
        return { metrics: page.metrics, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/metrics/get-history-bulk-interval',
      request: Type.Object({
        run_ids: Type.Array(Type.String()),
        metric_key: Type.String(),
        start_step: Type.Optional(Type.Integer()),
        end_step: Type.Optional(Type.Integer()),
        max_results: Type.Optional(Type.Integer()),
      }),
      handler: (m) =>
        metrics.getHistoryBulkInterval({
          runIds: m.run_ids,
          metricKey: m.metric_key,
          ...(m.start_step === undefined ? {} : { startStep: m.start_step }),
          ...(m.end_step === undefined ? {} : { endStep: m.end_step }),
          ...(m.max_results === undefined ? {} : { maxResults: m.max_results }),
        }),
    }),
    rpc({
      methods: ['GET'],
      path: '/metrics/get-history-bulk',
      // Not in MLflow's protos: only the web UI calls it, through the ajax prefix.
      prefixes: ['/ajax-api/2.0/mlflow'],
      request: Type.Object({
        run_id: Type.Array(Type.String()),
        metric_key: Type.String(),
        max_results: Type.Optional(Type.Integer()),
      }),
      handler: (m) =>
        metrics.getHistoryBulk({
          runIds: m.run_id,
          metricKey: m.metric_key,
          ...(m.max_results === undefined ? {} : { maxResults: m.max_results }),
        }),
    }),
  ];
}
