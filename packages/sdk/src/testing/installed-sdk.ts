import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const PACKAGES = {
  core: fileURLToPath(new URL('../../../core/src', import.meta.url)),
  sdk: fileURLToPath(new URL('..', import.meta.url)),
} as const;

/** `@keel/server`'s sources: the model runtime `loadModel` imports, installed on request. */
const SERVER_SOURCE = fileURLToPath(new URL('../../../server/src', import.meta.url));

/** Options of {@link installSdk}. */
export interface InstallSdkOptions {
  /**
   * Also install `@keel/server` (the SDK's optional peer dependency), so that `loadModel` can load
   * models in the installed program.
   * @default false
   */
  server?: boolean;
}

/** The repository's installed packages, where the SDK's and core's own dependencies live. */
const REPO_NODE_MODULES = fileURLToPath(new URL('../../../../node_modules', import.meta.url));

/**
 * Installs `@keel/core` and `@keel/sdk` (and, with `server: true`, `@keel/server`), transpiled from
 * their current sources, into `<root>/node_modules`, so that a plain `node script.mjs` run in `root`
 * imports `@keel/sdk` exactly as a user's program does (tests run real child processes against it).
 * Types are erased, nothing is type-checked; test files and `testing/` are left out.
 *
 * @example installSdk(dir, { server: true }); // `loadModel` works in programs run in `dir`
 */
export function installSdk(root: string, options: InstallSdkOptions = {}): void {
  const packages = options.server ? { ...PACKAGES, server: SERVER_SOURCE } : PACKAGES;
  for (const [name, source] of Object.entries(packages)) {
    const target = join(root, 'node_modules', '@keel', name);
    for (const file of sourceFiles(source)) {
      const output = ts.transpileModule(readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
      });
      const out = join(target, relative(source, file).replace(/\.ts$/, '.js'));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, output.outputText);
    }
    writeFileSync(
      join(target, 'package.json'),
      JSON.stringify({ name: `@keel/${name}`, type: 'module', exports: './index.js' }),
    );
    linkDependencies(join(source, '..', 'package.json'), join(root, 'node_modules'));
  }
}

/** Links a package's declared third-party dependencies (e.g. `yaml`, `protobufjs`) from the repository. */
function linkDependencies(packageJson: string, nodeModules: string): void {
  const { dependencies = {} } = JSON.parse(readFileSync(packageJson, 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const dependency of Object.keys(dependencies)) {
    if (dependency.startsWith('@keel/')) continue;
    const link = join(nodeModules, dependency);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(REPO_NODE_MODULES, dependency), link, 'dir');
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}
