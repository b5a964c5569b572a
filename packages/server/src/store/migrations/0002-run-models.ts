import type { Kysely, Migration } from 'kysely';

/**
 * MLflow 3's links between runs and logged models: models a run consumed (`log-inputs` with
 * `models`) and models it produced at a step (`runs/outputs`).
 */
export function runModelLinks(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('run_model_inputs')
        .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_model_inputs_pk', ['run_uuid', 'model_id'])
        .execute();
      await db.schema
        .createTable('run_model_outputs')
        .addColumn('run_uuid', 'text', (c) => c.notNull().references('runs.run_uuid').onDelete('cascade'))
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_model_outputs_pk', ['run_uuid', 'model_id', 'step'])
        .execute();
    },
  };
}
