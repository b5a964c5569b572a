/**
 * Writes a model directory in MLflow's layout: `MLmodel`, the flavor's files and the input example.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  enforceSignature,
  KEEL_VERSION,
  type MLmodel,
  type Signature,
  serializeMLmodel,
  serializeSignature,
} from '@keel/core';
import { inferSignatureFromExample } from './infer-signature.js';
import {
  type EncodedInputExample,
  encodeInputExample,
  INPUT_EXAMPLE_FILE,
  SERVING_INPUT_EXAMPLE_FILE,
} from './input-example.js';
import { type JsFlavorOptions, writeJsFlavor } from './js-flavor.js';
import { type FlavorFiles, type OnnxFlavorOptions, writeOnnxFlavor } from './onnx-flavor.js';
import { type ProcessFlavorOptions, writeProcessFlavor } from './process-flavor.js';
import { invalidOption, toSdkError } from './sdk-error.js';

/** The model's metadata file. */
export const MLMODEL_FILE = 'MLmodel';

/** Files every model directory may hold besides the flavor's own. */
const RESERVED_FILES = [
  MLMODEL_FILE,
  INPUT_EXAMPLE_FILE,
  SERVING_INPUT_EXAMPLE_FILE,
  'registered_model_meta',
];

/** Options every flavor shares. */
export interface ModelSaveCommonOptions {
  /**
   * What the model takes and returns (see `inferSignatureFromExample`).
   * @default for `onnx`, read from the graph (column inputs when the input example is rows or
   * columns); for the others, inferred from `inputExample`; none without one
   */
  signature?: Signature;
  /**
   * An example input, stored as `input_example.json` and `serving_input_example.json`: rows,
   * columns, nested arrays or typed arrays (see `PredictInput`). Checked against the signature.
   * @default none
   */
  inputExample?: unknown;
  /** Free-form metadata, stored as `MLmodel`'s `metadata`. @default none */
  metadata?: Readonly<Record<string, unknown>>;
}

/**
 * Options of {@link saveModel}: the flavor with its source, plus the shared options.
 *
 * @example
 * { flavor: 'onnx', onnx: exportMlp({ layers }), inputExample: [[0.1, 0.2, 0.3]] }
 * { flavor: 'js', module: 'src/model.ts', data: 'weights/' }
 * { flavor: 'process', path: 'predictor/', command: ['python3', 'serve.py'] }
 */
export type SaveModelOptions = (OnnxFlavorOptions | JsFlavorOptions | ProcessFlavorOptions) &
  ModelSaveCommonOptions;

/** The flavors {@link saveModel} writes. */
export const SAVE_MODEL_FLAVORS = ['onnx', 'js', 'process'] as const;

/** What {@link saveModel} wrote. */
export interface SavedModel {
  /** The model directory (absolute). */
  path: string;
  /** The `MLmodel` as written. */
  mlmodel: MLmodel;
  /** The signature recorded, when there is one. */
  signature: Signature | undefined;
}

/** Where a logged model lives; written into `MLmodel` by `logModel`. */
export interface ModelRecordFields {
  runId?: string;
  artifactPath?: string;
}

/**
 * Writes a complete model directory at `dir` (created; it must not exist or be empty), readable by
 * Keel's loaders and by MLflow's tooling:
 *
 * - `MLmodel`: `flavors`, `model_uuid` (32 hex), `utc_time_created` (MLflow's naive UTC format,
 *   `2024-05-01 12:00:00.123000`), `keel_version`, and when present `signature`,
 *   `saved_input_example_info` and `metadata`;
 * - the flavor's files: `onnx` → `model.onnx` (+ a `python_function` entry for `mlflow.onnx` and a
 *   `requirements.txt`); `js` → `code/model.mjs`, the module bundled with its npm dependencies
 *   (Node built-ins stay imports), and `data/`; `process` → the program folder's contents;
 * - `input_example.json` and `serving_input_example.json` when `inputExample` is given.
 *
 * Copied folders never reach outside themselves (links leading out are refused). On failure the
 * directory is removed again (emptied, if it existed before the call).
 *
 * @throws InvalidParameterError for bad options, an unreadable or invalid source, an input example
 *   that does not fit the signature, or a non-empty `dir`.
 * @example
 * const { path, mlmodel } = await saveModel('out/model', {
 *   flavor: 'onnx',
 *   onnx: exportLinearModel({ weights, bias, activation: 'softmax' }),
 *   inputExample: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }],
 * });
 */
