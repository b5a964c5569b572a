import type { KeyValueRow } from './schema.js';

/** One metric point as the store receives it (NaN and ±Infinity allowed). */
export interface MetricPoint {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** A validated log-batch for one run. */
export interface RunBatch {
  runId: string;
  metrics: readonly MetricPoint[];
  params: readonly KeyValueRow[];
  tags: readonly KeyValueRow[];
}

/** A param that was already logged with another value; the batch is rejected as a whole. */
export interface ParamConflict {
  key: string;
  oldValue: string;
  newValue: string;
}

/**
 * Writes a whole log-batch in one transaction: params (write-once), tags (upsert), metric
 * history (identical points de-duplicated) and latest metrics. Implemented per dialect because
 * this is the ingest hot path (`store/sqlite/`, `store/postgres/`).
 */
export interface BatchWriter {
  /** Returns the conflicting params instead of writing anything when a param changes value. */
  write(batch: RunBatch): Promise<{ conflicts: ParamConflict[] }>;
}
