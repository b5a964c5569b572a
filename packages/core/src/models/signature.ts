/**
 * Model signatures (mlflow-compat.md §3): what a model takes and returns, column-based or
 * tensor-based, plus inference parameters. Decoded from / encoded to the JSON strings MLflow keeps
 * in `MLmodel`'s `signature` key.
 */
import { invalidParameter } from '../errors.js';
import type { MLmodelSignature } from './mlmodel.js';

/** MLflow's column (and parameter) types. `integer` is 32-bit, `long` 64-bit, `float` 32-bit. */
export type ColumnType =
  | 'boolean'
  | 'integer'
  | 'long'
  | 'float'
  | 'double'
  | 'string'
  | 'binary'
  | 'datetime';

/** The {@link ColumnType}s, in MLflow's order. */
export const COLUMN_TYPES: readonly ColumnType[] = [
  'boolean',
  'integer',
  'long',
  'float',
  'double',
  'string',
  'binary',
  'datetime',
];

/** One column of a column-based schema. */
export interface ColSpec {
  type: ColumnType;
  /** Absent for unnamed columns (e.g. a pandas Series output). */
  name?: string;
  /** A required column must be present in the input. @default true */
  required: boolean;
}

/** numpy dtype names MLflow writes in `tensor-spec.dtype`. */
export type TensorDtype =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'str'
  | 'bytes'
  | 'object';

/** Every dtype a tensor spec may declare (numpy's names, as MLflow writes them). */
export const TENSOR_DTYPES: readonly TensorDtype[] = [
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float16',
  'float32',
  'float64',
  'str',
  'bytes',
  'object',
];

/** One tensor of a tensor-based schema. `-1` in `shape` matches any size (usually the batch axis). */
export interface TensorSpec {
  type: 'tensor';
  dtype: TensorDtype;
  shape: number[];
  name?: string;
}

/** Inputs or outputs: all columns or all tensors (MLflow refuses a mix). */
export type Schema = { kind: 'columns'; columns: ColSpec[] } | { kind: 'tensors'; tensors: TensorSpec[] };

/** An inference parameter: `predict(data, params={name: ...})`. `shape` is `null` for scalars. */
export interface ParamSpec {
  name: string;
  type: ColumnType;
  default: unknown;
  shape: number[] | null;
}

/** A decoded model signature. */
export interface Signature {
  inputs?: Schema;
  outputs?: Schema;
  params?: ParamSpec[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeJson(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidParameter(`MLmodel key 'signature.${field}' is not valid JSON`);
  }
}

function parseShape(where: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d === -1 || d >= 0))) {
    throw invalidParameter(`${where}: 'shape' must be a list of sizes (-1 for any size)`);
  }
  return shape as number[];
}

function parseSchema(field: 'inputs' | 'outputs', text: string): Schema {
  const raw = decodeJson(field, text);
  if (!Array.isArray(raw)) throw invalidParameter(`MLmodel key 'signature.${field}' must be a JSON list`);
  const columns: ColSpec[] = [];
  const tensors: TensorSpec[] = [];
  raw.forEach((spec: unknown, i) => {
    const where = `signature.${field}[${i}]`;
    if (!isRecord(spec)) throw invalidParameter(`${where} must be an object`);
    const name = spec.name;
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw invalidParameter(`${where}: 'name' must be a string`);
    }
    const named = typeof name === 'string' ? { name } : {};
    if (spec.type === 'tensor') {
      const ts = spec['tensor-spec'];
      if (!isRecord(ts)) throw invalidParameter(`${where}: a tensor needs a 'tensor-spec' object`);
      if (!TENSOR_DTYPES.includes(ts.dtype as TensorDtype)) {
        throw invalidParameter(`${where}: unsupported tensor dtype ${JSON.stringify(ts.dtype)}`);
      }
      tensors.push({
        type: 'tensor',
        dtype: ts.dtype as TensorDtype,
        shape: parseShape(where, ts.shape),
        ...named,
      });
    } else {
      if (!COLUMN_TYPES.includes(spec.type as ColumnType)) {
        throw invalidParameter(
          `${where}: unsupported column type ${JSON.stringify(spec.type)} (expected one of ${COLUMN_TYPES.join(', ')})`,
        );
      }
      if (spec.required !== undefined && typeof spec.required !== 'boolean') {
        throw invalidParameter(`${where}: 'required' must be a boolean`);
      }
      columns.push({ type: spec.type as ColumnType, ...named, required: spec.required ?? true });
    }
  });
  if (columns.length > 0 && tensors.length > 0) {
    throw invalidParameter(`MLmodel key 'signature.${field}' mixes column and tensor specs`);
  }
  if (tensors.length > 1 && tensors.some((t) => t.name === undefined)) {
    throw invalidParameter(`MLmodel key 'signature.${field}': several tensors must all be named`);
  }
  return tensors.length > 0 ? { kind: 'tensors', tensors } : { kind: 'columns', columns };
}

