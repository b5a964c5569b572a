import { Readable } from 'node:stream';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../http/actor.js';
import { decodeMessage } from '../http/decode.js';
import { KEEL_PREFIXES, registerRpcs, rpc } from '../http/rpc.js';
import type { PredictionExportFormat, PredictionService } from '../predictions/prediction-service.js';
import type { PredictionFilter } from '../predictions/prediction-store.js';

const FILTER_FIELDS = {
  deployment: Type.Optional(Type.String()),
  model_name: Type.Optional(Type.String()),
  model_version: Type.Optional(Type.String()),
  caller: Type.Optional(Type.String()),
  status: Type.Optional(Type.Integer()),
  from: Type.Optional(Type.Integer()),
  to: Type.Optional(Type.Integer()),
};

const SearchRequest = Type.Object({
  ...FILTER_FIELDS,
  max_results: Type.Optional(Type.Integer()),
  page_token: Type.Optional(Type.String()),
});

const ExportRequest = Type.Object({
  ...FILTER_FIELDS,
  format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('csv')])),
  max_results: Type.Optional(Type.Integer()),
});

/** Content type of each export format. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<PredictionExportFormat, string>> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/**
 * Keel's prediction-record API (see `predictions/`):
 * - `GET /api/2.0/keel/predictions` — filters `deployment`, `model_name`, `model_version`,
 *   `caller`, `status`, `from`/`to` (epoch ms on `received_at`, inclusive), `max_results`
 *   (default 100, at most 1000), `page_token` → `{predictions: [...], next_page_token?}`, newest
 *   first. Payloads are returned exactly as recorded (not compacted the way RPC answers are).
 * - `GET /api/2.0/keel/predictions/export?format=jsonl|csv&…filters[&max_results=N]` — every
 *   match, newest first, streamed (`application/x-ndjson` or `text/csv`, as an attachment).
 * - `POST /api/2.0/keel/predictions/feedback` `{request_id, label}` — sets the ground-truth label
 *   (any JSON value) of a request's records, with the caller as `label_actor`; 404
 *   RESOURCE_DOES_NOT_EXIST for an unknown request id.
 */
export function registerPredictionRoutes(app: FastifyInstance, predictions: PredictionService): void {
  for (const prefix of KEEL_PREFIXES) {
    app.get(`${prefix}/predictions`, async (request, reply) => {
      const m = decodeMessage<Static<typeof SearchRequest>>(SearchRequest, request.query, true);
      const page = await predictions.search({
        ...filterOf(m),
        ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
        ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
      });
      const body = {
        predictions: page.records,
        ...(page.nextPageToken !== undefined ? { next_page_token: page.nextPageToken } : {}),
      };
      return reply.type('application/json').send(JSON.stringify(body));
    });
    app.get(`${prefix}/predictions/export`, async (request, reply) => {
      const m = decodeMessage<Static<typeof ExportRequest>>(ExportRequest, request.query, true);
      const format = m.format ?? 'jsonl';
      const lines = await predictions.exportLines({
        ...filterOf(m),
        format,
        ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
      });
      return reply
        .type(EXPORT_CONTENT_TYPES[format])
        .header('content-disposition', `attachment; filename="predictions.${format}"`)
        .send(Readable.from(lines, { objectMode: false }));
    });
  }
  registerRpcs(app, [
    rpc({
      methods: ['POST'],
      path: '/predictions/feedback',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({ request_id: Type.String(), label: Type.Unknown() }),
      handler: async (m, context) => {
        await predictions.feedback(actorOf(context), { requestId: m.request_id, label: m.label });
        return {};
      },
    }),
  ]);
}

function filterOf(m: Static<typeof SearchRequest> | Static<typeof ExportRequest>): PredictionFilter {
  return {
    ...(m.deployment !== undefined ? { deployment: m.deployment } : {}),
    ...(m.model_name !== undefined ? { modelName: m.model_name } : {}),
    ...(m.model_version !== undefined ? { modelVersion: m.model_version } : {}),
    ...(m.caller !== undefined ? { caller: m.caller } : {}),
    ...(m.status !== undefined ? { status: m.status } : {}),
    ...(m.from !== undefined ? { from: m.from } : {}),
    ...(m.to !== undefined ? { to: m.to } : {}),
  };
}
