import { type KeyValue, LIMITS, toWireDouble, type WireDouble } from '@keel/core';

/** A metric point to log; `timestamp` defaults to now (ms) and `step` to 0. */
export interface MetricInput {
  key: string;
  value: number;
  timestamp?: number;
  step?: number;
}

/** A param value; numbers and booleans are sent as their string form, as MLflow clients do. */
export type ParamValue = string | number | boolean;

/** Params as a record (`{ lr: 0.1 }`) or as MLflow's `{key, value}` list. */
export type ParamsInput = Readonly<Record<string, ParamValue>> | readonly KeyValue[];

/** Tags as a record or as MLflow's `{key, value}` list. */
export type TagsInput = Readonly<Record<string, string>> | readonly KeyValue[];

/** What `KeelClient.logBatch` takes: any number of each, split to MLflow's limits when sent. */
export interface LogBatchInput {
  metrics?: readonly MetricInput[];
  params?: ParamsInput;
  tags?: TagsInput;
}

/** The body of one `runs/log-batch` call, without `run_id`. */
export interface WireBatch {
  metrics: { key: string; value: WireDouble; timestamp: number; step: number }[];
  params: KeyValue[];
  tags: KeyValue[];
}

/**
 * Splits a batch into `runs/log-batch` bodies within MLflow's limits (1000 metrics, 100 params,
 * 100 tags, 1000 entities per call) the way MLflow's Python client does: params and tags are
 * paired chunk by chunk, each call filled up with metrics, then the remaining metrics go 1000 at
 * a time. Order is kept within each kind. Timestamps default to `now`.
 *
 * @example
 * planLogBatches({ metrics: points }).length; // ⌈points.length / 1000⌉
 */
export function planLogBatches(batch: LogBatchInput, now: number = Date.now()): WireBatch[] {
  const metrics = (batch.metrics ?? []).map((m) => ({
    key: m.key,
    value: toWireDouble(m.value),
    timestamp: m.timestamp ?? now,
    step: m.step ?? 0,
  }));
  const params = toKeyValues(batch.params ?? []);
  const tags = toKeyValues(batch.tags ?? []);
  const paramChunks = chunk(params, LIMITS.maxParamsPerBatch);
  const tagChunks = chunk(tags, LIMITS.maxTagsPerBatch);
  const plans: WireBatch[] = [];
  let m = 0;
  for (let i = 0; i < Math.max(paramChunks.length, tagChunks.length); i += 1) {
    const p = paramChunks[i] ?? [];
    const t = tagChunks[i] ?? [];
    const room = Math.max(
      0,
      Math.min(LIMITS.maxEntitiesPerBatch - p.length - t.length, LIMITS.maxMetricsPerBatch),
    );
    plans.push({ metrics: metrics.slice(m, m + room), params: p, tags: t });
    m += room;
  }
  for (const rest of chunk(metrics.slice(m), LIMITS.maxMetricsPerBatch)) {
    plans.push({ metrics: rest, params: [], tags: [] });
  }
  return plans;
}

/**
 * A record or `{key, value}` list as MLflow's list, values stringified.
 * @example toKeyValues({ lr: 0.1, deep: true }); // [{ key: 'lr', value: '0.1' }, { key: 'deep', value: 'true' }]
 */
export function toKeyValues(input: ParamsInput | TagsInput): KeyValue[] {
  if (isKeyValueList(input)) return input.map((kv) => ({ key: kv.key, value: String(kv.value) }));
  return Object.entries(input).map(([key, value]) => ({ key, value: String(value) }));
}

function isKeyValueList(input: ParamsInput | TagsInput): input is readonly KeyValue[] {
  return Array.isArray(input);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
