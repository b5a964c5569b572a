import type { MetricPoint, ParamConflict, RunBatch } from './batch-writer.js';
import type { KeyValueRow } from './schema.js';

/**
 * A log-batch reduced to what each table receives, shared by the dialect writers so both apply
 * the same rules: params de-duplicated (a key given twice with two values is a conflict), tags
 * with the last value of each key, and one winning point per metric key for `latest_metrics`.
 * Keys are sorted so concurrent PostgreSQL writers lock rows in the same order and cannot deadlock.
 */
export interface BatchPlan {
  /** Conflicts inside the batch itself; when non-empty nothing may be written. */
  conflicts: ParamConflict[];
  params: KeyValueRow[];
  tags: KeyValueRow[];
  /** Every point, in batch order (the history table de-duplicates identical points itself). */
  metrics: readonly MetricPoint[];
  /** The greatest point of each key by {@link isLaterPoint}. */
  latest: MetricPoint[];
}

/** Splits a batch per table; see {@link BatchPlan}. */
export function planBatch(batch: RunBatch): BatchPlan {
  const params = new Map<string, string>();
  const conflicts: ParamConflict[] = [];
  for (const { key, value } of batch.params) {
    const seen = params.get(key);
    if (seen === undefined) params.set(key, value);
    else if (seen !== value) conflicts.push({ key, oldValue: seen, newValue: value });
  }
  const tags = new Map<string, string>();
  for (const { key, value } of batch.tags) tags.set(key, value);
  const latest = new Map<string, MetricPoint>();
  for (const point of batch.metrics) {
    const best = latest.get(point.key);
    if (best === undefined || isLaterPoint(point, best)) latest.set(point.key, point);
  }
  return {
    conflicts,
    params: sortedRows(params),
    tags: sortedRows(tags),
    metrics: batch.metrics,
    latest: [...latest.values()].sort((a, b) => compareKeys(a.key, b.key)),
  };
}

/**
 * Whether `a` replaces `b` as a key's latest value: greater step, then greater timestamp, then
 * greater value, with NaN below every number (−Infinity included) so a real value wins a tie.
 * {@link LATER_THAN_STORED_SQL} is the same rule against the stored row.
 */
export function isLaterPoint(a: MetricPoint, b: MetricPoint): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (Number.isNaN(a.value)) return false;
  return Number.isNaN(b.value) || a.value > b.value;
}

/**
 * {@link isLaterPoint} as the `WHERE` of `insert into latest_metrics … on conflict (run_uuid, key)
 * do update`, valid in SQLite and PostgreSQL. Stored NaN is `value = NULL`, so a NULL on either
 * side is the lowest value.
 */
export const LATER_THAN_STORED_SQL = `excluded.step > latest_metrics.step
  or (excluded.step = latest_metrics.step and (excluded.timestamp > latest_metrics.timestamp
    or (excluded.timestamp = latest_metrics.timestamp and excluded.value is not null
      and (latest_metrics.value is null or excluded.value > latest_metrics.value))))`;

/** The `(value, is_nan)` columns of a history row: SQLite cannot store NaN and the column is NOT NULL. */
export function historyValue(value: number): [value: number, isNan: 0 | 1] {
  return Number.isNaN(value) ? [0, 1] : [value, 0];
}

/** The `(value, is_nan)` columns of a `latest_metrics` row: NaN is NULL so it sorts after every number. */
export function latestValue(value: number): [value: number | null, isNan: 0 | 1] {
  return Number.isNaN(value) ? [null, 1] : [value, 0];
}

function sortedRows(entries: Map<string, string>): KeyValueRow[] {
  return [...entries].map(([key, value]) => ({ key, value })).sort((a, b) => compareKeys(a.key, b.key));
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
