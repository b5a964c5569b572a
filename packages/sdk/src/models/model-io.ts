/**
 * The input forms the SDK's model helpers accept (rows, columns, nested arrays, typed arrays, a
 * `ModelInput`), sorted into the three kinds MLflow stores input examples as, and turned into the
 * `ModelInput` a model runtime scores.
 */
import {
  decodeScoringRequest,
  type ModelInput,
  recordsToColumns,
  type Tensor,
  UNNAMED_TENSOR,
} from '@keel/core';
import { toSdkError } from './sdk-error.js';

/** A typed array a tensor can be given as. */
export type NumericTypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * What `predict()` and `inputExample` accept:
 * - rows: `[{ age: 42, city: 'Oslo' }, …]` (a key missing from a row is `null`);
 * - columns: `{ age: [42, 37], city: ['Oslo', 'Bergen'] }` (equal lengths), or one row as
 *   `{ age: 42, city: 'Oslo' }`;
 * - a tensor: nested number arrays `[[5.1, 3.5], [4.9, 3.0]]` or typed arrays (`Float32Array`, an
 *   array of them);
 * - named tensors: `{ image: [[[0, 1], …]], mask: [[1, 0], …] }` (every value nested arrays);
 * - a `ModelInput` (`{ kind: 'columns', … }` or `{ kind: 'tensors', … }`), as is.
 *
 * @example
 * await model.predict([{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }]);
 */
export type PredictInput =
  | ModelInput
  | readonly Readonly<Record<string, unknown>>[]
  | Readonly<Record<string, unknown>>
  | readonly unknown[]
  | NumericTypedArray;

/**
 * What a model returns, as the model runtime gives it: named tensors (ONNX outputs, values flattened
 * in row-major order) or named columns of equal length.
 * @example { kind: 'tensors', tensors: { output: { data: [0.1, 0.9], shape: [1, 2] } } }
 */
export type PredictOutput =
  | { kind: 'tensors'; tensors: Record<string, { data: number[]; shape: number[] }> }
  | { kind: 'columns'; columns: Record<string, unknown[]>; rowCount: number };

/**
 * An input sorted into the kinds MLflow stores examples as: a data frame (columns of equal length),
 * an ndarray (one nested array, or named ones) or any other JSON value.
 */
export type InputForm =
  | { form: 'dataframe'; columns: Record<string, unknown[]>; rowCount: number }
  | { form: 'ndarray'; value: unknown }
  | { form: 'json'; value: unknown };

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof Date)
  );
}

function isTypedArray(value: unknown): value is NumericTypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** Whether a value is a `ModelInput` (the runtime's own form). */
export function isModelInput(value: unknown): value is ModelInput {
  if (!isRecord(value)) return false;
  if (value.kind === 'columns') return isRecord(value.columns) && typeof value.rowCount === 'number';
  return value.kind === 'tensors' && isRecord(value.tensors);
}

/** Nested numbers or booleans (or typed arrays), the way `inferSignature` reads a tensor. */
function isNumericNested(value: unknown): boolean {
  if (isTypedArray(value)) return true;
  if (!Array.isArray(value)) return false;
  const first = value.find((v) => v !== null && v !== undefined);
  return typeof first === 'number' || typeof first === 'boolean' || isNumericNested(first);
}

/** Typed arrays become plain arrays (64-bit integers as numbers), recursively. */
function toPlainArrays(value: unknown): unknown {
  if (isTypedArray(value)) return Array.from(value as ArrayLike<number | bigint>, Number);
  if (Array.isArray(value)) return value.map(toPlainArrays);
  return value;
}

/**
 * An ndarray (one nested array, or an object of them) with its typed arrays turned into plain
 * arrays (64-bit integers as numbers).
 * @example plainNdarray({ x: [new Float32Array([1, 2])] }); // { x: [[1, 2]] }
 */
export function plainNdarray(value: unknown): unknown {
  return isRecord(value)
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlainArrays(v)]))
    : toPlainArrays(value);
}

function rowsToColumns(rows: readonly Record<string, unknown>[]): InputForm {
  const { columns, rowCount } = recordsToColumns(rows);
  return { form: 'dataframe', columns, rowCount };
}

