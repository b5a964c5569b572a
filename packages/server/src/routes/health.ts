import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { StoreConnection } from '../store/database.js';
import { KEEL_VERSION } from '../version.js';

/** `GET /health` (200 `OK` when the backend store answers, else 503) and `GET /version`. */
export function registerHealthRoutes(app: FastifyInstance, store: StoreConnection): void {
  app.get('/health', async (request, reply) => {
    try {
      await sql`select 1`.execute(store.db);
      return reply.type('text/plain').send('OK');
    } catch (error) {
      request.log.warn({ err: error }, 'backend store unreachable');
      return reply.status(503).type('text/plain').send('backend store unreachable');
    }
  });
  app.get('/version', async (_request, reply) => reply.type('text/plain').send(KEEL_VERSION));
}
