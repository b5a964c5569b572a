import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Experiments, runs, params, tags, metric history, latest metrics and dataset inputs, with the
 * indexes the search and history queries rely on (see docs/tracking.md, "Storage").
 */
export function initialTrackingSchema(dialect: DialectName): Migration {
  const pg = dialect === 'postgres';
  // SQLite integers are 64-bit already; PostgreSQL needs BIGINT for epoch-millisecond times.
  const int64 = pg ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('experiments')
        .addColumn('experiment_id', pg ? 'bigserial' : 'integer', (c) =>
          pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('artifact_location', 'text', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
        .addColumn('creation_time', int64, (c) => c.notNull())
        .addColumn('last_update_time', int64, (c) => c.notNull())
        .addUniqueConstraint('experiments_name_key', ['name'])
        .execute();
      await db.schema
        .createTable('experiment_tags')
        .addColumn('experiment_id', int64, (c) =>
          c.notNull().references('experiments.experiment_id').onDelete('cascade'),
        )
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('experiment_tags_pk', ['experiment_id', 'key'])
        .execute();

      await db.schema
        .createTable('runs')
        .addColumn('run_uuid', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('experiment_id', int64, (c) =>
          c.notNull().references('experiments.experiment_id').onDelete('cascade'),
        )
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('start_time', int64, (c) => c.notNull())
        .addColumn('end_time', int64)
        .addColumn('artifact_uri', 'text', (c) => c.notNull())
        .addColumn('lifecycle_stage', 'text', (c) => c.notNull())
        .addColumn('deleted_time', int64)
        .execute();
      // Default listing and every search: runs of some experiments in one lifecycle stage, newest first.
      await db.schema
        .createIndex('runs_experiment_stage_start')
        .on('runs')
        .columns(['experiment_id', 'lifecycle_stage', 'start_time desc', 'run_uuid'])
        .execute();

      for (const table of ['params', 'tags'] as const) {
        await db.schema
          .createTable(table)
          .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['run_uuid', 'key'])
          .execute();
      }

      // Full history, clustered by (run, key, step) in SQLite so history reads and the sampled
      // bulk-interval seeks walk one B-tree; the whole row is the key, which also de-duplicates
      // identical points as MLflow does.
      let metrics = db.schema
        .createTable('metrics')
        .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('step', int64, (c) => c.notNull())
        .addColumn('timestamp', int64, (c) => c.notNull())
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('is_nan', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('metrics_pk', ['run_uuid', 'key', 'step', 'timestamp', 'value', 'is_nan']);
      if (!pg) metrics = metrics.modifyEnd(sql`without rowid`);
      await metrics.execute();

      await db.schema
        .createTable('latest_metrics')
        .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('step', int64, (c) => c.notNull())
        .addColumn('timestamp', int64, (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('is_nan', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('latest_metrics_pk', ['run_uuid', 'key'])
        .execute();
      // Filter and order runs by a metric without touching the runs that lack it.
      await db.schema
        .createIndex('latest_metrics_key_value')
        .on('latest_metrics')
        .columns(['key', 'value', 'run_uuid'])
        .execute();

      await db.schema
        .createTable('datasets')
        .addColumn('dataset_id', pg ? 'bigserial' : 'integer', (c) =>
          pg ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('experiment_id', int64, (c) =>
          c.notNull().references('experiments.experiment_id').onDelete('cascade'),
        )
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('source_type', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('schema', 'text')
        .addColumn('profile', 'text')
        .addUniqueConstraint('datasets_experiment_name_digest', ['experiment_id', 'name', 'digest'])
        .execute();
      await db.schema
        .createTable('run_inputs')
        .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
        .addColumn('dataset_id', int64, (c) =>
          c.notNull().references('datasets.dataset_id').onDelete('cascade'),
        )
        .addPrimaryKeyConstraint('run_inputs_pk', ['run_uuid', 'dataset_id'])
        .execute();
      await db.schema.createIndex('run_inputs_dataset').on('run_inputs').column('dataset_id').execute();
      await db.schema
        .createTable('run_input_tags')
        .addColumn('run_uuid', 'text', (c) => c.notNull())
        .addColumn('dataset_id', int64, (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_input_tags_pk', ['run_uuid', 'dataset_id', 'key'])
        .addForeignKeyConstraint(
          'run_input_tags_input_fk',
          ['run_uuid', 'dataset_id'],
          'run_inputs',
          ['run_uuid', 'dataset_id'],
          (c) => c.onDelete('cascade'),
        )
        .execute();

      const now = Date.now();
      await sql`insert into experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
        values (0, 'Default', 'mlflow-artifacts:/0', 'active', ${now}, ${now})`.execute(db);
    },
  };
}
