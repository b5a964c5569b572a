/**
 * Input examples as MLflow stores them in a model directory (`mlflow/models/utils.py`, `_Example`):
 * `input_example.json` (the example itself) and `serving_input_example.json` (a request body for
 * `POST /invocations`), described by `MLmodel`'s `saved_input_example_info`.
 */
import { decodeScoringRequest, type ModelInput, type SavedInputExampleInfo } from '@keel/core';
import { classifyInput, type InputForm, plainNdarray } from './model-io.js';
import { invalidOption, toSdkError } from './sdk-error.js';

/** The file holding the example, relative to the model directory. */
export const INPUT_EXAMPLE_FILE = 'input_example.json';
/** The file holding the example as a scoring request, relative to the model directory. */
export const SERVING_INPUT_EXAMPLE_FILE = 'serving_input_example.json';

/** An input example ready to be written into a model directory. */
export interface EncodedInputExample {
  /** `saved_input_example_info` for `MLmodel`. */
  info: SavedInputExampleInfo;
  /** Text of {@link INPUT_EXAMPLE_FILE}. */
  example: string;
  /** Text of {@link SERVING_INPUT_EXAMPLE_FILE}. */
  servingInput: string;
  /** What a scoring server decodes the serving example to (for checking it against a signature). */
  input: ModelInput;
}

/**
 * Encodes an input example the way MLflow's `_Example` does:
 *
 * - rows or columns (a data frame): `input_example.json` is pandas' split orient without the index,
 *   `{"columns": […], "data": [[…], …]}`; `type: dataframe`, `pandas_orient: split`; the serving
 *   example is `{"dataframe_split": …}`;
 * - nested numbers or typed arrays (an ndarray), or an object of them: the nested list (or object of
 *   lists) as is; `type: ndarray`; the serving example is `{"inputs": …}`;
 * - anything else (a list of strings, a scalar): the value as is; `type: json_object`; the serving
 *   example is `{"inputs": …}`.
 *
 * `input_example.json` is written like Python's `json.dumps` (`", "` and `": "` separators),
 * `serving_input_example.json` like `json.dumps(…, indent=2)`, both ASCII-only. Dates become ISO
 * strings, byte arrays base64, NaN and ±Infinity `null` (as MLflow writes missing values).
 *
 * @throws InvalidParameterError when the example has no rows or its columns differ in length.
 * @example
 * encodeInputExample([{ x: 1.5, y: 'a' }]).example; // '{"columns": ["x", "y"], "data": [[1.5, "a"]]}'
 */
export function encodeInputExample(example: unknown): EncodedInputExample {
  if (example === undefined || example === null) throw invalidOption('The input example is empty');
  let form: InputForm;
  try {
    form = classifyInput(example);
  } catch (error) {
    throw invalidOption(`Invalid input example: ${(error as Error).message}`);
  }
  let stored: unknown;
  let serving: Record<string, unknown>;
  const info: SavedInputExampleInfo = { artifact_path: INPUT_EXAMPLE_FILE };
  switch (form.form) {
    case 'dataframe': {
      const names = Object.keys(form.columns);
      if (form.rowCount === 0) throw invalidOption('The input example has no rows');
      const data = Array.from({ length: form.rowCount }, (_, r) =>
        names.map((n) => toJsonValue(form.columns[n]?.[r])),
      );
      stored = { columns: names, data };
      serving = { dataframe_split: stored };
      Object.assign(info, { type: 'dataframe', pandas_orient: 'split' });
      break;
    }
    case 'ndarray':
      stored = toJsonValue(plainNdarray(form.value));
      serving = { inputs: stored };
      info.type = 'ndarray';
      break;
    case 'json':
      stored = toJsonValue(form.value);
      serving = { inputs: stored };
      info.type = 'json_object';
      break;
    default: {
      const never: never = form;
      throw new TypeError(`unknown input form ${String(never)}`);
    }
  }
  info.serving_input_path = SERVING_INPUT_EXAMPLE_FILE;
  let input: ModelInput;
  try {
    input = decodeScoringRequest(serving).input;
  } catch (error) {
    const sdkError = toSdkError(error);
    throw invalidOption(`Invalid input example: ${(sdkError as Error).message}`);
  }
  return {
    info,
    example: pythonJsonDumps(stored),
    servingInput: asciiOnly(JSON.stringify(serving, null, 2)),
    input,
  };
}

/** A value as JSON sees it: dates as ISO strings, bytes as base64, typed arrays as lists. */
function toJsonValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  // Bytes in a column (MLflow's `binary`); ndarrays reach here with their typed arrays already lists.
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, Number);
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return value;
}

/** `json.dumps(value)` with Python's defaults: `", "` and `": "` separators, ASCII only. */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${asciiOnly(JSON.stringify(k))}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  return asciiOnly(JSON.stringify(value ?? null));
}

/** Escapes every non-ASCII character as `\uXXXX`, as Python's `ensure_ascii` does. */
function asciiOnly(json: string): string {
  return json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
