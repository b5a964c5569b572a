import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installSdk } from './testing/installed-sdk.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

/**
 * The `ts` code blocks of docs/sdk.md, docs/registry.md, docs/models.md and docs/deployments.md:
 * each is a complete module that must type-check and run. A block of any language whose first line
 * is `// file: <path>` or `# file: <path>` is a file the examples use (a model's module, its
 * weights, a Python program): it is written to `<path>` in the folder the examples run in, before
 * any runs, and type-checked when it is `ts`.
 */
const DOCS = ['sdk.md', 'registry.md', 'models.md', 'deployments.md'].map((name) =>
  fileURLToPath(new URL(`../../../docs/${name}`, import.meta.url)),
);
const SDK_SOURCE = fileURLToPath(new URL('./index.ts', import.meta.url));
const FILE_MARKER = /^(?:\/\/|#) file: (\S+)\n/;

const fenced = DOCS.flatMap((doc) =>
  [...readFileSync(doc, 'utf8').matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({
    language: m[1] as string,
    code: m[2] as string,
    heading: headingBefore(doc, m.index ?? 0),
  })),
);
const files = fenced.flatMap(({ code }) => {
  const match = FILE_MARKER.exec(code);
  return match ? [{ path: match[1] as string, content: code.slice(match[0].length) }] : [];
});
const blocks = fenced
  .filter((block) => block.language === 'ts')
  .map((block, index) => ({ ...block, index, runs: !FILE_MARKER.test(block.code) }));

function headingBefore(doc: string, offset: number): string {
  const text = readFileSync(doc, 'utf8').slice(0, offset);
  const heading = [...text.matchAll(/^##+ (.+)$/gm)].at(-1)?.[1] ?? 'top';
  return `${doc.split('/').at(-1)}: ${heading}`;
}

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'keel-sdk-docs-'));
  mkdirSync(join(dir, 'data'));
  copyFileSync(fileURLToPath(new URL('./testing/iris.csv', import.meta.url)), join(dir, 'data', 'iris.csv'));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content);
  }
  // The examples import '@keel/sdk' as written: it is installed into the folder they run in, with
  // `@keel/server` for the examples that load models.
  installSdk(dir, { server: true });
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('docs/sdk.md, docs/registry.md, docs/models.md and docs/deployments.md examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it('type-check under the repository settings (strict, noUncheckedIndexedAccess)', () => {
    const folder = join(dir, 'typecheck');
    mkdirSync(folder, { recursive: true });
    const files = blocks.map((block) => {
      const file = join(folder, `example-${block.index}.mts`);
      writeFileSync(file, block.code);
      return file;
    });
    const program = ts.createProgram(files, {
      strict: true,
      noUncheckedIndexedAccess: true,
      noImplicitReturns: true,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      customConditions: ['keel-source'],
      types: ['node'],
      typeRoots: [fileURLToPath(new URL('../../../node_modules/@types', import.meta.url))],
      paths: { '@keel/sdk': [SDK_SOURCE] },
      noEmit: true,
      skipLibCheck: true,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || files.includes(d.file.fileName))
      .map((d) => {
        const where = d.file
          ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
          : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(diagnostics).toEqual([]);
  });

  for (const block of blocks.filter((b) => b.runs)) {
    it(`runs example ${block.index + 1} (${block.heading})`, async () => {
      // Types erased the way any TypeScript runner does it; the type-check above covers them.
      const file = join(dir, `example-${block.index}.mjs`);
      writeFileSync(
        file,
        ts.transpileModule(block.code, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText,
      );
      const child = spawn(process.execPath, [file], {
        cwd: dir,
        env: { ...process.env, KEEL_TRACKING_URI: server.uri, MLFLOW_TRACKING_URI: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      if (process.env.KEEL_SHOW_DOC_OUTPUT) process.stdout.write(`--- example ${block.index + 1}\n${output}`);
      expect({ code, output }).toMatchObject({ code: 0 });
    });
  }
});
