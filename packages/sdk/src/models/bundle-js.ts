/**
 * Bundles a JavaScript or TypeScript model module into one self-contained ES module with esbuild,
 * imported lazily so that programs which never log a `js` model never load it.
 */
import { relative } from 'node:path';
import type { BuildFailure, BuildResult } from 'esbuild';
import { invalidOption } from './sdk-error.js';

/** What {@link bundleJsModule} produced. */
export interface JsBundle {
  /** The bundle's path, as given. */
  outfile: string;
  /** Names the bundle exports, e.g. `['load', 'predict']`. */
  exports: string[];
  /** Bytes written. */
  bytes: number;
}

/**
 * Bundled CommonJS code calls `require` for Node's built-ins; an ES module has none, so the bundle
 * makes one. esbuild renames a module's own top-level `require` rather than collide with it.
 */
const REQUIRE_SHIM =
  "import { createRequire as __keelCreateRequire } from 'node:module';\nconst require = __keelCreateRequire(import.meta.url);";

/**
 * Bundles `entry` (`.js`, `.mjs`, `.cjs`, `.ts`, `.mts`…) and everything it imports from npm into
 * `outfile`: an ES module for Node 20 (`platform: node`, `format: esm`, `target: node20`) whose only
 * imports are Node's built-ins, so it runs from a folder with no `node_modules`. Packages are
 * resolved from `entry`'s folder upwards, as Node would.
 *
 * @throws InvalidParameterError with esbuild's first error (file and line) when the module cannot be
 *   bundled (a syntax error, a missing package, a native `.node` addon); an Error when esbuild itself
 *   is not installed.
 * @example
 * const { exports } = await bundleJsModule('src/model.ts', '/tmp/model/code/model.mjs');
 */
export async function bundleJsModule(entry: string, outfile: string): Promise<JsBundle> {
  const esbuild = await loadEsbuild();
  let result: BuildResult<{ metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      metafile: true,
      write: true,
      logLevel: 'silent',
      legalComments: 'eof',
      banner: { js: REQUIRE_SHIM },
    });
  } catch (error) {
    throw invalidOption(`Cannot bundle the model module '${entry}': ${describeFailure(error)}`);
  }
  const outputs = Object.entries(result.metafile.outputs);
  const wanted = relative(process.cwd(), outfile).split('\\').join('/');
  const [, output] = outputs.find(([path]) => path === wanted) ?? outputs[0] ?? [];
  return { outfile, exports: output?.exports ?? [], bytes: output?.bytes ?? 0 };
}

async function loadEsbuild(): Promise<typeof import('esbuild')> {
  try {
    return await import('esbuild');
  } catch (error) {
    throw new Error(
      "Logging a 'js' model bundles its module with esbuild, which could not be loaded: install it with `npm install esbuild`",
      { cause: error },
    );
  }
}

function describeFailure(error: unknown): string {
  const [first] = (error as Partial<BuildFailure>).errors ?? [];
  if (first === undefined) return error instanceof Error ? error.message : String(error);
  const where = first.location
    ? ` (${first.location.file}:${first.location.line}:${first.location.column})`
    : '';
  return `${first.text}${where}`;
}
