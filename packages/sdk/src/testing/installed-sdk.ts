import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const PACKAGES = {
  core: fileURLToPath(new URL('../../../core/src', import.meta.url)),
  sdk: fileURLToPath(new URL('..', import.meta.url)),
} as const;

/**
 * Installs `@keel/core` and `@keel/sdk`, transpiled from their current sources, into
 * `<root>/node_modules`, so that a plain `node script.mjs` run in `root` imports `@keel/sdk`
 * exactly as a user's program does (tests run real child processes against it). Types are
 * erased, nothing is type-checked; test files and `testing/` are left out.
 */
export function installSdk(root: string): void {
  for (const [name, source] of Object.entries(PACKAGES)) {
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
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}