function parseParams(text: string): ParamSpec[] {
  const raw = decodeJson('params', text);
  if (!Array.isArray(raw)) throw invalidParameter(`MLmodel key 'signature.params' must be a JSON list`);
  return raw.map((spec: unknown, i) => {
    const where = `signature.params[${i}]`;
    if (!isRecord(spec) || typeof spec.name !== 'string') {
      throw invalidParameter(`${where} must be an object with a string 'name'`);
    }
    if (!COLUMN_TYPES.includes(spec.type as ColumnType)) {
      throw invalidParameter(`${where} ('${spec.name}'): unsupported type ${JSON.stringify(spec.type)}`);
    }
    const shape = spec.shape === undefined || spec.shape === null ? null : parseShape(where, spec.shape);
    return { name: spec.name, type: spec.type as ColumnType, default: spec.default ?? null, shape };
  });
}

/**
 * Decodes `MLmodel`'s `signature` (JSON strings) into a typed {@link Signature}. Absent or `null`
 * parts stay absent. A ColSpec without `required` is required (MLflow's default).
 *
 * @throws INVALID_PARAMETER_VALUE naming the field (`signature.inputs[2]`) for bad JSON, unknown
 *   types or dtypes, bad shapes, or a mix of columns and tensors.
 *
 * @example
 * parseSignature({ inputs: '[{"type": "double", "name": "x", "required": true}]' })
 * // { inputs: { kind: 'columns', columns: [{ type: 'double', name: 'x', required: true }] } }
 */
export function parseSignature(signature: MLmodelSignature): Signature {
  const result: Signature = {};
  if (typeof signature.inputs === 'string') result.inputs = parseSchema('inputs', signature.inputs);
  if (typeof signature.outputs === 'string') result.outputs = parseSchema('outputs', signature.outputs);
  if (typeof signature.params === 'string') result.params = parseParams(signature.params);
  return result;
}

function schemaToJson(schema: Schema): unknown[] {
  if (schema.kind === 'columns') {
    return schema.columns.map((c) => ({
      type: c.type,
      ...(c.name === undefined ? {} : { name: c.name }),
      required: c.required,
    }));
  }
  return schema.tensors.map((t) => ({
    type: 'tensor',
    'tensor-spec': { dtype: t.dtype, shape: t.shape },
    ...(t.name === undefined ? {} : { name: t.name }),
  }));
}

/**
 * Encodes a {@link Signature} the way MLflow stores it: JSON strings in Python's `json.dumps` style
 * (`", "` and `": "` separators), `null` for absent parts. Note that a float param default that is
 * integral (`1.0`) is written as `1`, as JavaScript has no separate float type.
 *
 * @example
 * serializeSignature({ outputs: { kind: 'tensors', tensors: [{ type: 'tensor', dtype: 'int64', shape: [-1] }] } })
 * // { inputs: null, outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]', params: null }
 */
