/**
 * Loads a model directory: reads `MLmodel` and hands the directory to the loader of its flavor.
 * The one place that knows which flavors exist.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { invalidParameter, type MLmodel, parseMLmodel } from '@keel/core';
import { JsModel, type JsModelOptions } from './js/js-model.js';
import type { Model } from './model.js';
import { OnnxModel, type OnnxModelOptions } from './onnx/onnx-model.js';
import { ProcessModel, type ProcessModelOptions } from './process/process-model.js';

/**
 * Options of {@link loadModelFromDirectory}; each flavor reads the ones it uses (`workers` defaults
 * to min(2, cores) for onnx and to 1 for js).
 */
export interface LoadModelOptions extends OnnxModelOptions, JsModelOptions, ProcessModelOptions {}

/** Loads one flavor from a directory whose `MLmodel` is already parsed. */
export type FlavorLoader = (dir: string, mlmodel: MLmodel, options: LoadModelOptions) => Promise<Model>;

/** Flavors Keel serves, in order of preference when an `MLmodel` lists several. */
export const FLAVOR_LOADERS: Readonly<Record<string, FlavorLoader>> = Object.freeze({
  onnx: (dir, mlmodel, options) => OnnxModel.load(dir, mlmodel, options),
  js: (dir, mlmodel, options) => JsModel.load(dir, mlmodel, options),
  process: (dir, mlmodel, options) => ProcessModel.load(dir, mlmodel, options),
});

/** Names of the flavors {@link loadModelFromDirectory} can load. */
export const SUPPORTED_FLAVORS: readonly string[] = Object.freeze(Object.keys(FLAVOR_LOADERS));

/**
 * Reads `<dir>/MLmodel` and loads the model with the first supported flavor it lists.
 *
 * @throws INVALID_PARAMETER_VALUE when `MLmodel` is missing or invalid, or when none of its flavors is
 *   supported (listing the supported ones), plus whatever the flavor's loader throws.
 *
 * @example
 * const model = await loadModelFromDirectory('/tmp/model', { workers: 2 });
 * const output = await model.predict(input);
 * await model.close();
 */
export async function loadModelFromDirectory(dir: string, options: LoadModelOptions = {}): Promise<Model> {
  let text: string;
  try {
    text = await readFile(join(dir, 'MLmodel'), 'utf8');
  } catch (error) {
    throw invalidParameter(`Cannot read ${join(dir, 'MLmodel')}: ${(error as Error).message}`);
  }
  const mlmodel = parseMLmodel(text);
  const flavor = SUPPORTED_FLAVORS.find((name) => name in mlmodel.flavors);
  const loader = flavor === undefined ? undefined : FLAVOR_LOADERS[flavor];
  if (loader === undefined) {
    const found = Object.keys(mlmodel.flavors);
    throw invalidParameter(
      `Model in ${dir} has no supported flavor: found [${found.join(', ')}], supported: [${SUPPORTED_FLAVORS.join(', ')}]`,
    );
  }
  const model = await loader(dir, mlmodel, options);
  const example = await readServingInputExample(dir, mlmodel);
  if (example !== undefined) model.metadata.servingInputExample = example;
  return model;
}

/**
 * The body stored as the model's serving input example (`saved_input_example_info.serving_input_path`,
 * MLflow's `serving_input_example.json`); `undefined` when there is none or it is not JSON. The path
 * must stay inside the model directory.
 */
async function readServingInputExample(dir: string, mlmodel: MLmodel): Promise<unknown> {
  const path = mlmodel.saved_input_example_info?.serving_input_path;
  if (typeof path !== 'string' || path === '' || isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
    return undefined;
  }
  try {
    return JSON.parse(await readFile(join(dir, path), 'utf8'));
  } catch {
    return undefined;
  }
}
