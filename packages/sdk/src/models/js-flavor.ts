/**
 * The `js` flavor: a JavaScript or TypeScript module bundled with its npm dependencies into
 * `code/model.mjs`, plus an optional `data/` folder. The server's loader imports the bundle, calls
 * its optional `load(context)` once and `predict(input, params, state)` per request.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KEEL_VERSION } from '@keel/core';
import { bundleJsModule } from './bundle-js.js';
import { copyTree } from './copy-tree.js';
import type { FlavorFiles } from './onnx-flavor.js';
import { invalidOption } from './sdk-error.js';

/**
 * Where a `js` model comes from: a module exporting `predict(input, params, state)` and, optionally,
 * `load(context)` (whose result is the `state` passed to `predict`).
 * @example { flavor: 'js', module: 'src/churn-model.ts', data: 'artifacts/' }
 */
export interface JsFlavorOptions {
  flavor: 'js';
  /** Path of the module (`.js`, `.mjs`, `.cjs`, `.ts`, `.mts`…); bundled with everything it imports. */
  module: string;
  /** A folder copied to `data/` (weights, vocabularies…); `load()` is told where it is. @default none */
  data?: string;
}

/** The bundle, relative to the model directory. */
export const JS_ENTRY_FILE = 'code/model.mjs';
/** The data folder, relative to the model directory. */
export const JS_DATA_DIR = 'data';

/**
 * Bundles the module into `<dir>/code/model.mjs`, copies `data` into `<dir>/data` and returns the
 * `js` flavor entry: `{ entry: 'code/model.mjs', data?: 'data', keel_version }`. No signature is
 * worked out here (a module does not declare one): it comes from the options or the input example.
 *
 * @throws InvalidParameterError when the module cannot be bundled or exports neither `predict` nor
 *   (CommonJS) a `default`,
 *   or the data folder cannot be copied safely.
 */
export async function writeJsFlavor(dir: string, options: JsFlavorOptions): Promise<FlavorFiles> {
  if (typeof options.module !== 'string' || options.module === '') {
    throw invalidOption("A 'js' model needs 'module': the path of a module exporting predict()");
  }
  const info = await stat(options.module).catch(() => undefined);
  if (!info?.isFile()) throw invalidOption(`The model module '${options.module}' is not a file`);
  const bundle = await bundleJsModule(options.module, join(dir, ...JS_ENTRY_FILE.split('/')));
  // A CommonJS module comes out of esbuild as one `default` export holding its functions.
  if (!bundle.exports.includes('predict') && !bundle.exports.includes('default')) {
    throw invalidOption(
      `The model module '${options.module}' must export a predict(input, params, state) function; it exports [${bundle.exports.join(', ')}]`,
    );
  }
  if (options.data !== undefined) {
    await copyTree(options.data, join(dir, JS_DATA_DIR), { label: 'the data directory' });
  }
  return {
    flavors: {
      js: {
        entry: JS_ENTRY_FILE,
        ...(options.data === undefined ? {} : { data: JS_DATA_DIR }),
        keel_version: KEEL_VERSION,
      },
    },
    signature: undefined,
  };
}