function nest(data: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  const [size = 0, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => nest(data.slice(i * stride, (i + 1) * stride), rest));
}

function fromModelInput(input: ModelInput): InputForm {
  if (input.kind === 'columns') {
    return { form: 'dataframe', columns: { ...input.columns }, rowCount: input.rowCount };
  }
  const entries = Object.entries(input.tensors);
  const nested = (t: Tensor) => nest(t.data, t.shape);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined && only[0] === UNNAMED_TENSOR) {
    return { form: 'ndarray', value: nested(only[1]) };
  }
  return { form: 'ndarray', value: Object.fromEntries(entries.map(([name, t]) => [name, nested(t)])) };
}

/**
 * Sorts an input or input example into a data frame, an ndarray or a JSON value (see
 * {@link PredictInput} for the forms). Rows and columns are data frames; nested numbers and
 * typed arrays, or an object whose every value is nested arrays, are ndarrays; anything else
 * (a list of strings, a scalar) is a JSON value.
 *
 * @throws TypeError when columns have different lengths, or an object mixes lists and single values.
 * @example
 * classifyInput([{ a: 1 }, { a: 2, b: 'x' }]); // { form: 'dataframe', columns: { a: [1, 2], b: [null, 'x'] }, rowCount: 2 }
 */
export function classifyInput(value: unknown): InputForm {
  if (isModelInput(value)) return fromModelInput(value);
  if (isNumericNested(value)) return { form: 'ndarray', value };
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isRecord)) return rowsToColumns(value);
    return { form: 'json', value };
  }
  if (!isRecord(value)) return { form: 'json', value };
  const entries = Object.entries(value);
  const listLike = (v: unknown) => Array.isArray(v) || isTypedArray(v);
  if (entries.length > 0 && entries.every(([, v]) => Array.isArray(v) && v.some(listLike))) {
    return { form: 'ndarray', value };
  }
  if (entries.length > 0 && entries.every(([, v]) => listLike(v))) {
    const columns: Record<string, unknown[]> = {};
    let rowCount: number | undefined;
    for (const [name, v] of entries) {
      const column = Array.from(v as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? Number(x) : x));
      if (rowCount !== undefined && column.length !== rowCount) {
        throw new TypeError(
          `Column '${name}' has ${column.length} values but other columns have ${rowCount}`,
        );
      }
      rowCount = column.length;
      columns[name] = column;
    }
    return { form: 'dataframe', columns, rowCount: rowCount ?? 0 };
  }
  if (entries.some(([, v]) => listLike(v))) {
    throw new TypeError(
      'An input object must hold lists of equal length (columns) or single values (one row), not both',
    );
  }
  return rowsToColumns([value]);
}

/**
 * Turns any {@link PredictInput} into the `ModelInput` a model runtime scores: rows and columns
 * become columns; nested arrays become one unnamed tensor, or named tensors for an object of
 * them (the rules of MLflow's `inputs` scoring format).
 *
 * @throws InvalidParameterError / KeelApiError (`BAD_REQUEST`) for ragged arrays or a form no model takes.
 * @example
 * toModelInput([[1, 2], [3, 4]]); // { kind: 'tensors', tensors: { '': { data: [1, 2, 3, 4], shape: [2, 2] } } }
 */
export function toModelInput(input: PredictInput): ModelInput {
  if (isModelInput(input)) return input;
  let form: InputForm;
  try {
    form = classifyInput(input);
  } catch (error) {
    throw toSdkError(error instanceof TypeError ? { code: 'BAD_REQUEST', message: error.message } : error);
  }
  switch (form.form) {
    case 'dataframe':
      return { kind: 'columns', columns: form.columns, rowCount: form.rowCount };
    case 'ndarray':
    case 'json':
      try {
        return decodeScoringRequest({ inputs: plainNdarray(form.value) }).input;
      } catch (error) {
        throw toSdkError(error);
      }
    default: {
      const never: never = form;
      throw new TypeError(`unknown input form ${String(never)}`);
    }
  }
}
