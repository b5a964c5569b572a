import * as crypto from 'node:crypto';
import { randomBytes, randomInt } from 'node:crypto';
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
 * Longest payload (in UTF-16 code units of its JSON text) a record keeps; a longer one is
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
  modelDigest?: string | undefined;
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
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  /**
   * The request body as JSON text: a JSON body exactly as the caller sent it (so its hash is the
   * hash of the bytes received), any other body (CSV, unreadable JSON) as a JSON string.
   */
  inputJson: string;
  /** The JSON response body exactly as sent; absent for an error answer. */
  outputJson?: string | undefined;
  /** The deployment's recording mode. */
  recording: PredictionRecording;
}

/**
 * Turns a call into the row the store keeps: applies the recording mode (payloads kept as the
 * JSON text that went over the wire, or only their sha256 hashes), rounds times to milliseconds
 * and keeps the latency's fractions. The hashes are stored only for payloads that are not: a
 * kept payload's hash is computed from it when it is read (see `withPayloadHashes`), which keeps
 * two SHA-256 computations per call off the serving path. Total: odd field values are coerced rather than rejected, because the
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
  const values = toPredictionValues(input, recordId, maxPayloadChars);
  const row: Record<string, unknown> = {};
  PREDICTION_COLUMNS.forEach((column, k) => {
    row[column] = values[k + 1];
  });
  return row as unknown as PredictionRecordRow;
}

/**
 * What {@link toPredictionRow} makes, as the line the recorder buffers, journals, spills and hands
 * to the store: a JSON array of {@link PREDICTION_LINE_FORMAT} and the row's values in
 * {@link PREDICTION_COLUMNS} order. An array rather than an object: no column names written, parsed
 * or looked up per record; and no row object in between: one call's record costs one array and one
 * string.
 *
 * @example
 * toPredictionLine(input, recordId); // '[1,"0190…","req-1","fraud",3,…]'
 */
export function toPredictionLine(
  input: PredictionRecordInput,
  recordId: string,
  maxPayloadChars: number = DEFAULT_MAX_PAYLOAD_CHARS,
): string {
  return JSON.stringify(toPredictionValues(input, recordId, maxPayloadChars));
}

