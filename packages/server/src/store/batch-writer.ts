import type { Actor } from '../changes/change.js';
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
 *
 * Each tag is audited as one `run_tag.set` event (before/after `{key, value}`) in the same
 * transaction, by `actor`; metrics and params are not audited individually.
 */
export interface BatchWriter {
  /** Returns the conflicting params instead of writing anything when a param changes value. */
  write(batch: RunBatch, actor: Actor): Promise<{ conflicts: ParamConflict[] }>;
}

/** The `run_tag.set` change of one tag written by a batch; `before` is absent for a new tag. */
export function runTagSetChange(runId: string, tag: KeyValueRow, before: string | undefined) {
  return {
    action: 'run_tag.set',
    entity: 'run',
    entityId: runId,
    ...(before === undefined ? {} : { before: { key: tag.key, value: before } }),
    after: { key: tag.key, value: tag.value },
  } as const;
}
