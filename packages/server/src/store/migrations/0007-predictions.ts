import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Prediction records: one row per answered deployment call, and one per shadow call (see
 * `predictions/prediction-recorder.ts`). `record_id` is the key, not `request_id`: a shadow call
 * shares the request id of the call it copies, and a client may send the same `x-request-id`
 * twice (a retry); both are separate predictions. Feedback labels every record of a request id.
 * Payloads are JSON text (or NULL when only their hashes were kept, see `recorded`).
 */
export function predictionSchema(dialect: DialectName): Migration {
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  // PostgreSQL's `real` is single precision; SQLite's REAL is already a double.
  const double = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('prediction_records')
        .addColumn('record_id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('deployment_revision', int64, (c) => c.notNull())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('model_version', 'text', (c) => c.notNull())
        .addColumn('model_digest', 'text')
        .addColumn('arm', 'text', (c) => c.notNull())
        .addColumn('caller', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('received_at', int64, (c) => c.notNull())
        .addColumn('completed_at', int64, (c) => c.notNull())
        .addColumn('latency_ms', double, (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('recorded', 'text', (c) => c.notNull())
        .addColumn('input', 'text')
        .addColumn('output', 'text')
        .addColumn('input_hash', 'text')
        .addColumn('output_hash', 'text')
        .addColumn('label', 'text')
        .addColumn('label_timestamp', int64)
        .addColumn('label_actor', 'text')
        .execute();
      // Searches list newest first and page by (received_at, record_id); each filter's index ends
      // with that pair so a page is read in index order without a sort.
      await db.schema
        .createIndex('prediction_records_time')
        .on('prediction_records')
        .columns(['received_at', 'record_id'])
        .execute();
      await db.schema
        .createIndex('prediction_records_deployment')
        .on('prediction_records')
        .columns(['deployment', 'received_at', 'record_id'])
        .execute();
      // Model name + version filters, and the lineage's per-version counts.
      await db.schema
        .createIndex('prediction_records_model')
        .on('prediction_records')
        .columns(['model_name', 'model_version', 'received_at', 'record_id'])
        .execute();
      await db.schema
        .createIndex('prediction_records_caller')
        .on('prediction_records')
        .columns(['caller', 'received_at', 'record_id'])
        .execute();
      await db.schema
        .createIndex('prediction_records_status')
        .on('prediction_records')
        .columns(['status', 'received_at', 'record_id'])
        .execute();
      // Feedback finds the records of a request id.
      await db.schema
        .createIndex('prediction_records_request')
        .on('prediction_records')
        .column('request_id')
        .execute();
    },
  };
}
