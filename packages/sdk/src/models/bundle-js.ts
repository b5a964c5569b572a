/**
 * Bundles a JavaScript or TypeScript model module into one self-contained ES module (see
 * {@link bundleModule}).
 */
import { bundleModule, type ModuleBundle } from '../bundle-module.js';

/** What {@link bundleJsModule} produced. */
export type JsBundle = ModuleBundle;

/**
 * Bundles `entry` (`.js`, `.mjs`, `.cjs`, `.ts`, `.mts`…) and everything it imports from npm into
 * `outfile`: an ES module for Node 20 whose only imports are Node's built-ins, so it runs from a
 * folder with no `node_modules`.
 *
 * @throws InvalidParameterError with esbuild's first error (file and line) when the module cannot be
 *   bundled; an Error when esbuild itself is not installed.
 * @example
 * const { exports } = await bundleJsModule('src/model.ts', '/tmp/model/code/model.mjs');
 */
export function bundleJsModule(entry: string, outfile: string): Promise<JsBundle> {
  return bundleModule(entry, outfile, { label: 'the model module', purpose: "Logging a 'js' model" });
}