export function serializeSignature(signature: Signature): Required<MLmodelSignature> {
  return {
    inputs: signature.inputs ? pythonJsonDumps(schemaToJson(signature.inputs)) : null,
    outputs: signature.outputs ? pythonJsonDumps(schemaToJson(signature.outputs)) : null,
    params: signature.params
      ? pythonJsonDumps(
          signature.params.map((p) => ({ name: p.name, type: p.type, default: p.default, shape: p.shape })),
        )
      : null,
  };
}

/** `JSON.stringify` with the separators of Python's `json.dumps` defaults. */
function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value ?? null);
}

type Scalar = boolean | number | string | Date | Uint8Array | null | undefined;

function columnTypeOf(name: string, values: readonly unknown[]): ColSpec {
  let type: ColumnType | undefined;
  let required = true;
  values.forEach((value, row) => {
    if (value === null || value === undefined) {
      required = false;
      return;
    }
    const t: ColumnType | undefined =
      typeof value === 'boolean'
        ? 'boolean'
        : typeof value === 'number'
          ? Number.isInteger(value)
            ? 'long'
            : 'double'
          : typeof value === 'string'
            ? 'string'
            : value instanceof Date
              ? 'datetime'
              : value instanceof Uint8Array
                ? 'binary'
                : undefined;
    if (t === undefined) {
      throw invalidParameter(`Cannot infer a type for column '${name}' at row ${row}: unsupported value`);
    }
    if (type === undefined || type === t) type = t;
    else if ((type === 'long' && t === 'double') || (type === 'double' && t === 'long')) type = 'double';
    else throw invalidParameter(`Cannot infer a type for column '${name}': it mixes ${type} and ${t} values`);
  });
  if (type === undefined)
    throw invalidParameter(`Cannot infer a type for column '${name}': all values are null`);
  return { type, name, required };
}

type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array;

function tensorOf(where: string, value: unknown): TensorSpec {
  const shape: number[] = [];
  let dtype: TensorDtype | undefined;
  let sawTypedArray = false;
  const visit = (node: unknown, depth: number): void => {
    if (ArrayBuffer.isView(node) && !(node instanceof DataView)) {
      const typed = node as NumericArray;
      const t: TensorDtype | undefined =
        typed instanceof Float32Array
          ? 'float32'
          : typed instanceof Float64Array
            ? 'float64'
            : typed instanceof Int32Array
              ? 'int32'
              : typed instanceof BigInt64Array
                ? 'int64'
                : undefined;
      if (t === undefined) throw invalidParameter(`${where}: unsupported typed array`);
      if (dtype !== undefined && dtype !== t) throw invalidParameter(`${where}: mixes ${dtype} and ${t}`);
      dtype = t;
      sawTypedArray = true;
      checkDim(depth, typed.length);
      return;
    }
    if (Array.isArray(node)) {
      checkDim(depth, node.length);
      for (const child of node) visit(child, depth + 1);
      return;
    }
    if (depth !== shape.length) throw invalidParameter(`${where}: nested arrays are ragged`);
    if (typeof node === 'number') {
      if (dtype === 'bool') throw invalidParameter(`${where}: mixes numbers and booleans`);
      if (sawTypedArray) throw invalidParameter(`${where}: mixes typed arrays and plain numbers`);
      dtype = Number.isInteger(node) && dtype !== 'float64' ? 'int64' : 'float64';
    } else if (typeof node === 'boolean') {
      if (dtype !== undefined && dtype !== 'bool')
        throw invalidParameter(`${where}: mixes numbers and booleans`);
      dtype = 'bool';
    } else {
      throw invalidParameter(`${where}: tensors hold numbers or booleans only`);
    }
  };
  const checkDim = (depth: number, size: number): void => {
    if (depth === shape.length) shape.push(size);
    else if (shape[depth] !== size) throw invalidParameter(`${where}: nested arrays are ragged`);
  };
  visit(value, 0);
  if (dtype === undefined) throw invalidParameter(`${where}: cannot infer a dtype from an empty array`);
  return { type: 'tensor', dtype, shape: [-1, ...shape.slice(1)] };
}

