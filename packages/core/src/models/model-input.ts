/**
 * Scoring requests (mlflow-compat.md §4): the JSON and CSV bodies of `POST /invocations`, decoded
 * into one {@link ModelInput}, then checked and converted against the model's signature.
 */
import { invalidParameter, KeelError } from '../errors.js';
import { parseJsonAllowingNonFinite } from '../json-non-finite.js';
import type { ColSpec, ColumnType, Schema, Signature, TensorDtype, TensorSpec } from './signature.js';

/** A tensor: values flattened in row-major order, plus the shape. */
export interface Tensor {
  data: unknown[];
  shape: number[];
}

/**
 * What a model receives: named columns of equal length, or named tensors. An unnamed tensor (e.g.
 * `{"inputs": [[1, 2]]}`) has the name {@link UNNAMED_TENSOR}.
 */
export type ModelInput =
  | { kind: 'columns'; columns: Record<string, unknown[]>; rowCount: number }
  | { kind: 'tensors'; tensors: Record<string, Tensor> };

/** A decoded scoring request: the input and the optional `params`. */
export interface ScoringRequest {
  input: ModelInput;
  params?: Record<string, unknown>;
}

/** Name given to a tensor sent without a name (`inputs` or `instances` as a bare array). */
export const UNNAMED_TENSOR = '';

/** The JSON keys of MLflow's scoring protocol, one of which a request must carry. */
export const SCORING_FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

/** One of {@link SCORING_FORMATS}. */
export type ScoringFormat = (typeof SCORING_FORMATS)[number];

const PROTOCOL_CHANGE_INFO =
  "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing this error, you are likely using an outdated scoring request format. To resolve the error, either update your request format or adjust your MLflow Model's requirements file to specify an older version of MLflow (for example, change the 'mlflow' requirement specifier to 'mlflow==1.30.0'). For more information about the updated MLflow Model scoring protocol in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";

const REQUIRED_INPUT_FORMAT = `The input must be a JSON dictionary with exactly one of the input fields {${SCORING_FORMATS.map((f) => `'${f}'`).join(', ')}}`;

function badRequest(message: string): KeelError {
  return new KeelError('BAD_REQUEST', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a JSON scoring body (`application/json`) and decodes it with {@link decodeScoringRequest}.
 *
 * @throws BAD_REQUEST when the text is not JSON, plus everything {@link decodeScoringRequest} throws.
 *
 * @example
 * parseJsonScoringRequest('{"inputs": [[1, 2], [3, 4]]}').input
 * // { kind: 'tensors', tensors: { '': { data: [1, 2, 3, 4], shape: [2, 2] } } }
 */
export function parseJsonScoringRequest(text: string): ScoringRequest {
  let body: unknown;
  try {
    body = parseJsonAllowingNonFinite(text);
  } catch (error) {
    throw badRequest(`Failed to parse input from JSON: ${(error as Error).message}`);
  }
  return decodeScoringRequest(body);
}

/**
 * Decodes a parsed JSON scoring body. It must be an object with exactly one of:
 *
 * - `dataframe_split`: `{columns?, data, index?}` (pandas split orient) → columns; without
 *   `columns` they are named `"0"`, `"1"`, …; `index` is ignored;
 * - `dataframe_records`: `[{col: v, …}, …]` → columns; a key missing from a row is `null`;
 * - `instances`: a list of dicts → columns; a list of values or nested lists → one unnamed tensor;
 * - `inputs`: a (nested) array → one unnamed tensor; a dict of name → array → named tensors;
 *
 * plus optional `params` (an object, passed through as is).
 *
 * @throws BAD_REQUEST with MLflow's "protocol changed in 2.0" message for a top-level list or zero or
 *   several format keys; BAD_REQUEST naming the field for a malformed payload (ragged arrays, rows of
 *   the wrong length, `params` not an object).
 *
 * @example
 * decodeScoringRequest({ dataframe_split: { columns: ['a'], data: [[1], [2]] } }).input
 * // { kind: 'columns', columns: { a: [1, 2] }, rowCount: 2 }
 */
export function decodeScoringRequest(body: unknown): ScoringRequest {
  if (!isRecord(body)) {
    throw badRequest(
      `${REQUIRED_INPUT_FORMAT}. Received ${Array.isArray(body) ? 'a list' : 'a value that is not a dictionary'}. ${PROTOCOL_CHANGE_INFO}`,
    );
  }
  const present = SCORING_FORMATS.filter((f) => f in body);
  const [format] = present;
  if (format === undefined || present.length > 1) {
    throw badRequest(
      `${REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: [${Object.keys(body)
        .map((k) => `'${k}'`)
        .join(', ')}]. ${PROTOCOL_CHANGE_INFO}`,
    );
  }
  const params = body.params;
  if (params !== undefined && params !== null && !isRecord(params)) {
    throw badRequest("'params' must be a JSON object of parameter name to value");
  }
  const input = decodeFormat(format, body[format]);
  return isRecord(params) ? { input, params } : { input };
}

function decodeFormat(format: ScoringFormat, payload: unknown): ModelInput {
  switch (format) {
    case 'dataframe_split':
      return decodeSplit(payload);
    case 'dataframe_records':
      if (!Array.isArray(payload) || !payload.every(isRecord)) {
        throw badRequest("'dataframe_records' must be a list of objects (pandas records orient)");
      }
      return recordsToColumns(payload);
    case 'instances':
      if (Array.isArray(payload) && payload.length > 0 && payload.every(isRecord)) {
        return recordsToColumns(payload);
      }
      return decodeTensors('instances', payload);
    case 'inputs':
      return decodeTensors('inputs', payload);
    default: {
      const never: never = format;
      throw badRequest(`Unknown format ${String(never)}`);
    }
  }
}

function decodeSplit(payload: unknown): ModelInput {
  if (!isRecord(payload) || !Array.isArray(payload.data)) {
    throw badRequest("'dataframe_split' must be an object with a 'data' list (pandas split orient)");
  }
  const data = payload.data;
  const firstRow = data[0];
  let names: string[];
  if (payload.columns === undefined) {
    names = Array.isArray(firstRow) ? firstRow.map((_, i) => String(i)) : [];
  } else if (Array.isArray(payload.columns)) {
    names = payload.columns.map(String);
  } else {
    throw badRequest("'dataframe_split.columns' must be a list of column names");
  }
  const columns: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, []]));
  data.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== names.length) {
      throw badRequest(`'dataframe_split.data' row ${r} must be a list of ${names.length} values`);
    }
    names.forEach((n, c) => {
      columns[n]?.push(row[c]);
    });
  });
  return { kind: 'columns', columns, rowCount: data.length };
}

