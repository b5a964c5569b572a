/**
 * Row arithmetic of the micro-batcher: how many rows a request holds, which requests may share a model
 * call, how their inputs are merged and how the model's output is cut back into one answer per caller.
 * Pure functions over {@link ModelInput} / {@link ModelOutput}; the queueing lives in `batcher.ts`.
 */
import type { ModelInput } from '@keel/core';
import type { ModelOutput, OutputTensor } from '../models/model.js';

/**
 * What the batcher needs to know about a request that can be merged with others: its rows and a key
 * that is equal for exactly the requests that may share a model call.
 */
export interface BatchProfile {
  /** Rows the request contributes to a batch (≥ 1). */
  rows: number;
  /** Same kind, same column names (as a set) or tensor names with equal trailing dims, same `params`. */
  key: string;
}

/**
 * Rows a request holds, for the queue bound: `rowCount` for columns, the largest first dimension for
 * tensors (a 0-d tensor counts as 1); never less than 1, so every waiting request costs something.
 *
 * @example
 * countRows({ kind: 'tensors', tensors: { x: { data: [1, 2, 3, 4], shape: [2, 2] } } }); // 2
 */
export function countRows(input: ModelInput): number {
  if (input.kind === 'columns') return Math.max(1, input.rowCount);
  let rows = 1;
  for (const tensor of Object.values(input.tensors)) rows = Math.max(rows, tensor.shape[0] ?? 1);
  return rows;
}

/**
 * The batching profile of a request, or `undefined` when it must run alone: a 0-d tensor, tensors that
 * disagree on their first dimension, data whose length does not match its shape, columns whose length
 * is not `rowCount`, zero rows, or `params` that are not plain JSON. Checking the lengths here means a
 * malformed request can never shift another caller's rows inside a merged input; alone, the model
 * rejects it as it would without batching.
 *
 * @example
 * batchProfile({ kind: 'columns', columns: { b: [1], a: [2] }, rowCount: 1 }, { k: 1 });
 * // { rows: 1, key: '…' } — equal to the key of { a: [3], b: [4] } with params { k: 1 }
 */
export function batchProfile(
  input: ModelInput,
  params: Record<string, unknown> | undefined,
): BatchProfile | undefined {
  const paramsKey = canonicalJson(params ?? {});
  if (paramsKey === undefined) return undefined;
  if (input.kind === 'columns') {
    const names = Object.keys(input.columns);
    const rows = input.rowCount;
    if (!Number.isInteger(rows) || rows < 1 || names.length === 0) return undefined;
    if (names.some((name) => input.columns[name]?.length !== rows)) return undefined;
    return { rows, key: JSON.stringify(['columns', names.sort(), paramsKey]) };
  }
  const names = Object.keys(input.tensors).sort();
  let rows: number | undefined;
  const trailing: number[][] = [];
  for (const name of names) {
    const { data, shape } = input.tensors[name] ?? { data: [], shape: [] };
    const first = shape[0];
    if (first === undefined || !Number.isInteger(first) || first < 1) return undefined;
    if (rows !== undefined && first !== rows) return undefined;
    if (data.length !== shape.reduce((product, dim) => product * dim, 1)) return undefined;
    rows = first;
    trailing.push(shape.slice(1));
  }
  if (rows === undefined) return undefined;
  return { rows, key: JSON.stringify(['tensors', names, trailing, paramsKey]) };
}

/**
 * Merges compatible inputs (same {@link BatchProfile.key}) into one: columns concatenated per column
 * in the first input's column order, tensors concatenated along dim 0.
 *
 * @example
 * mergeInputs([
 *   { kind: 'tensors', tensors: { x: { data: [1, 2], shape: [1, 2] } } },
 *   { kind: 'tensors', tensors: { x: { data: [3, 4, 5, 6], shape: [2, 2] } } },
 * ]); // { kind: 'tensors', tensors: { x: { data: [1, 2, 3, 4, 5, 6], shape: [3, 2] } } }
 */
