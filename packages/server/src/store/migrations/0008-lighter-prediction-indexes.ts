import type { Kysely, Migration } from 'kysely';

/**
 * Drops the caller and status indexes of `prediction_records`. Every answered deployment call
 * inserts a row, and each secondary index costs that insert a B-tree update (a fifth of the
 * insert's cost each on SQLite); these two served filters that are rarely used alone. A search by
 * caller or status now reads the time or deployment index and filters (docs/deployments.md says
 * which filters are indexed).
 */
export function lighterPredictionIndexes(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('prediction_records_caller').ifExists().execute();
      await db.schema.dropIndex('prediction_records_status').ifExists().execute();
    },
  };
}
