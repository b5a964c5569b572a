import { Type } from '@sinclair/typebox';
import { actorOf } from '../http/actor.js';
import { type AnyRpc, KEEL_PREFIXES, rpc } from '../http/rpc.js';
import { WEBHOOK_STATUSES, type WebhookService } from '../webhooks/webhook-service.js';

const EventSchema = Type.Object({ entity: Type.String(), action: Type.String() });

/** MLflow's WebhookStatus; by name, or by its proto number (ACTIVE=1, DISABLED=2). */
const StatusSchema = Type.Union(
  WEBHOOK_STATUSES.map((s) => Type.Literal(s)),
  { protoEnum: true },
);

const PageRequest = {
  max_results: Type.Optional(Type.Integer()),
  page_token: Type.Optional(Type.String()),
};

/**
 * MLflow's webhook RPCs (`mlflow/protos/webhooks.proto`): create and list on `/webhooks`, get,
 * update (PATCH) and delete on `/webhooks/{webhook_id}`, and `/webhooks/{webhook_id}/test`; plus
 * Keel's delivery log on `/api/2.0/keel/webhooks/{webhook_id}/deliveries`.
 */
export function webhookRpcs(webhooks: WebhookService): AnyRpc[] {
  return [
    rpc({
      methods: ['POST'],
      path: '/webhooks',
      request: Type.Object({
        name: Type.String(),
        url: Type.String(),
        events: Type.Array(EventSchema),
        description: Type.Optional(Type.String()),
        secret: Type.Optional(Type.String()),
        status: Type.Optional(StatusSchema),
      }),
      handler: async (m, context) => ({ webhook: await webhooks.create(actorOf(context), m) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/webhooks',
      request: Type.Object(PageRequest),
      handler: async (m) => {
        const page = await webhooks.list({
          ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
          ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
        });
        return { webhooks: page.webhooks, next_page_token: page.nextPageToken };
      },
    }),
    rpc({
      methods: ['GET'],
      path: '/webhooks/:webhook_id',
      request: Type.Object({ webhook_id: Type.String() }),
      handler: async (m) => ({ webhook: await webhooks.get(m.webhook_id) }),
    }),
    rpc({
      methods: ['PATCH'],
      path: '/webhooks/:webhook_id',
      request: Type.Object({
        webhook_id: Type.String(),
        name: Type.Optional(Type.String()),
        description: Type.Optional(Type.String()),
        url: Type.Optional(Type.String()),
        events: Type.Optional(Type.Array(EventSchema)),
        secret: Type.Optional(Type.String()),
        status: Type.Optional(StatusSchema),
      }),
      handler: async ({ webhook_id, ...patch }, context) => ({
        webhook: await webhooks.update(actorOf(context), webhook_id, patch),
      }),
    }),
    rpc({
      methods: ['DELETE'],
      path: '/webhooks/:webhook_id',
      request: Type.Object({ webhook_id: Type.String() }),
      handler: async (m, context) => {
        await webhooks.delete(actorOf(context), m.webhook_id);
        return {};
      },
    }),
    rpc({
      methods: ['POST'],
      path: '/webhooks/:webhook_id/test',
      request: Type.Object({ webhook_id: Type.String(), event: Type.Optional(EventSchema) }),
      handler: async (m) => ({ result: await webhooks.test(m.webhook_id, m.event) }),
    }),
    rpc({
      methods: ['GET'],
      path: '/webhooks/:webhook_id/deliveries',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({ webhook_id: Type.String(), ...PageRequest }),
      handler: async (m) => {
        const page = await webhooks.deliveries(m.webhook_id, {
          ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
          ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
        });
        return { deliveries: page.deliveries, next_page_token: page.nextPageToken };
      },
    }),
  ];
}
