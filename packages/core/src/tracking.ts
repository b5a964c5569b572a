/**
 * Tracking entities as they travel on MLflow's wire (snake_case, int64 as JSON numbers,
 * `version`-like ids as strings). Shared by the server, the SDK and the web UI.
 */

/** Run status names, in MLflow's enum order (RUNNING=1 … KILLED=5). */
export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Which lifecycle stages a search returns. @default 'ACTIVE_ONLY' */
export const VIEW_TYPES = ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export type LifecycleStage = 'active' | 'deleted';

/** A metric value on the wire: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` as protobuf JSON writes them. */
export type WireDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  last_update_time: number;
  creation_time: number;
  tags?: KeyValue[];
}

export interface RunInfo {
  run_id: string;
  /** Deprecated alias of run_id, still sent because old clients read it. */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface Metric {
  key: string;
  value: WireDouble;
  timestamp: number;
  step: number;
}

export interface MetricWithRunId extends Metric {
  run_id: string;
}

export interface RunData {
  metrics?: Metric[];
  params?: KeyValue[];
  tags?: KeyValue[];
}

export interface Dataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface DatasetInput {
  tags?: KeyValue[];
  dataset: Dataset;
}

export interface RunInputs {
  dataset_inputs?: DatasetInput[];
  /** Logged models (MLflow 3) the run consumed. */
  model_inputs?: { model_id: string }[];
}

/** Logged models (MLflow 3) the run produced, at a step. */
export interface RunOutputs {
  model_outputs?: { model_id: string; step: number }[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: RunInputs;
  outputs: RunOutputs;
}

/**
 * One entry of an artifact listing (`artifacts/list`, the artifact proxy's list): `path` is
 * relative to the run's artifact root for `artifacts/list` (basename only on the proxy's own
 * list), `file_size` is absent for folders.
 */
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface DatasetSummary {
  experiment_id: string;
  name: string;
  digest: string;
  context?: string;
}

/** Converts a stored double to its wire form (NaN and infinities become protobuf JSON strings). */
export function toWireDouble(value: number): WireDouble {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

/** The tag MLflow clients use for the run's user. */
export const TAG_USER = 'mlflow.user';
/** The tag MLflow clients use for the run's name (kept in sync with run_name). */
export const TAG_RUN_NAME = 'mlflow.runName';
/** The tag that holds the serialized MLmodel of every `log-model` call. */
export const TAG_LOG_MODEL_HISTORY = 'mlflow.log-model.history';
/** The run-input tag naming the role of a dataset ("training", "evaluation"…). */
export const TAG_DATASET_CONTEXT = 'mlflow.data.context';
/** The tag that links a nested run to its parent. */
export const TAG_PARENT_RUN_ID = 'mlflow.parentRunId';
