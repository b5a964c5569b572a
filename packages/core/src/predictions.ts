/**
 * What a prediction record kept of the call's payloads: `full` (the deployment records payloads),
 * `sample` (the request fell in the deployment's sample, so its payloads were kept) or `hash`
 * (only the sha256 hashes of the payloads' canonical JSON).
 */
export type PredictionPayloadKept = 'full' | 'sample' | 'hash';

/**
 * One prediction record as `GET /api/2.0/keel/predictions` and the JSON-lines export return it:
 * one answered deployment call, or one shadow call (`arm: 'shadow'`, same `request_id` as the
 * call it copied). Times are epoch milliseconds. Absent fields were not recorded.
 */
export interface PredictionRecord {
  /** Unique per record (a request id is shared by a call and its shadow). */
  record_id: string;
  /** The `x-request-id` of the call. */
  request_id: string;
  deployment: string;
  deployment_revision: number;
  model_name: string;
  model_version: string;
  /** sha256 of the served model artifact, as the runtime knew it. */
  model_digest?: string;
  /** The route (traffic-split arm) that answered, or `shadow`. */
  arm: string;
  /** Who called: the user or API key id, never a secret. */
  caller: string;
  /** `mlflow` (invocations) or `v2` (Open Inference Protocol). */
  protocol: string;
  received_at: number;
  completed_at: number;
  latency_ms: number;
  /** HTTP status answered (for a shadow call: the status it would have answered). */
  status: number;
  error_code?: string;
  error_message?: string;
  recorded: PredictionPayloadKept;
  /** The request body, when kept. */
  input?: unknown;
  /** The response body, when kept. */
  output?: unknown;
  /** sha256 (hex) of the request body's canonical JSON. */
  input_hash?: string;
  /** sha256 (hex) of the response body's canonical JSON; absent when there was no answer body. */
  output_hash?: string;
  /** Ground truth sent later through `POST /api/2.0/keel/predictions/feedback`. */
  label?: unknown;
  label_timestamp?: number;
  /** Who sent the label. */
  label_actor?: string;
}
