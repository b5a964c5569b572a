import type { Generated } from 'kysely';

/**
 * Row types of the backend store, one interface per table. The same schema serves SQLite and
 * PostgreSQL; times are epoch milliseconds (BIGINT on PostgreSQL), booleans are 0/1 integers.
 */
export interface Database {
  experiments: ExperimentRow;
  experiment_tags: KeyValueRow & { experiment_id: number };
  runs: RunRow;
  params: KeyValueRow & { run_uuid: string };
  tags: KeyValueRow & { run_uuid: string };
  metrics: MetricRow;
  latest_metrics: MetricRow;
  datasets: DatasetRow;
  run_inputs: RunInputRow;
  run_input_tags: KeyValueRow & { run_uuid: string; dataset_id: number };
  run_model_inputs: { run_uuid: string; model_id: string };
  run_model_outputs: { run_uuid: string; model_id: string; step: number };
}

export interface KeyValueRow {
  key: string;
  value: string;
}

export interface ExperimentRow {
  experiment_id: Generated<number>;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
}

export interface RunRow {
  run_uuid: string;
  name: string;
  experiment_id: number;
  user_id: string;
  status: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  lifecycle_stage: string;
  /** When the run was soft-deleted; `keel gc --older-than` compares against it. */
  deleted_time: number | null;
}

/**
 * One metric point. NaN is stored as `value = NULL, is_nan = 1` so that it sorts with missing
 * values (last) in both dialects and never poisons comparisons; ±Infinity is stored as is.
 */
export interface MetricRow {
  run_uuid: string;
  key: string;
  step: number;
  timestamp: number;
  value: number | null;
  is_nan: number;
}

export interface DatasetRow {
  dataset_id: Generated<number>;
  experiment_id: number;
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
}

export interface RunInputRow {
  run_uuid: string;
  dataset_id: number;
}