/** {@link PREDICTION_LINE_FORMAT}, then the row's values in {@link PREDICTION_COLUMNS} order. */
function toPredictionValues(
  input: PredictionRecordInput,
  recordId: string,
  maxPayloadChars: number,
): unknown[] {
  const requestId = text(input.requestId);
  const inputJson = typeof input.inputJson === 'string' ? input.inputJson : undefined;
  const outputJson = typeof input.outputJson === 'string' ? input.outputJson : undefined;
  let recorded = keptFor(input.recording, requestId);
  if (
    recorded !== 'hash' &&
    ((inputJson?.length ?? 0) > maxPayloadChars || (outputJson?.length ?? 0) > maxPayloadChars)
  ) {
    recorded = 'hash';
  }
  const receivedAt = finite(input.receivedAt);
  const completedAt = finite(input.completedAt);
  // The order of PREDICTION_COLUMNS (a test pins it).
  return [
    PREDICTION_LINE_FORMAT,
    recordId,
    requestId,
    text(input.deployment),
    Math.trunc(finite(input.deploymentRevision)),
    text(input.modelName),
    text(input.modelVersion),
    optionalText(input.modelDigest),
    text(input.arm),
    text(input.caller),
    text(input.protocol),
    Math.round(receivedAt),
    Math.round(completedAt),
    Math.max(0, completedAt - receivedAt),
    Math.trunc(finite(input.status)),
    optionalText(input.errorCode),
    optionalText(input.errorMessage),
    recorded,
    // Stored only in place of the payloads: a kept payload's hash is computed when it is read.
    recorded !== 'hash' || inputJson === undefined ? null : sha256(inputJson),
    recorded !== 'hash' || outputJson === undefined ? null : sha256(outputJson),
    recorded === 'hash' ? null : (inputJson ?? null),
    recorded === 'hash' ? null : (outputJson ?? null),
    null, // label
    null, // label_timestamp
    null, // label_actor
  ];
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

/**
 * Every column, in insert order (the SQLite statements bind them positionally) and in the CSV export's
 * order (payloads last, as they are the widest).
 */
export const PREDICTION_COLUMNS = [
  'record_id',
  'request_id',
  'deployment',
  'deployment_revision',
  'model_name',
  'model_version',
  'model_digest',
  'arm',
  'caller',
  'protocol',
  'received_at',
  'completed_at',
  'latency_ms',
  'status',
  'error_code',
  'error_message',
  'recorded',
  'input_hash',
  'output_hash',
  'input',
  'output',
  'label',
  'label_timestamp',
  'label_actor',
] as const satisfies readonly (keyof PredictionRecordRow)[];

/**
 * A UUID version 7 (RFC 9562): 48 bits of epoch milliseconds, a 12-bit counter within the
 * millisecond (starting at a random value), and 62 bits drawn once per process. Ids of one process
 * are strictly increasing (an earlier `now` than the last id's gets that id's millisecond), and
 * ids of one moment sit together in an index, so inserts append to its right edge instead of touching
 * random pages (record ids, and the request ids the deployment routes generate, are both
 * indexed: random UUIDs halve SQLite's insert rate).
 *
 * @example
 * timeOrderedId(0x0190_1234_5678); // '01901234-5678-7…'
 */
export function timeOrderedId(now: number = Date.now()): string {
  const ids = idClock;
  if (now > ids.ms || ids.counter === 0xfff) {
    // A new millisecond (or 4 096 ids in this one: borrow the next, as RFC 9562 §6.2 allows).
    ids.ms = Math.max(now, ids.ms + (ids.counter === 0xfff ? 1 : 0));
    const time = ids.ms.toString(16).padStart(12, '0');
    ids.prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    ids.counter = randomInt(0x800);
  } else {
    ids.counter += 1;
  }
  return `${ids.prefix}${HEX3[ids.counter]}-${ids.tail}`;
}

/**
 * The state of {@link timeOrderedId}: the millisecond of the last id, its text, and `rand_a` used
 * as a counter within it (RFC 9562 §6.2, method 1: monotonic within a process, starting at a
 * random value); `rand_b` (62 bits) is drawn once per process.
 */
const idClock = {
  ms: -1,
  prefix: '',
  counter: 0,
  tail: (() => {
    const bytes = randomBytes(8);
    bytes[0] = ((bytes[0] as number) & 0x3f) | 0x80; // the RFC variant, 10xx
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 4)}-${hex.slice(4)}`;
  })(),
};

const HEX3 = Array.from({ length: 0x1000 }, (_, i) => i.toString(16).padStart(3, '0'));

/**
 * The value of each column a record line may lack (lines written by older versions), for the
 * columns that cannot be NULL. Shared by {@link predictionRowFromLine} and the SQLite insert worker.
 */
export const PREDICTION_ROW_DEFAULTS: Readonly<Partial<Record<keyof PredictionRecordRow, string | number>>> =
  Object.freeze({
    deployment: '',
    deployment_revision: 0,
    model_name: '',
    model_version: '',
    arm: '',
    caller: '',
    protocol: '',
    received_at: 0,
    completed_at: 0,
    latency_ms: 0,
    status: 0,
    recorded: 'hash',
  });

/**
 * The first element of a record line in array form: the layout of the rest ({@link PREDICTION_COLUMNS}
 * in order). A line of another layout is refused rather than misread.
 */
export const PREDICTION_LINE_FORMAT = 1;

/**
 * Reads one record line back into a full row: the array form {@link toPredictionLine} writes, or the
 * object form (a JSON-serialised row) that earlier versions wrote to spill files and journals,
 * whose absent columns take {@link PREDICTION_ROW_DEFAULTS}, or NULL.
 *
 * @throws SyntaxError for a line that is not JSON; Error for an unknown layout or a line without
 *   record and request ids.
 */
export function predictionRowFromLine(line: string): PredictionRecordRow {
  const parsed = JSON.parse(line) as unknown;
  const row: Record<string, unknown> = {};
  if (Array.isArray(parsed)) {
    if (parsed[0] !== PREDICTION_LINE_FORMAT)
      throw new Error('not a prediction record line of a known layout');
    PREDICTION_COLUMNS.forEach((column, k) => {
      row[column] = parsed[k + 1] ?? PREDICTION_ROW_DEFAULTS[column] ?? null;
    });
  } else {
    const object = (parsed ?? {}) as Partial<Record<keyof PredictionRecordRow, unknown>>;
    for (const column of PREDICTION_COLUMNS) {
      row[column] = object[column] ?? PREDICTION_ROW_DEFAULTS[column] ?? null;
    }
  }
  if (typeof row.record_id !== 'string' || typeof row.request_id !== 'string') {
    throw new Error('not a prediction record');
  }
  return row as unknown as PredictionRecordRow;
}