/**
 * Turns row objects into columns as pandas does for `dataframe_records`: a key missing from a row
 * (or `undefined` there) is `null` in that row.
 *
 * @example
 * recordsToColumns([{ a: 1 }, { a: 2, b: 'x' }])
 * // { kind: 'columns', columns: { a: [1, 2], b: [null, 'x'] }, rowCount: 2 }
 */
export function recordsToColumns(rows: readonly Record<string, unknown>[]): ModelInput & { kind: 'columns' } {
  const columns: Record<string, unknown[]> = {};
  rows.forEach((row, r) => {
    for (const [key, value] of Object.entries(row)) {
      // pandas fills a key first seen at a later row with NaN for the earlier ones.
      let column = columns[key];
      if (column === undefined) {
        column = new Array<unknown>(r).fill(null);
        columns[key] = column;
      }
      column.push(value === undefined ? null : value);
    }
    for (const column of Object.values(columns)) if (column.length === r) column.push(null);
  });
  return { kind: 'columns', columns, rowCount: rows.length };
}

function decodeTensors(field: string, payload: unknown): ModelInput {
  if (isRecord(payload)) {
    const tensors: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(payload)) tensors[name] = toTensor(`${field}.${name}`, value);
    return { kind: 'tensors', tensors };
  }
  return { kind: 'tensors', tensors: { [UNNAMED_TENSOR]: toTensor(field, payload) } };
}

/** Flattens a (nested) JSON array into a {@link Tensor}; a scalar is a 0-d tensor. */
function toTensor(where: string, value: unknown): Tensor {
  const shape: number[] = [];
  const data: unknown[] = [];
  let leafDepth: number | undefined;
  const visit = (node: unknown, depth: number): void => {
    if (Array.isArray(node)) {
      if (leafDepth !== undefined && depth >= leafDepth) throw raggedError(where);
      if (depth === shape.length) shape.push(node.length);
      else if (shape[depth] !== node.length) throw raggedError(where);
      for (const child of node) visit(child, depth + 1);
      return;
    }
    if (leafDepth === undefined) leafDepth = depth;
    if (depth !== leafDepth || depth !== shape.length) throw raggedError(where);
    data.push(node);
  };
  visit(value, 0);
  return { data, shape };
}

