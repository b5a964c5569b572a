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
  registered_models: RegisteredModelRow;
  registered_model_tags: KeyValueRow & { name: string };
  registered_model_aliases: { name: string; alias: string; version: number };
  model_versions: ModelVersionRow;
  model_version_tags: KeyValueRow & { name: string; version: number };
  webhooks: WebhookRow;
  webhook_outbox: WebhookOutboxRow;
  webhook_deliveries: WebhookDeliveryRow;
  audit_events: AuditEventRow;
  deployments: DeploymentRow;
  deployment_revisions: DeploymentRevisionRow;
  prediction_records: PredictionRecordRow;
  workflows: WorkflowRow;
  workflow_versions: WorkflowVersionRow;
  workflow_tasks: WorkflowTaskRow;
  workflow_executions: WorkflowExecutionRow;
  workflow_nodes: WorkflowNodeRow;
  workflow_attempts: WorkflowAttemptRow;
  workflow_cache: WorkflowCacheRow;
  workflow_cache_reservations: WorkflowCacheReservationRow;
  logged_models: LoggedModelRow;
  logged_model_tags: KeyValueRow & { model_id: string };
  logged_model_params: KeyValueRow & { model_id: string };
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

/** A registered model; `next_version` is the number its next version gets (never reused). */
export interface RegisteredModelRow {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string | null;
  user_id: string;
  next_version: number;
}

/**
 * A model version. `source` is what the client registered; `storage_location` is the
 * artifact-store path of Keel's immutable copy (NULL when the source is an external URI that
 * is recorded as is).
 */
export interface ModelVersionRow {
  name: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: string;
  description: string | null;
  source: string;
  storage_location: string | null;
  run_id: string | null;
  run_link: string | null;
  status: string;
  status_message: string | null;
}

