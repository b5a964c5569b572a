import * as crypto from 'node:crypto';
import type { PredictionPayloadKept } from '@keel/core';
import type { PredictionRecordRow } from '../store/schema.js';

/** How much of a deployment's payloads its prediction records keep (a deployment spec's `recording`). */
export interface PredictionRecording {
  /** `full`: payloads always; `sample`: payloads for a deterministic sample of requests; `hash`: hashes only. */
  mode: 'full' | 'sample' | 'hash';
  /** Share of requests whose payloads a `sample` deployment keeps, 0 to 1. @default DEFAULT_PREDICTION_SAMPLE_RATE */
  sampleRate?: number;
}

/** The sample rate of a `sample` recording that names none. */
export const DEFAULT_PREDICTION_SAMPLE_RATE = 0.1;

/**
 * Longest payload (in UTF-16 code units of its canonical JSON) a record keeps; a longer one is
 * recorded by its hash only (`recorded: 'hash'`), so one huge request cannot swell the buffer or
 * the store. @default 8 MiB
 */
export const DEFAULT_MAX_PAYLOAD_CHARS = 8 * 1024 * 1024;

/** One answered deployment call (or one shadow call), as the serving routes hand it to the recorder. */
export interface PredictionRecordInput {
  /** The `x-request-id` of the call; a shadow call has the same one as the call it copies. */
  requestId: string;
  deployment: string;
  deploymentRevision: number;
  modelName: string;
  modelVersion: string;
  /** sha256 of the served model artifact, as the runtime knows it. */
  modelDigest?: string;
  /** Route name, or `shadow`. */
  arm: string;
  /** `actor.user` (never a secret). */
  caller: string;
  protocol: 'mlflow' | 'v2';
  /** Epoch milliseconds (fractions kept in `latency_ms`). */
  receivedAt: number;
  completedAt: number;
  /** HTTP status answered (for a shadow call: 200 or the error status). */
  status: number;
  errorCode?: string;
  errorMessage?: string;
  /** The JSON request body. */
  input: unknown;
  /** The JSON response body; absent for an error answer. */
  output?: unknown;
  /** The deployment's recording mode. */
  recording: PredictionRecording;
}

/**
 * Turns a call into the row the store keeps: applies the recording mode (payloads kept as
 * canonical JSON, or only their sha256 hashes), rounds times to milliseconds and keeps the
 * latency's fractions. Total: odd field values are coerced rather than rejected, because the
 * recorder must never fail a request; NUL characters (which PostgreSQL text refuses) are dropped.
 *
 * @example
 * const row = toPredictionRow(input, randomUUID());
 * row.recorded; // 'full'
 */
export function toPredictionRow(
  input: PredictionRecordInput,
  recordId: string,
  maxPayloadChars: number = DEFAULT_MAX_PAYLOAD_CHARS,
): PredictionRecordRow {
  const requestId = text(input.requestId);
  const inputJson = payloadJson(input.input);
  const outputJson = input.output === undefined ? undefined : payloadJson(input.output);
  let recorded = keptFor(input.recording, requestId);
  if (
    recorded !== 'hash' &&
    ((inputJson?.length ?? 0) > maxPayloadChars || (outputJson?.length ?? 0) > maxPayloadChars)
  ) {
    recorded = 'hash';
  }
  const receivedAt = finite(input.receivedAt);
  const completedAt = finite(input.completedAt);
  return {
    record_id: recordId,
    request_id: requestId,
    deployment: text(input.deployment),
    deployment_revision: Math.trunc(finite(input.deploymentRevision)),
    model_name: text(input.modelName),
    model_version: text(input.modelVersion),
    model_digest: optionalText(input.modelDigest),
    arm: text(input.arm),
    caller: text(input.caller),
    protocol: text(input.protocol),
    received_at: Math.round(receivedAt),
    completed_at: Math.round(completedAt),
    latency_ms: Math.max(0, completedAt - receivedAt),
    status: Math.trunc(finite(input.status)),
    error_code: optionalText(input.errorCode),
    error_message: optionalText(input.errorMessage),
    recorded,
    input: recorded === 'hash' ? null : (inputJson ?? null),
    output: recorded === 'hash' ? null : (outputJson ?? null),
    input_hash: inputJson === undefined ? null : sha256(inputJson),
    output_hash: outputJson === undefined ? null : sha256(outputJson),
    label: null,
    label_timestamp: null,
    label_actor: null,
  };
}

/**
 * Whether a `sample` recording keeps this request's payloads: the first 32 bits of
 * sha256(request id), read as a fraction of 2^32, fall below the rate. Deterministic, so a call
 * and its shadow (same request id) are kept or hashed together, on every server process.
 *
 * @example
 * inSample('req-1', 1); // true
 * inSample('req-1', 0); // false
 */
export function inSample(requestId: string, rate: number): boolean {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  return Number.parseInt(sha256(requestId).slice(0, 8), 16) / 2 ** 32 < rate;
}

function keptFor(recording: PredictionRecording | undefined, requestId: string): PredictionPayloadKept {
  switch (recording?.mode) {
    case 'hash':
      return 'hash';
    case 'sample':
      return inSample(requestId, recording.sampleRate ?? DEFAULT_PREDICTION_SAMPLE_RATE) ? 'sample' : 'hash';
    default:
      // `full`, and anything unknown: keeping too much beats losing the audit trail.
      return 'full';
  }
}

/**
 * JSON with object keys sorted at every level and no whitespace: the same bytes as the audit
 * log's `canonicalJson` (a test pins that), written faster for tensors — an array holding no
 * objects or arrays is handed to `JSON.stringify` whole.
 *
 * @example
 * canonicalPayloadJson({ b: [1, 2], a: null }); // '{"a":null,"b":[1,2]}'
 */
export function canonicalPayloadJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let flat = true;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object') {
        flat = false;
        break;
      }
    }
    if (flat) return JSON.stringify(value);
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalPayloadJson(value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const field = record[key];
    if (field === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${canonicalPayloadJson(field)}`;
  }
  return `${out}}`;
}

const oneShotHash: typeof crypto.hash | undefined =
  typeof crypto.hash === 'function' ? crypto.hash : undefined;

/** Lowercase hex sha256 of a string's UTF-8 bytes. */
export function sha256(value: string): string {
  // The one-shot `crypto.hash` (Node 20.12+) costs half of a Hash object per call.
  return oneShotHash !== undefined
    ? oneShotHash('sha256', value, 'hex')
    : crypto.createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The canonical JSON of a payload; `undefined` when absent or not serialisable (a BigInt, a cycle). */
function payloadJson(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return canonicalPayloadJson(value);
  } catch {
    return undefined;
  }
}

function text(value: unknown): string {
  const s = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  return s.includes('\u0000') ? s.replaceAll('\u0000', '') : s;
}

function optionalText(value: unknown): string | null {
  return value === undefined || value === null ? null : text(value);
}

function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