function raggedError(where: string): KeelError {
  return badRequest(`'${where}' is not a rectangular array: all rows must have the same shape`);
}

const NUMERIC_TYPES: readonly ColumnType[] = ['integer', 'long', 'float', 'double'];

/**
 * Parses a CSV scoring body (`text/csv`, RFC 4180: first line is the header, fields may be quoted
 * with `"`, `""` is a quote inside a quoted field, quoted fields may span lines, CRLF or LF).
 * An empty field is `null`. Values are converted as pandas' `read_csv` would with the signature's
 * dtypes: a column the signature declares numeric (or, without a signature, a column whose every
 * non-empty value is a number) holds numbers; `boolean` columns accept `true`/`false` in any case.
 * A value that does not convert stays a string, so {@link enforceSignature} reports it.
 *
 * @throws BAD_REQUEST for an unterminated quote, a missing header, or a row with the wrong number of
 *   fields (naming the line).
 *
 * @example
 * parseCsvScoringRequest('a,b\n1,"x, y"\n').input
 * // { kind: 'columns', columns: { a: [1], b: ['x, y'] }, rowCount: 1 }
 */
export function parseCsvScoringRequest(text: string, signature?: Signature): ScoringRequest {
  const records = parseCsvRecords(text);
  const header = records.shift()?.fields;
  if (header === undefined) throw badRequest('CSV input has no header line');
  const specs = new Map<string, ColSpec>();
  if (signature?.inputs?.kind === 'columns') {
    for (const spec of signature.inputs.columns) if (spec.name !== undefined) specs.set(spec.name, spec);
  }
  const columns: Record<string, unknown[]> = Object.fromEntries(header.map((n) => [n, []]));
  records.forEach(({ fields, line }) => {
    if (fields.length !== header.length) {
      throw badRequest(`CSV line ${line} has ${fields.length} fields, expected ${header.length}`);
    }
    header.forEach((n, c) => {
      const field = fields[c];
      columns[n]?.push(field === '' || field === undefined ? null : field);
    });
  });
  for (const [name, values] of Object.entries(columns)) {
    const type = specs.get(name)?.type;
    if (type === 'boolean') {
      columns[name] = values.map((v) =>
        typeof v === 'string' && /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v,
      );
    } else if (type !== undefined ? NUMERIC_TYPES.includes(type) : values.every(isNumericOrNull)) {
      columns[name] = values.map((v) => (typeof v === 'string' && isNumericOrNull(v) ? Number(v) : v));
    }
  }
  const rowCount = records.length;
  return { input: { kind: 'columns', columns, rowCount } };
}

function isNumericOrNull(value: unknown): boolean {
  return (
    value === null ||
    (typeof value === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value))
  );
}

/** CSV records with the header included; `line` is the 1-based line where each record starts. */
function parseCsvRecords(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false;
  let fieldStarted = false;
  const endRecord = (): void => {
    fields.push(field);
    // A blank line is skipped, like pandas' skip_blank_lines.
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted))
      records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      fieldStarted = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += ch;
      fieldStarted = true;
    }
    i++;
  }
  if (quoted) throw badRequest(`CSV input has an unterminated quoted field starting on line ${recordLine}`);
  if (field !== '' || fields.length > 0 || fieldStarted) endRecord();
  return records;
}

/**
 * Checks and converts an input against the signature's `inputs`, as MLflow's schema enforcement
 * does before `predict`. Without `signature.inputs` the input is returned unchanged.
 *
 * Column-based signatures:
 * - a missing required column → INVALID_PARAMETER_VALUE naming it; a missing optional column is
 *   left out;
 * - **extra columns are dropped** and the result's columns follow the signature's order (MLflow
 *   ignores inputs not declared in the signature);
 * - `null` is allowed in optional columns and in `float`/`double` columns (pandas' NaN); elsewhere
 *   it is an error naming the column and row;
 * - `integer`/`long` need integral numbers (an integral double such as `3.0` converts; `3.5` does not;
 *   `integer` must fit 32 bits); `float`/`double` take any number (integers convert); `boolean`
 *   needs booleans; `string` needs strings; `binary` takes base64 strings (decoded to `Uint8Array`)
 *   or `Uint8Array`; `datetime` takes ISO strings or `Date` (converted to `Date`);
 * - tensors sent to a column model are accepted when each is 1-D (named like a column), or when a
 *   single unnamed 2-D tensor has one column per ColSpec.
 *
 * Tensor-based signatures:
 * - every tensor of the signature must be present (an unnamed input is given the name of a single
 *   named spec); extra tensors are dropped;
 * - rank must match and every fixed dimension must equal the input's (`-1` matches any size);
 * - values must suit the dtype (integral and in range for ints, numbers for floats, booleans for
 *   `bool`, strings for `str`);
 * - columns sent to a tensor model become one 2-D `[rows, columns]` tensor when the signature has a
 *   single tensor (unnamed, or 2-D and not named like a column), else one 1-D tensor per column;
 * - a bare list of values sent to a one-column model is that column.
 *
 * @throws INVALID_PARAMETER_VALUE naming the column (and row) or tensor.
 *
 * @example
 * enforceSignature({ kind: 'columns', columns: { x: [1, 2] }, rowCount: 2 }, signature)
 */
