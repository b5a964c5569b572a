import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Deployments (docs/deployments.md): one `deployments` row per name with its current revision,
 * and every revision ever made in `deployment_revisions` (spec as JSON text). Deleting a
 * deployment only sets `deleted_at`: its revisions stay, so the spec behind a prediction record
 * (`deployment`, `deployment_revision`) can still be looked up, and a deployment created again
 * under the same name continues the numbering instead of reusing revision numbers.
 */
export function deploymentSchema(dialect: DialectName): Migration {
  // SQLite integers are 64-bit already; PostgreSQL needs BIGINT for epoch-millisecond times.
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('deployments')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('revision', int64, (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('creation_timestamp', int64, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('last_updated_timestamp', int64, (c) => c.notNull())
        .addColumn('last_updated_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', int64)
        .execute();

      await db.schema
        .createTable('deployment_revisions')
        .addColumn('name', 'text', (c) => c.notNull().references('deployments.name'))
        .addColumn('revision', int64, (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('created_at', int64, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('source_revision', int64)
        // The last line of defence against two writers taking the same number.
        .addPrimaryKeyConstraint('deployment_revisions_pk', ['name', 'revision'])
        .execute();
    },
  };
}
