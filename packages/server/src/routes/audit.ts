import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../audit/audit-log.js';
import { type AnyRpc, KEEL_PREFIXES, rpc } from '../http/rpc.js';

/**
 * `GET /api/2.0/keel/audit/events`: audit events oldest first, filtered by entity, entity id,
 * actor, action and time (`from`/`to`, epoch ms, inclusive), `max_results` (default 100, at most
 * 1000) per page with `next_page_token` (see docs/audit.md).
 */
export function auditRpcs(audit: AuditLog): AnyRpc[] {
  return [
    rpc({
      methods: ['GET'],
      path: '/audit/events',
      prefixes: KEEL_PREFIXES,
      request: Type.Object({
        entity: Type.Optional(Type.String()),
        entity_id: Type.Optional(Type.String()),
        actor: Type.Optional(Type.String()),
        action: Type.Optional(Type.String()),
        from: Type.Optional(Type.Integer()),
        to: Type.Optional(Type.Integer()),
        max_results: Type.Optional(Type.Integer()),
        page_token: Type.Optional(Type.String()),
      }),
      handler: async (m) => {
        const page = await audit.search({
          ...(m.entity !== undefined ? { entity: m.entity } : {}),
          ...(m.entity_id !== undefined ? { entityId: m.entity_id } : {}),
          ...(m.actor !== undefined ? { actor: m.actor } : {}),
          ...(m.action !== undefined ? { action: m.action } : {}),
          ...(m.from !== undefined ? { from: m.from } : {}),
          ...(m.to !== undefined ? { to: m.to } : {}),
          ...(m.max_results !== undefined ? { maxResults: m.max_results } : {}),
          ...(m.page_token !== undefined ? { pageToken: m.page_token } : {}),
        });
        return { events: page.events, next_page_token: page.nextPageToken };
      },
    }),
  ];
}
