import type { BatchWriter } from './batch-writer.js';
import type { StoreConnection } from './database.js';
import { PostgresBatchWriter } from './postgres/postgres-batch-writer.js';
import { SqliteBatchWriter } from './sqlite/sqlite-batch-writer.js';

/**
 * The log-batch writer for a store's dialect.
 *
 * @example
 * const writer = createBatchWriter(store);
 * const { conflicts } = await writer.write({ runId, metrics, params, tags });
 */
export function createBatchWriter(store: StoreConnection): BatchWriter {
  switch (store.dialect) {
    case 'sqlite':
      return new SqliteBatchWriter(store);
    case 'postgres':
      return new PostgresBatchWriter(store);
    default: {
      const unknown: never = store.dialect;
      throw new Error(`No batch writer for dialect '${String(unknown)}'`);
    }
  }
}
