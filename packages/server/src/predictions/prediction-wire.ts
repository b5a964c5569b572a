import type { PredictionPayloadKept, PredictionRecord } from '@keel/core';
import type { PredictionRecordRow } from '../store/schema.js';
import { PREDICTION_COLUMNS, sha256 } from './prediction-record.js';

/**
 * A stored row as the API returns it: payloads and label parsed back into JSON values, absent
 * (NULL) fields left out. The JSON-lines export writes exactly this object per line.
 */
export function toWirePrediction(stored: PredictionRecordRow): PredictionRecord {
  const row = withPayloadHashes(stored);
  const record: PredictionRecord = {
    record_id: row.record_id,
    request_id: row.request_id,
    deployment: row.deployment,
    deployment_revision: row.deployment_revision,
    model_name: row.model_name,
    model_version: row.model_version,
    arm: row.arm,
    caller: row.caller,
    protocol: row.protocol,
    received_at: row.received_at,
    completed_at: row.completed_at,
    latency_ms: row.latency_ms,
    status: row.status,
    recorded: row.recorded as PredictionPayloadKept,
  };
  if (row.model_digest !== null) record.model_digest = row.model_digest;
  if (row.error_code !== null) record.error_code = row.error_code;
  if (row.error_message !== null) record.error_message = row.error_message;
  if (row.input !== null) record.input = parseJson(row.input);
  if (row.output !== null) record.output = parseJson(row.output);
  if (row.input_hash !== null) record.input_hash = row.input_hash;
  if (row.output_hash !== null) record.output_hash = row.output_hash;
  if (row.label !== null) record.label = parseJson(row.label);
  if (row.label_timestamp !== null) record.label_timestamp = row.label_timestamp;
  if (row.label_actor !== null) record.label_actor = row.label_actor;
  return record;
}

/** The columns of the CSV export, in order (the header line). */
export const PREDICTION_CSV_COLUMNS = PREDICTION_COLUMNS;

/**
 * One CSV line ending in `\n`, quoted as RFC 4180 says: a field holding a comma, quote or line
 * break is quoted with its quotes doubled; NULL is an empty field.
 *
 * @example
 * csvLine(['a,b', 'say "hi"', null]); // '"a,b","say ""hi""",\n'
 */
export function csvLine(fields: readonly (string | number | null)[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

/**
 * A row as one line of the CSV export, columns in {@link PREDICTION_CSV_COLUMNS} order;
 * `input`, `output` and `label` are their JSON text.
 */
export function csvLineOf(stored: PredictionRecordRow): string {
  const row = withPayloadHashes(stored);
  return csvLine(PREDICTION_CSV_COLUMNS.map((column) => row[column]));
}

/**
 * The row with `input_hash` and `output_hash` filled in: the recorder stores a hash only in place
 * of its payload (`toPredictionRow`), so a kept payload's hash is computed here, from the same text.
 */
export function withPayloadHashes(row: PredictionRecordRow): PredictionRecordRow {
  const inputHash = row.input_hash ?? (row.input === null ? null : sha256(row.input));
  const outputHash = row.output_hash ?? (row.output === null ? null : sha256(row.output));
  if (inputHash === row.input_hash && outputHash === row.output_hash) return row;
  return { ...row, input_hash: inputHash, output_hash: outputHash };
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not written by Keel; show it as it is rather than failing the whole page.
    return text;
  }
}
