/**
 * The `onnx` flavor as `mlflow.onnx.save_model` writes it: `model.onnx`, an `onnx` flavor entry and a
 * `python_function` entry (`loader_module: mlflow.onnx`), so MLflow's tooling loads the directory too.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ColSpec,
  type FlavorConfig,
  type Schema,
  type Signature,
  TENSOR_DTYPES,
  type TensorDtype,
  type TensorSpec,
} from '@keel/core';
import { type OnnxModelInfo, type OnnxTensorInfo, onnxModelInfo } from '../onnx/onnx-model-info.js';
import { inferSignatureFromExample } from './infer-signature.js';
import { invalidOption, toSdkError } from './sdk-error.js';

/**
 * Where an `onnx` model comes from: a `.onnx` file (`path`) or its bytes (`onnx`, e.g. from
 * `exportMlp`); exactly one of them.
 * @example { flavor: 'onnx', onnx: exportMlp({ layers }) }
 */
export interface OnnxFlavorOptions {
  flavor: 'onnx';
  /** A `.onnx` file to copy in. */
  path?: string;
  /** The model's bytes. */
  onnx?: Uint8Array;
}

/** The model file inside the directory, as MLflow names it. */
export const ONNX_MODEL_FILE = 'model.onnx';

/** What a flavor writer adds to a model directory. */
export interface FlavorFiles {
  /** Flavor name → config for `MLmodel`. */
  flavors: Record<string, FlavorConfig>;
  /** The signature to record when the caller gave none (and it could be worked out). */
  signature: Signature | undefined;
}

/**
 * ONNX releases by the default-domain opset they introduced (ONNX's `docs/Versioning.md`):
 * `onnx_version` records the first release that reads the model.
 */
const ONNX_RELEASE_BY_OPSET: Readonly<Record<number, string>> = {
  1: '1.0',
  5: '1.1',
  6: '1.1.2',
  7: '1.2',
  8: '1.3',
  9: '1.4.1',
  10: '1.5.0',
  11: '1.6.0',
  12: '1.7.0',
  13: '1.8.0',
  14: '1.9.0',
  15: '1.10.0',
  16: '1.11.0',
  17: '1.12.0',
  18: '1.13.0',
  19: '1.14.0',
  20: '1.15.0',
  21: '1.16.0',
};

/** The Python packages MLflow's `python_function` loader needs for this flavor (`requirements.txt`). */
const PYTHON_REQUIREMENTS = 'mlflow\nonnx\nonnxruntime\n';

/**
 * Writes `model.onnx` and `requirements.txt` into `dir` and returns the `onnx` and `python_function`
 * flavor entries, plus the signature to use when none is given: tensor specs read from the graph
 * (dtype, shape with -1 for symbolic dimensions, names), except that a column-shaped `inputExample`
 * (rows or columns) gives column inputs, integer columns widened to `double` when the graph takes
 * floats.
 *
 * @throws InvalidParameterError when neither or both sources are given, or the bytes are not ONNX.
 */
export async function writeOnnxFlavor(
  dir: string,
  options: OnnxFlavorOptions,
  inputExample: unknown,
): Promise<FlavorFiles> {
  if ((options.path === undefined) === (options.onnx === undefined)) {
    throw invalidOption("An 'onnx' model needs exactly one of 'path' (a .onnx file) or 'onnx' (its bytes)");
  }
  let bytes: Uint8Array;
  if (options.onnx !== undefined) {
    bytes = options.onnx;
  } else {
    const path = options.path as string;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw invalidOption(`Cannot read the ONNX model '${path}': ${(error as Error).message}`);
    }
  }
  let info: OnnxModelInfo;
  try {
    info = onnxModelInfo(bytes);
  } catch (error) {
    throw toSdkError(error);
  }
  await writeFile(join(dir, ONNX_MODEL_FILE), bytes);
  await writeFile(join(dir, 'requirements.txt'), PYTHON_REQUIREMENTS);
  const opset = info.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
  const onnxVersion = opset === undefined ? undefined : releaseFor(opset);
  return {
    flavors: {
      onnx: {
        ...(onnxVersion === undefined ? {} : { onnx_version: onnxVersion }),
        data: ONNX_MODEL_FILE,
        providers: ['CPUExecutionProvider'],
      },
      python_function: { loader_module: 'mlflow.onnx', data: ONNX_MODEL_FILE },
    },
    signature: onnxSignature(info, inputExample),
  };
}

function releaseFor(opset: number): string | undefined {
  let release: string | undefined;
  for (const [introduced, name] of Object.entries(ONNX_RELEASE_BY_OPSET)) {
    if (Number(introduced) <= opset) release = name;
  }
  return opset > 21 ? undefined : release;
}

/** A tensor schema for graph values, or `undefined` when one has no tensor type or rank. */
function tensorSchema(values: readonly OnnxTensorInfo[]): Schema | undefined {
  if (values.length === 0) return undefined;
  const tensors: TensorSpec[] = [];
  for (const value of values) {
    if (value.shape === undefined || !(TENSOR_DTYPES as readonly string[]).includes(value.dtype))
      return undefined;
    tensors.push({
      type: 'tensor',
      dtype: value.dtype as TensorDtype,
      shape: [...value.shape],
      name: value.name,
    });
  }
  return { kind: 'tensors', tensors };
}

/**
 * The signature read from an ONNX graph; with a column-shaped input example, its columns as the
 * inputs (see {@link writeOnnxFlavor}).
 * @example onnxSignature(onnxModelInfo(bytes), undefined).inputs; // { kind: 'tensors', tensors: [{ dtype: 'float32', shape: [-1, 4], name: 'input' … }] }
 */
export function onnxSignature(info: OnnxModelInfo, inputExample: unknown): Signature | undefined {
  let inputs = tensorSchema(info.inputs);
  const outputs = tensorSchema(info.outputs);
  if (inputExample !== undefined && inputExample !== null) {
    const inferred = inferSignatureFromExample(inputExample).inputs;
    if (inferred?.kind === 'columns') inputs = widenColumns(inferred, info.inputs);
    else inputs ??= inferred;
  }
  if (inputs === undefined && outputs === undefined) return undefined;
  return { ...(inputs ? { inputs } : {}), ...(outputs ? { outputs } : {}) };
}

/**
 * A JS number that happens to be integral is inferred as `long`; a graph that takes floats means the
 * column holds real numbers (pandas would have said float64), so such columns become `double`.
 */
function widenColumns(
  schema: Extract<Schema, { kind: 'columns' }>,
  graphInputs: readonly OnnxTensorInfo[],
): Schema {
  const isFloat = (dtype: string | undefined) => dtype?.startsWith('float') === true;
  const single = graphInputs.length === 1 ? graphInputs[0] : undefined;
  const columns = schema.columns.map((spec): ColSpec => {
    if (spec.type !== 'long' && spec.type !== 'integer') return spec;
    const target = single ?? graphInputs.find((g) => g.name === spec.name);
    return isFloat(target?.dtype) ? { ...spec, type: 'double' } : spec;
  });
  return { kind: 'columns', columns };
}
