import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * MLflow's webhooks plus Keel's durable delivery outbox and per-attempt delivery log
 * (see docs/webhooks.md, "Delivery").
 */
export function webhookSchema(dialect: DialectName): Migration {
  // SQLite integers are 64-bit already; PostgreSQL needs BIGINT for epoch-millisecond times.
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('webhooks')
        .addColumn('webhook_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('secret', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('creation_timestamp', int64, (c) => c.notNull())
        .addColumn('last_updated_timestamp', int64, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhooks_creation')
        .on('webhooks')
        .columns(['creation_timestamp', 'webhook_id'])
        .execute();

      await db.schema
        .createTable('webhook_outbox')
        .addColumn('delivery_id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) =>
          c.notNull().references('webhooks.webhook_id').onDelete('cascade'),
        )
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('next_attempt_at', int64, (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('claimed_until', int64, (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .execute();
      // The dispatcher's poll: due pending rows, oldest first.
      await db.schema
        .createIndex('webhook_outbox_due')
        .on('webhook_outbox')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('webhook_outbox_webhook')
        .on('webhook_outbox')
        .columns(['webhook_id'])
        .execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('delivery_id', 'text', (c) =>
          c.notNull().references('webhook_outbox.delivery_id').onDelete('cascade'),
        )
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('time', int64, (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('duration_ms', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_deliveries_pk', ['delivery_id', 'attempt'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_webhook_time')
        .on('webhook_deliveries')
        .columns(['webhook_id', 'time', 'delivery_id', 'attempt'])
        .execute();
    },
  };
}