export function enforceSignature(input: ModelInput, signature: Signature): ModelInput {
  const schema = signature.inputs;
  if (schema === undefined) return input;
  return schema.kind === 'columns' ? enforceColumns(input, schema) : enforceTensors(input, schema);
}

function asColumns(
  input: ModelInput,
  schema: Extract<Schema, { kind: 'columns' }>,
): ModelInput & { kind: 'columns' } {
  if (input.kind === 'columns') return input;
  const entries = Object.entries(input.tensors);
  const [only] = entries;
  if (
    entries.length === 1 &&
    only !== undefined &&
    only[0] === UNNAMED_TENSOR &&
    only[1].shape.length === 2
  ) {
    const [rows = 0, width = 0] = only[1].shape;
    if (width !== schema.columns.length) {
      throw invalidParameter(
        `Model input has ${width} columns per row but the model signature declares ${schema.columns.length}`,
      );
    }
    const columns: Record<string, unknown[]> = {};
    schema.columns.forEach((spec, c) => {
      columns[spec.name ?? String(c)] = Array.from({ length: rows }, (_, r) => only[1].data[r * width + c]);
    });
    return { kind: 'columns', columns, rowCount: rows };
  }
  if (
    entries.length === 1 &&
    only !== undefined &&
    only[0] === UNNAMED_TENSOR &&
    schema.columns.length === 1
  ) {
    // A bare list of values for a one-column model (MLflow feeds it as that column).
    const [spec] = schema.columns;
    const name = spec?.name ?? '0';
    if (only[1].shape.length !== 1) {
      throw invalidParameter(`Input for column '${name}' must be a 1-D list of values`);
    }
    return { kind: 'columns', columns: { [name]: only[1].data }, rowCount: only[1].shape[0] ?? 0 };
  }
  const columns: Record<string, unknown[]> = {};
  let rowCount: number | undefined;
  for (const [name, tensor] of entries) {
    const [length] = tensor.shape;
    if (tensor.shape.length !== 1 || length === undefined) {
      throw invalidParameter(`Input '${name}' must be a 1-D list of values for a column-based model`);
    }
    if (rowCount !== undefined && rowCount !== length) {
      throw invalidParameter(`Input '${name}' has ${length} values but other columns have ${rowCount}`);
    }
    rowCount = length;
    columns[name] = tensor.data;
  }
  return { kind: 'columns', columns, rowCount: rowCount ?? 0 };
}

function enforceColumns(input: ModelInput, schema: Extract<Schema, { kind: 'columns' }>): ModelInput {
  const source = asColumns(input, schema);
  const names = schema.columns.map((spec, c) => spec.name ?? String(c));
  const missing = names.filter(
    (name, c) => schema.columns[c]?.required && source.columns[name] === undefined,
  );
  if (missing.length > 0) {
    const extra = Object.keys(source.columns).filter((k) => !names.includes(k));
    throw invalidParameter(
      `Model is missing inputs [${missing.map((n) => `'${n}'`).join(', ')}]. Note that there were extra inputs: ${JSON.stringify(extra)}`,
    );
  }
  const columns: Record<string, unknown[]> = {};
  schema.columns.forEach((spec, c) => {
    const name = names[c] as string;
    const values = source.columns[name];
    if (values !== undefined) columns[name] = values.map((value, row) => convertCell(name, row, spec, value));
  });
  return { kind: 'columns', columns, rowCount: source.rowCount };
}

