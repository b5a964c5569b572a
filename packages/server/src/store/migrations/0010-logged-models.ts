import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * MLflow 3 logged models (mlflow-compat.md §1.7): one row per model with its status and artifact
 * location, plus its tags and params. Deleted models are kept (`lifecycle_stage = 'deleted'`), as
 * MLflow soft-deletes them. Searches list one experiment's models newest first.
 */
export function loggedModelSchema(dialect: DialectName): Migration {
  // SQLite integers are 64-bit already; PostgreSQL needs BIGINT for epoch-millisecond times.
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('logged_models')
        .addColumn('model_id', 'text', (c) => c.primaryKey())
        .addColumn('experiment_id', int64, (c) =>
          c.notNull().references('experiments.experiment_id').onDelete('cascade'),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('artifact_location', 'text', (c) => c.notNull())
        .addColumn('creation_timestamp_ms', int64, (c) => c.notNull())
        .addColumn('last_updated_timestamp_ms', int64, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addColumn('model_type', 'text')
        .addColumn('source_run_id', 'text')
        .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('logged_models_experiment_created')
        .on('logged_models')
        .columns(['experiment_id', 'creation_timestamp_ms'])
        .execute();

      for (const table of ['logged_model_tags', 'logged_model_params']) {
        await db.schema
          .createTable(table)
          .addColumn('model_id', 'text', (c) =>
            c.notNull().references('logged_models.model_id').onDelete('cascade'),
          )
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['model_id', 'key'])
          .execute();
      }
    },
  };
}
