/**
 * Bundles a JavaScript or TypeScript module into one self-contained ES module with esbuild,
 * imported lazily so that programs which never bundle never load it. Shared by `js` models and
 * workflow code packages.
 */
import { relative } from 'node:path';
import type { BuildFailure, BuildResult } from 'esbuild';
import { invalidOption } from './models/sdk-error.js';

/** What {@link bundleModule} produced. */
export interface ModuleBundle {
  /** The bundle's path, as given. */
  outfile: string;
  /** Names the bundle exports, e.g. `['load', 'predict']`. */
  exports: string[];
  /** Bytes written. */
  bytes: number;
}

/** Options of {@link bundleModule}. */
export interface BundleModuleOptions {
  /** What is bundled, for messages, e.g. `the model module`. */
  label: string;
  /** What bundles, for the message when esbuild is missing, e.g. `Logging a 'js' model`. */
  purpose: string;
  /** Packages (and their subpaths) left out of the bundle, imported where it runs. @default none */
  external?: readonly string[];
  /** Extra `package.json` export conditions to resolve with. @default none */
  conditions?: readonly string[];
  /**
   * The folder the bundle's source comments (`// src/model.ts`) are relative to: a fixed one makes
   * the bundle's bytes independent of where the program runs. @default the current directory
   */
  workingDir?: string;
}

/**
 * Bundled CommonJS code calls `require` for Node's built-ins; an ES module has none, so the bundle
 * makes one. esbuild renames a module's own top-level `require` rather than collide with it.
 */
const REQUIRE_SHIM =
  "import { createRequire as __keelCreateRequire } from 'node:module';\nconst require = __keelCreateRequire(import.meta.url);";

/**
 * Bundles `entry` (`.js`, `.mjs`, `.cjs`, `.ts`, `.mts`…) and everything it imports from npm
 * (except `options.external`) into `outfile`: an ES module for Node 20 (`platform: node`,
 * `format: esm`, `target: node20`) whose only other imports are Node's built-ins, so it runs from
 * a folder with no `node_modules`. Packages are resolved from `entry`'s folder upwards, as Node would.
 *
 * @throws InvalidParameterError with esbuild's first error (file and line) when the module cannot be
 *   bundled (a syntax error, a missing package, a native `.node` addon); an Error when esbuild itself
 *   is not installed.
 * @example
 * await bundleModule('src/model.ts', '/tmp/model/code/model.mjs', { label: 'the model module', purpose: "Logging a 'js' model" });
 */
export async function bundleModule(
  entry: string,
  outfile: string,
  options: BundleModuleOptions,
): Promise<ModuleBundle> {
  const esbuild = await loadEsbuild(options.purpose);
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
      ...(options.external === undefined ? {} : { external: [...options.external] }),
      ...(options.conditions === undefined ? {} : { conditions: [...options.conditions] }),
      ...(options.workingDir === undefined ? {} : { absWorkingDir: options.workingDir }),
    });
  } catch (error) {
    throw invalidOption(`Cannot bundle ${options.label} '${entry}': ${describeFailure(error)}`);
  }
  const outputs = Object.entries(result.metafile.outputs);
  const wanted = relative(options.workingDir ?? process.cwd(), outfile)
    .split('\\')
    .join('/');
  const [, output] = outputs.find(([path]) => path === wanted) ?? outputs[0] ?? [];
  return { outfile, exports: output?.exports ?? [], bytes: output?.bytes ?? 0 };
}

async function loadEsbuild(purpose: string): Promise<typeof import('esbuild')> {
  try {
    return await import('esbuild');
  } catch (error) {
    throw new Error(
      `${purpose} bundles its module with esbuild, which could not be loaded: install it with \`npm install esbuild\``,
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