export function saveModel(dir: string, options: SaveModelOptions): Promise<SavedModel> {
  return writeModel(dir, options, {});
}

/** {@link saveModel} that also records where the model is logged (`run_id`, `artifact_path`). */
export async function writeModel(
  dir: string,
  options: SaveModelOptions,
  record: ModelRecordFields,
): Promise<SavedModel> {
  const path = resolve(dir);
  const existing = await readdir(path).catch((error: NodeJS.ErrnoException) =>
    error.code === 'ENOENT' ? undefined : Promise.reject(error),
  );
  if (existing !== undefined && existing.length > 0) {
    throw invalidOption(`Cannot save a model to '${path}': the directory exists and is not empty`);
  }
  await mkdir(path, { recursive: true });
  try {
    return await writeInto(path, options, record);
  } catch (error) {
    // Leave things as they were: a folder this call created goes, one that was there stays empty.
    if (existing === undefined) await rm(path, { recursive: true, force: true });
    else for (const name of await readdir(path)) await rm(join(path, name), { recursive: true, force: true });
    throw error;
  }
}

async function writeInto(
  path: string,
  options: SaveModelOptions,
  record: ModelRecordFields,
): Promise<SavedModel> {
  const example =
    options.inputExample === undefined || options.inputExample === null
      ? undefined
      : encodeInputExample(options.inputExample);
  const files = await writeFlavor(path, options);
  let signature = options.signature ?? files.signature;
  if (signature === undefined && example !== undefined) {
    signature = inferSignatureFromExample(options.inputExample);
  }
  if (example !== undefined && signature?.inputs !== undefined) checkExample(example, signature);
  if (example !== undefined) {
    await writeFile(join(path, INPUT_EXAMPLE_FILE), example.example);
    await writeFile(join(path, SERVING_INPUT_EXAMPLE_FILE), example.servingInput);
  }
  const mlmodel: MLmodel = {
    ...(record.artifactPath === undefined ? {} : { artifact_path: record.artifactPath }),
    ...(record.runId === undefined ? {} : { run_id: record.runId }),
    flavors: files.flavors,
    model_uuid: randomUUID().replaceAll('-', ''),
    utc_time_created: mlflowUtcTime(new Date()),
    keel_version: KEEL_VERSION,
    ...(signature === undefined ? {} : { signature: serializeSignature(signature) }),
    ...(example === undefined ? {} : { saved_input_example_info: example.info }),
    ...(options.metadata === undefined ? {} : { metadata: { ...options.metadata } }),
  };
  await writeFile(join(path, MLMODEL_FILE), serializeMLmodel(mlmodel));
  return { path, mlmodel, signature };
}

function writeFlavor(path: string, options: SaveModelOptions): Promise<FlavorFiles> {
  switch (options.flavor) {
    case 'onnx':
      // With a signature given, the example is not needed to work one out (nor checked for it).
      return writeOnnxFlavor(path, options, options.signature ? undefined : options.inputExample);
    case 'js':
      return writeJsFlavor(path, options);
    case 'process':
      return writeProcessFlavor(path, options, RESERVED_FILES);
    default: {
      // Reached from JavaScript callers only: the types admit no other flavor.
      const unknown: never = options;
      throw invalidOption(
        `Unknown model flavor ${JSON.stringify((unknown as { flavor?: unknown }).flavor)}: expected one of ${SAVE_MODEL_FLAVORS.join(', ')}`,
      );
    }
  }
}

function checkExample(example: EncodedInputExample, signature: Signature): void {
  try {
    enforceSignature(example.input, signature);
  } catch (error) {
    const reason = (toSdkError(error) as Error).message;
    throw invalidOption(`The input example does not fit the model's signature: ${reason}`);
  }
}

/**
 * A date as MLflow writes `utc_time_created` (`str(datetime.utcnow())`): naive UTC with microseconds.
 * @example mlflowUtcTime(new Date('2024-05-01T12:00:00.123Z')); // '2024-05-01 12:00:00.123000'
 */
export function mlflowUtcTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`;
}
