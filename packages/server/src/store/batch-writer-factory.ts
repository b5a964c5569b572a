import type { AuditLog } from '../audit/audit-log.js';
import type { ChangeSink } from '../changes/change.js';
import type { BatchWriter } from './batch-writer.js';
import type { StoreConnection } from './database.js';
import { PostgresBatchWriter } from './postgres/postgres-batch-writer.js';
import { SqliteBatchWriter } from './sqlite/sqlite-batch-writer.js';

/** Where a batch writer records the tags it sets (see {@link BatchWriter}). */
export interface BatchAuditOptions {
  /** Every sink, used on PostgreSQL inside the batch's Kysely transaction. */
  recorder: ChangeSink;
  /**
   * The audit log alone, appended synchronously on SQLite's raw handle: the hot path's
   * transaction is synchronous, so asynchronous sinks cannot join it.
   */
  audit: AuditLog;
}

/**
 * The log-batch writer for a store's dialect.
 *
 * @example
 * const writer = createBatchWriter(store, { recorder, audit });
 * const { conflicts } = await writer.write({ runId, metrics, params, tags }, actor);
 */
export function createBatchWriter(store: StoreConnection, options: BatchAuditOptions): BatchWriter {
  switch (store.dialect) {
    case 'sqlite':
      return new SqliteBatchWriter(store, options.audit);
    case 'postgres':
      return new PostgresBatchWriter(store, options.recorder);
    default: {
      const unknown: never = store.dialect;
      throw new Error(`No batch writer for dialect '${String(unknown)}'`);
    }
  }
}