/** A webhook (MLflow's `Webhook`); `events` is a JSON array of `entity.action` strings. */
export interface WebhookRow {
  webhook_id: string;
  name: string;
  description: string | null;
  url: string;
  events: string;
  /** Write-only HMAC key; never returned by the API. */
  secret: string | null;
  /** `ACTIVE` or `DISABLED`. */
  status: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

/**
 * One pending or finished delivery of one event to one webhook. `payload` is the exact request
 * body (so every retry sends, and signs, the same bytes). A dispatcher owns a row while
 * `claimed_until` is in the future.
 */
export interface WebhookOutboxRow {
  delivery_id: string;
  webhook_id: string;
  /** `entity.action`, e.g. `model_version.created`. */
  event: string;
  payload: string;
  created_at: number;
  next_attempt_at: number;
  attempts: number;
  /** `pending`, `delivered` or `failed`. */
  state: string;
  claimed_until: number;
  claimed_by: string | null;
}

/** One HTTP attempt of a delivery. `status_code` is null when no response came (refused, timeout). */
export interface WebhookDeliveryRow {
  delivery_id: string;
  webhook_id: string;
  attempt: number;
  time: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/**
 * One audit event (see docs/audit.md). `before_json`/`after_json` hold canonical JSON or NULL;
 * `hash` = sha256(`prev_hash` ‖ canonical JSON of the event), chaining each event to the last.
 */
export interface AuditEventRow {
  seq: number;
  event_id: string;
  time: number;
  actor: string;
  request_id: string;
  action: string;
  entity: string;
  entity_id: string;
  before_json: string | null;
  after_json: string | null;
  prev_hash: string;
  hash: string;
}

/**
 * A deployment and its current revision. A deleted deployment keeps its row (`deleted_at` set)
 * and its revisions; creating it again continues its revision numbers.
 */
export interface DeploymentRow {
  name: string;
  revision: number;
  description: string | null;
  creation_timestamp: number;
  created_by: string;
  last_updated_timestamp: number;
  last_updated_by: string;
  deleted_at: number | null;
}

/** One revision of a deployment: the spec (canonical JSON text) and description it had. */
export interface DeploymentRevisionRow {
  name: string;
  revision: number;
  spec: string;
  description: string | null;
  created_at: number;
  created_by: string;
  /** `created`, `updated` or `rolled_back`. */
  action: string;
  /** For `rolled_back`: the revision whose spec was restored. */
  source_revision: number | null;
}

/**
 * One prediction: an answered deployment call, or a shadow call (`arm = 'shadow'`, same
 * `request_id`). Times are epoch milliseconds; `latency_ms` keeps sub-millisecond precision.
 * `input`/`output` are canonical JSON text, or NULL when `recorded` says only the sha256 hashes
 * (of that same canonical JSON) were kept. `label` is the JSON text of the caller's feedback.
 */
export interface PredictionRecordRow {
  record_id: string;
  request_id: string;
  deployment: string;
  deployment_revision: number;
  model_name: string;
  model_version: string;
  model_digest: string | null;
  /** Route name, or `shadow`. */
  arm: string;
  caller: string;
  /** `mlflow` or `v2`. */
  protocol: string;
  received_at: number;
  completed_at: number;
  latency_ms: number;
  /** HTTP status answered (for a shadow call: what it would have answered). */
  status: number;
  error_code: string | null;
  error_message: string | null;
  /** `full`, `sample` (payloads kept: the request was in the sample) or `hash` (hashes only). */
  recorded: string;
  input: string | null;
  output: string | null;
  input_hash: string | null;
  output_hash: string | null;
  label: string | null;
  label_timestamp: number | null;
  label_actor: string | null;
}

/** A workflow: its name and which registered version launches by default. */
export interface WorkflowRow {
  name: string;
  default_version: string;
  created_at: number;
  updated_at: number;
}

/** One immutable workflow version: `spec` is the JSON of its `WorkflowRegistration`. */
export interface WorkflowVersionRow {
  name: string;
  version: string;
  spec: string;
  /** sha256 of `canonicalWorkflowJson(spec)`: registering the same version again must match it. */
  content_hash: string;
  created_at: number;
  created_by: string;
  description: string | null;
}

/** One task version of a workflow version; `spec` is the JSON of its `TaskSpec`. */
export interface WorkflowTaskRow {
  name: string;
  version: string;
  task_name: string;
  spec: string;
}

/**
 * One execution of a workflow version. `inputs`/`outputs`/`error` are JSON text. A scheduler
 * process (`owner`) drives it while `lease_until` is in the future.
 */
export interface WorkflowExecutionRow {
  execution_id: string;
  workflow: string;
  version: string;
  /** An `ExecutionState`. */
  state: string;
  inputs: string;
  outputs: string | null;
  error: string | null;
  /** A `CacheMode`. */
  cache_mode: string;
  /** An `ExecutionMode`. */
  mode: string;
  parent_execution_id: string | null;
  created_by: string;
  run_id: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  updated_at: number;
  owner: string | null;
  lease_until: number | null;
}

/**
 * One node of an execution, static or expanded at run time (`parent_node` set). Its state only
 * changes by compare-and-set on (`state`, `attempt`). A queued node is due from `not_before`;
 * a running node belongs to `owner` while `lease_until` is in the future.
 */
export interface WorkflowNodeRow {
  execution_id: string;
  node_id: string;
  /** Insertion order within the execution. */
  seq: number;
  /** A `NodeKind`. */
  kind: string;
  task: string | null;
  parent_node: string | null;
  /** A `NodeState`. */
  state: string;
  attempt: number;
  /** `hit`, `miss`, `disabled` or null. */
  cache: string | null;
  cache_key: string | null;
  inputs: string | null;
  outputs: string | null;
  error: string | null;
  not_before: number;
  queued_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  run_id: string | null;
  owner: string | null;
  lease_until: number | null;
}

/** One attempt of a node: when it ran, how it ended, where its log is. */
export interface WorkflowAttemptRow {
  execution_id: string;
  node_id: string;
  attempt: number;
  /** `running`, `succeeded`, `failed` or `cancelled`. */
  state: string;
  started_at: number;
  ended_at: number | null;
  error: string | null;
  /** Artifact-store path of the attempt's stdout/stderr log. */
  log_path: string | null;
  worker: string | null;
}

/** A cached task result, shared by every execution: `outputs` is JSON text. */
export interface WorkflowCacheRow {
  cache_key: string;
  task: string;
  outputs: string;
  /** Where the result was produced. */
  execution_id: string;
  node_id: string;
  created_at: number;
  hits: number;
}

/** Who is computing a cache key right now (concurrent identical calls run once). */
export interface WorkflowCacheReservationRow {
  cache_key: string;
  owner: string;
  lease_until: number;
}

/** An MLflow 3 logged model; `status` is the wire name (`LOGGED_MODEL_READY`…). */
export interface LoggedModelRow {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  status: string;
  status_message: string | null;
  model_type: string | null;
  source_run_id: string | null;
  /** `active`, or `deleted` once soft-deleted. */
  lifecycle_stage: string;
}
