import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The model registry (MLflow's `model_registry.proto`): registered models with tags and aliases,
 * model versions with tags. `registered_models.next_version` numbers versions so that a number is
 * never reused, even after deletes. Child rows follow a rename (`on update cascade`) and go with
 * a delete.
 */
export function registrySchema(dialect: DialectName): Migration {
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('registered_models')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('creation_timestamp', int64, (c) => c.notNull())
        .addColumn('last_updated_timestamp', int64, (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('next_version', int64, (c) => c.notNull())
        .execute();
      // order_by creation/last-updated time with the name as tie-break.
      await db.schema
        .createIndex('registered_models_created')
        .on('registered_models')
        .columns(['creation_timestamp', 'name'])
        .execute();
      await db.schema
        .createIndex('registered_models_updated')
        .on('registered_models')
        .columns(['last_updated_timestamp', 'name'])
        .execute();
      await db.schema
        .createTable('registered_model_tags')
        .addColumn('name', 'text', (c) =>
          c.notNull().references('registered_models.name').onDelete('cascade').onUpdate('cascade'),
        )
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('registered_model_tags_pk', ['name', 'key'])
        .execute();
      // tags.<key> = … filters start from the key.
      await db.schema
        .createIndex('registered_model_tags_key')
        .on('registered_model_tags')
        .columns(['key', 'value'])
        .execute();

      await db.schema
        .createTable('model_versions')
        .addColumn('name', 'text', (c) =>
          c.notNull().references('registered_models.name').onDelete('cascade').onUpdate('cascade'),
        )
        .addColumn('version', int64, (c) => c.notNull())
        .addColumn('creation_timestamp', int64, (c) => c.notNull())
        .addColumn('last_updated_timestamp', int64, (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('current_stage', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('storage_location', 'text')
        .addColumn('run_id', 'text')
        .addColumn('run_link', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_message', 'text')
        .addPrimaryKeyConstraint('model_versions_pk', ['name', 'version'])
        .execute();
      // get-latest-versions and latest_versions: the newest version of each stage.
      await db.schema
        .createIndex('model_versions_stage')
        .on('model_versions')
        .columns(['name', 'current_stage', 'version'])
        .execute();
      // run_id = / IN filters and the lineage's "versions made from this run".
      await db.schema.createIndex('model_versions_run').on('model_versions').column('run_id').execute();
      await db.schema
        .createTable('model_version_tags')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', int64, (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('model_version_tags_pk', ['name', 'version', 'key'])
        .addForeignKeyConstraint(
          'model_version_tags_version_fk',
          ['name', 'version'],
          'model_versions',
          ['name', 'version'],
          (c) => c.onDelete('cascade').onUpdate('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('model_version_tags_key')
        .on('model_version_tags')
        .columns(['key', 'value'])
        .execute();

      await db.schema
        .createTable('registered_model_aliases')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version', int64, (c) => c.notNull())
        .addPrimaryKeyConstraint('registered_model_aliases_pk', ['name', 'alias'])
        // Deleting a version drops its aliases.
        .addForeignKeyConstraint(
          'registered_model_aliases_version_fk',
          ['name', 'version'],
          'model_versions',
          ['name', 'version'],
          (c) => c.onDelete('cascade').onUpdate('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('registered_model_aliases_version')
        .on('registered_model_aliases')
        .columns(['name', 'version'])
        .execute();
    },
  };
}
