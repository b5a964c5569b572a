import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The append-only, hash-chained audit log (see docs/audit.md). `seq` is assigned by the writer
 * as the last seq + 1 under the append lock, never by a sequence: a rolled-back PostgreSQL
 * sequence value would leave a gap that `keel audit verify` must read as a removed event.
 */
export function auditLog(dialect: DialectName): Migration {
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('seq', int64, (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('time', int64, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('entity_id', 'text', (c) => c.notNull())
        .addColumn('before_json', 'text')
        .addColumn('after_json', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      // Searches filter on one of these and page in seq order: each index ends with seq so the
      // page is read in index order without a sort.
      await db.schema
        .createIndex('audit_events_entity')
        .on('audit_events')
        .columns(['entity', 'entity_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_events_actor')
        .on('audit_events')
        .columns(['actor', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_events_action')
        .on('audit_events')
        .columns(['action', 'seq'])
        .execute();
      await db.schema.createIndex('audit_events_time').on('audit_events').columns(['time', 'seq']).execute();
    },
  };
}