function isNumericNested(value: unknown): boolean {
  if (ArrayBuffer.isView(value)) return true;
  if (!Array.isArray(value)) return false;
  const first = value.find((v) => v !== null && v !== undefined);
  return typeof first === 'number' || typeof first === 'boolean' || isNumericNested(first);
}

function inferSchema(where: string, example: unknown): Schema {
  if (isNumericNested(example)) return { kind: 'tensors', tensors: [tensorOf(where, example)] };
  if (Array.isArray(example)) {
    if (example.length > 0 && example.every(isRecord)) {
      const names: string[] = [];
      for (const row of example as Record<string, unknown>[]) {
        for (const key of Object.keys(row)) if (!names.includes(key)) names.push(key);
      }
      return {
        kind: 'columns',
        columns: names.map((n) =>
          columnTypeOf(
            n,
            (example as Record<string, unknown>[]).map((r) => r[n]),
          ),
        ),
      };
    }
    if (
      example.length > 0 &&
      !example.some((v) => typeof v === 'object' && v !== null && !(v instanceof Date))
    ) {
      const { name: _unnamed, ...spec } = columnTypeOf('0', example as Scalar[]);
      return { kind: 'columns', columns: [spec] };
    }
    throw invalidParameter(`${where}: expected rows of objects, a columnar object or nested numeric arrays`);
  }
  if (isRecord(example)) {
    const entries = Object.entries(example);
    if (entries.length === 0) throw invalidParameter(`${where}: the example has no columns`);
    if (entries.every(([, v]) => Array.isArray(v) && v.some(Array.isArray))) {
      return {
        kind: 'tensors',
        tensors: entries.map(([name, v]) => ({ ...tensorOf(`${where}.${name}`, v), name })),
      };
    }
    return {
      kind: 'columns',
      columns: entries.map(([name, v]) => {
        if (!Array.isArray(v)) throw invalidParameter(`${where}: column '${name}' must be a list of values`);
        return columnTypeOf(name, v);
      }),
    };
  }
  throw invalidParameter(`${where}: expected rows of objects, a columnar object or nested numeric arrays`);
}

/**
 * Infers a signature from an input example and, optionally, an output example, as MLflow's
 * `infer_signature` does:
 *
 * - rows of objects (`[{a: 1, b: 'x'}, …]`) or a columnar object (`{a: [1, 2], b: ['x', 'y']}`) →
 *   columns; integers → `long`, other numbers (or a mix) → `double`, strings → `string`, booleans →
 *   `boolean`, `Date` → `datetime`, `Uint8Array` → `binary`; a column with a null/missing value is
 *   `required: false`;
 * - nested numeric arrays (`[[1.5, 2], …]`) → one tensor with shape `[-1, …]`; dtype `int64` when
 *   every value is an integer, else `float64`; `Float32Array` leaves → `float32`, `Float64Array` →
 *   `float64`, `Int32Array` → `int32`, `BigInt64Array` → `int64`; booleans → `bool`;
 * - an object of nested arrays (`{image: [[…]]}`) → one named tensor per key;
 * - a flat list of strings/booleans (e.g. predicted labels) → one unnamed column.
 *
 * @throws INVALID_PARAMETER_VALUE naming the column or input for ragged arrays, mixed or unsupported
 *   types, or all-null columns.
 *
 * @example
 * inferSignature([{ age: 42, income: 5.5e4 }], [0])
 * // inputs: columns age: long, income: double; outputs: tensor int64 [-1]
 */
export function inferSignature(inputExample: unknown, outputExample?: unknown): Signature {
  const signature: Signature = { inputs: inferSchema('input example', inputExample) };
  if (outputExample !== undefined) signature.outputs = inferSchema('output example', outputExample);
  return signature;
}
