/**
 * Turns what user code returned (a JS module's `predict`, a child process's `output`) into a
 * {@link ModelOutput}, or says precisely why it cannot.
 */
import { KeelError } from '@keel/core';
import type { ModelOutput, OutputTensor } from './model.js';

/** Name of the one column an array result becomes (MLflow answers a list as `{"predictions": […]}`). */
export const PREDICTIONS_COLUMN = 'predictions';

/**
 * Normalizes a model's raw result. The rules, first match wins:
 *
 * 1. `{kind: 'tensors', tensors: {name: {data, shape}}}` → kept; `data` may be an array or a typed
 *    array of numbers (bigints are converted, `null` becomes `NaN`), and must hold exactly
 *    `product(shape)` values.
 * 2. `{kind: 'columns', columns: {name: [...]}, rowCount?}` → kept; every column must have `rowCount`
 *    values (when `rowCount` is left out, the columns' common length).
 * 3. An array (or typed array) → one column named {@link PREDICTIONS_COLUMN}, one element per row;
 *    elements are kept as they are (a row may itself be an array, e.g. class probabilities).
 * 4. A plain object whose values are all arrays (or typed arrays) of one length, at least one →
 *    those columns.
 *
 * Typed arrays in columns become plain arrays (bigints become numbers) so the output serializes as JSON.
 *
 * @param source who returned it, for the message, e.g. `JS model predict`.
 * @throws INTERNAL_ERROR naming what was returned when no rule matches, or what is wrong with it.
 *
 * @example
 * normalizeModelOutput([1, 0], 'JS model predict')
 * // { kind: 'columns', columns: { predictions: [1, 0] }, rowCount: 2 }
 * normalizeModelOutput({ label: ['a', 'b'], score: [0.9, 0.4] }, 'JS model predict')
 * // { kind: 'columns', columns: { label: ['a', 'b'], score: [0.9, 0.4] }, rowCount: 2 }
 */
export function normalizeModelOutput(value: unknown, source: string): ModelOutput {
  const fail = (what: string): KeelError =>
    new KeelError(
      'INTERNAL_ERROR',
      `${source} returned ${what}; expected {kind: 'tensors' | 'columns', …}, an array with one element per row, or an object of equal-length arrays`,
    );
  if (isListLike(value)) {
    return {
      kind: 'columns',
      columns: { [PREDICTIONS_COLUMN]: toPlainArray(value) },
      rowCount: value.length,
    };
  }
  if (!isRecord(value)) throw fail(describe(value));
  if (value.kind === 'tensors') return { kind: 'tensors', tensors: normalizeTensors(value.tensors, fail) };
  if (value.kind === 'columns') {
    if (!isRecord(value.columns))
      throw fail(`{kind: 'columns'} whose 'columns' is ${describe(value.columns)}`);
    return normalizeColumns(value.columns, value.rowCount, fail, "{kind: 'columns'} with");
  }
  if ('kind' in value) throw fail(`an object with unknown kind ${JSON.stringify(value.kind)}`);
  return normalizeColumns(value, undefined, fail, 'an object with');
}

function normalizeTensors(tensors: unknown, fail: (what: string) => KeelError): Record<string, OutputTensor> {
  if (!isRecord(tensors)) throw fail(`{kind: 'tensors'} whose 'tensors' is ${describe(tensors)}`);
  const out: Record<string, OutputTensor> = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!isRecord(tensor) || !isListLike(tensor.data) || !Array.isArray(tensor.shape)) {
      throw fail(`tensor '${name}' that is not {data: [...], shape: [...]}`);
    }
    const { shape } = tensor;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw fail(`tensor '${name}' with shape ${JSON.stringify(shape)}, not a list of sizes`);
    }
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (size !== tensor.data.length) {
      throw fail(
        `tensor '${name}' with ${tensor.data.length} values, but shape [${shape.join(', ')}] holds ${size}`,
      );
    }
    const data = Array.from(tensor.data as ArrayLike<unknown>, (v, i) => {
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (v === null) return Number.NaN;
      throw fail(`tensor '${name}' whose value at flat index ${i} is ${describe(v)}, not a number`);
    });
    out[name] = { data, shape: [...(shape as number[])] };
  }
  return out;
}

function normalizeColumns(
  columns: Record<string, unknown>,
  rowCount: unknown,
  fail: (what: string) => KeelError,
  prefix: string,
): ModelOutput {
  const entries = Object.entries(columns);
  if (entries.length === 0 && rowCount === undefined) throw fail(`${prefix} no columns`);
  const notList = entries.find(([, v]) => !isListLike(v));
  if (notList !== undefined) throw fail(`${prefix} key '${notList[0]}' holding ${describe(notList[1])}`);
  const lists = entries as [string, unknown[] | ArrayLike<unknown>][];
  const rows = rowCount ?? lists[0]?.[1].length ?? 0;
  if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 0) {
    throw fail(`${prefix} rowCount ${JSON.stringify(rows)}`);
  }
  if (lists.some(([, v]) => v.length !== rows)) {
    const lengths = lists.map(([k, v]) => `${k}: ${v.length}`).join(', ');
    throw fail(
      `${prefix} columns of different lengths (${lengths}${rowCount === undefined ? '' : `, rowCount: ${rows}`})`,
    );
  }
  return {
    kind: 'columns',
    columns: Object.fromEntries(lists.map(([k, v]) => [k, toPlainArray(v)])),
    rowCount: rows,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isListLike(value: unknown): value is unknown[] | ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function toPlainArray(value: unknown[] | ArrayLike<unknown>): unknown[] {
  if (Array.isArray(value)) return value;
  return Array.from(value, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

/** A short description of a value for an error message: its type, and the value when it is small. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `a ${typeof value} (${String(value)})`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor
        ?.name;
      if (name !== undefined && name !== 'Object') return `an instance of ${name}`;
      const keys = Object.keys(value as object);
      return `an object with keys [${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', …' : ''}]`;
    }
  }
}