function cellError(name: string, row: number, spec: ColSpec, value: unknown, why = ''): KeelError {
  const shown = value === null || value === undefined ? 'null' : JSON.stringify(value)?.slice(0, 100);
  return invalidParameter(
    `Incompatible input types for column '${name}' at row ${row}: expected ${spec.type}, got ${shown}${why}`,
  );
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function convertCell(name: string, row: number, spec: ColSpec, value: unknown): unknown {
  const fail = (why?: string): never => {
    throw cellError(name, row, spec, value, why);
  };
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) {
    if (!spec.required || spec.type === 'float' || spec.type === 'double') return null;
    return fail(' (missing values are not allowed in a required column)');
  }
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? value : fail();
    case 'integer':
    case 'long':
      if (typeof value !== 'number') return fail();
      if (!Number.isInteger(value)) return fail(' (cannot safely convert a non-integral number)');
      if (spec.type === 'integer' && (value < INT32_MIN || value > INT32_MAX))
        return fail(' (out of 32-bit range)');
      return value;
    case 'float':
    case 'double':
      return typeof value === 'number' ? value : fail();
    case 'string':
      return typeof value === 'string' ? value : fail();
    case 'binary':
      if (value instanceof Uint8Array) return value;
      if (typeof value !== 'string') return fail();
      return decodeBase64(value) ?? fail(' (not valid base64)');
    case 'datetime': {
      if (value instanceof Date) return value;
      if (typeof value !== 'string') return fail();
      const date = new Date(value);
      return Number.isNaN(date.getTime()) ? fail(' (not a date)') : date;
    }
    default: {
      const never: never = spec.type;
      return fail(`unknown type ${String(never)}`);
    }
  }
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function asTensors(input: ModelInput, schema: Extract<Schema, { kind: 'tensors' }>): Record<string, Tensor> {
  if (input.kind === 'tensors') {
    const [only] = schema.tensors;
    const names = Object.keys(input.tensors);
    const unnamed = input.tensors[UNNAMED_TENSOR];
    if (
      names.length === 1 &&
      unnamed !== undefined &&
      schema.tensors.length === 1 &&
      only?.name !== undefined
    ) {
      return { [only.name]: unnamed };
    }
    return input.tensors;
  }
  const names = Object.keys(input.columns);
  const [single] = schema.tensors;
  if (
    schema.tensors.length === 1 &&
    single !== undefined &&
    (single.name === undefined || (single.shape.length === 2 && !(single.name in input.columns)))
  ) {
    // A table sent to a model with one tensor input becomes that `[rows, columns]` tensor (as MLflow
    // feeds `DataFrame.to_numpy()`), columns in the order the request gave them.
    const data: unknown[] = [];
    for (let r = 0; r < input.rowCount; r++) for (const n of names) data.push(input.columns[n]?.[r]);
    return { [single.name ?? UNNAMED_TENSOR]: { data, shape: [input.rowCount, names.length] } };
  }
  return Object.fromEntries(names.map((n) => [n, { data: input.columns[n] ?? [], shape: [input.rowCount] }]));
}

function enforceTensors(input: ModelInput, schema: Extract<Schema, { kind: 'tensors' }>): ModelInput {
  const source = asTensors(input, schema);
  const tensors: Record<string, Tensor> = {};
  for (const spec of schema.tensors) {
    const name = spec.name ?? UNNAMED_TENSOR;
    const shown = spec.name ?? 'input';
    const tensor = source[name];
    if (tensor === undefined) throw invalidParameter(`Model is missing input '${shown}'`);
    const fits =
      tensor.shape.length === spec.shape.length &&
      spec.shape.every((d, i) => d === -1 || d === tensor.shape[i]);
    if (!fits) {
      throw invalidParameter(
        `Shape of input '${shown}' does not match the model signature: expected [${spec.shape.join(', ')}], got [${tensor.shape.join(', ')}]`,
      );
    }
    tensor.data.forEach((value, i) => {
      if (!fitsDtype(spec.dtype, value)) {
        throw invalidParameter(
          `Value ${JSON.stringify(value) ?? String(value)} at flat index ${i} of input '${shown}' does not fit dtype ${spec.dtype}`,
        );
      }
    });
    tensors[name] = tensor;
  }
  return { kind: 'tensors', tensors };
}

const INT_RANGES: Partial<Record<TensorDtype, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [INT32_MIN, INT32_MAX],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 2 ** 32 - 1],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

function fitsDtype(dtype: TensorSpec['dtype'], value: unknown): boolean {
  const range = INT_RANGES[dtype];
  if (range !== undefined) {
    return typeof value === 'number' && Number.isInteger(value) && value >= range[0] && value <= range[1];
  }
  switch (dtype) {
    case 'float16':
    case 'float32':
    case 'float64':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'str':
    case 'bytes':
      return typeof value === 'string';
    default:
      return true;
  }
}