export function mergeInputs(inputs: readonly ModelInput[]): ModelInput {
  const [first] = inputs;
  if (first === undefined) throw new RangeError('mergeInputs needs at least one input');
  if (first.kind === 'columns') {
    const columns: Record<string, unknown[]> = {};
    let rowCount = 0;
    for (const input of inputs) rowCount += (input as typeof first).rowCount;
    for (const name of Object.keys(first.columns)) {
      columns[name] = concat(inputs.map((input) => (input as typeof first).columns[name] ?? []));
    }
    return { kind: 'columns', columns, rowCount };
  }
  const tensors: Record<string, { data: unknown[]; shape: number[] }> = {};
  for (const [name, head] of Object.entries(first.tensors)) {
    const parts = inputs.map((input) => (input as typeof first).tensors[name] ?? { data: [], shape: [0] });
    const rows = parts.reduce((total, part) => total + (part.shape[0] ?? 0), 0);
    tensors[name] = { data: concat(parts.map((part) => part.data)), shape: [rows, ...head.shape.slice(1)] };
  }
  return { kind: 'tensors', tensors };
}

/**
 * Cuts a merged call's output into one output per caller, `rows[i]` rows each, in order. Tensors are
 * split along dim 0 when every output tensor's first dimension is the batch's total rows; columns by
 * row ranges when `rowCount` (and every column's length) is the total. Returns `undefined` when the
 * output has no per-row structure to split (no tensors, a first dimension other than the total, data
 * not matching its shape) — the caller then runs the requests one by one.
 *
 * @example
 * splitOutput({ kind: 'columns', columns: { y: [1, 2, 3] }, rowCount: 3 }, [1, 2]);
 * // [{ kind: 'columns', columns: { y: [1] }, rowCount: 1 }, { kind: 'columns', columns: { y: [2, 3] }, rowCount: 2 }]
 */
export function splitOutput(output: ModelOutput, rows: readonly number[]): ModelOutput[] | undefined {
  const total = rows.reduce((sum, n) => sum + n, 0);
  if (output.kind === 'columns') {
    const entries = Object.entries(output.columns);
    if (output.rowCount !== total || entries.some(([, column]) => column.length !== total)) return undefined;
    return ranges(rows).map(([start, end]) => ({
      kind: 'columns',
      columns: Object.fromEntries(entries.map(([name, column]) => [name, column.slice(start, end)])),
      rowCount: end - start,
    }));
  }
  const entries = Object.entries(output.tensors);
  if (entries.length === 0 || entries.some(([, tensor]) => !splittable(tensor, total))) return undefined;
  return ranges(rows).map(([start, end]) => ({
    kind: 'tensors',
    tensors: Object.fromEntries(
      entries.map(([name, { data, shape }]) => {
        const stride = data.length / total;
        const part: OutputTensor = {
          data: data.slice(start * stride, end * stride),
          shape: [end - start, ...shape.slice(1)],
        };
        return [name, part];
      }),
    ),
  }));
}

function splittable(tensor: OutputTensor, total: number): boolean {
  const { data, shape } = tensor;
  return shape[0] === total && data.length === shape.reduce((product, dim) => product * dim, 1);
}

/** `[start, end)` row ranges of consecutive parts of the given sizes. */
function ranges(rows: readonly number[]): [number, number][] {
  let start = 0;
  return rows.map((n) => {
    const range: [number, number] = [start, start + n];
    start += n;
    return range;
  });
}

function concat(parts: readonly (readonly unknown[])[]): unknown[] {
  let length = 0;
  for (const part of parts) length += part.length;
  const out: unknown[] = new Array(length);
  let offset = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) out[offset + i] = part[i];
    offset += part.length;
  }
  return out;
}

/**
 * JSON with object keys sorted, so deep-equal `params` give equal strings; `undefined` for values
 * JSON cannot carry faithfully (functions, bigints, cycles), which makes the request run alone.
 */
function canonicalJson(value: unknown, seen: Set<object> = new Set()): string | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : undefined;
  if (typeof value !== 'object' || seen.has(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return undefined;
  seen.add(value);
  let parts: (string | undefined)[];
  if (Array.isArray(value)) {
    parts = value.map((item) => canonicalJson(item, seen));
  } else {
    const record = value as Record<string, unknown>;
    parts = Object.keys(record)
      .sort()
      .filter((key) => record[key] !== undefined)
      .map((key) => {
        const item = canonicalJson(record[key], seen);
        return item === undefined ? undefined : `${JSON.stringify(key)}:${item}`;
      });
  }
  seen.delete(value);
  if (parts.some((part) => part === undefined)) return undefined;
  return Array.isArray(value) ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
}
