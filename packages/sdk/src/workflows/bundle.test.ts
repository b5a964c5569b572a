import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { validateWorkflowRegistration, type WorkflowRegistration } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../errors.js';
import { KeelClient } from '../keel-client.js';
import {
  type AnyWorkflow,
  bundleWorkflowModule,
  deriveRegistration,
  packageHash,
  registerWorkflow,
  type WorkflowPackage,
} from './index.js';

const run = promisify(execFile);
const ENTRY = fileURLToPath(new URL('../testing/train-pipeline.ts', import.meta.url));
/** Bundle Keel's own packages from their sources (their `dist` may be stale in the repository). */
const SOURCES = { conditions: ['keel-source'] } as const;

let root: string;
let pkg: WorkflowPackage;
let count = 0;
const fresh = () => join(root, `out-${++count}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-workflow-bundle-'));
  pkg = await bundleWorkflowModule(ENTRY, fresh(), SOURCES);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function workflowNamed(p: WorkflowPackage, name: string): AnyWorkflow {
  const found = p.workflows.find((w) => w.name === name);
  if (found === undefined) throw new Error(`no workflow ${name}`);
  return found;
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => error as Error,
  );
}

/** A stand-in for the server: records every request and answers the registration call. */
async function fakeServer() {
  const requests: { method: string; url: string; body: Buffer }[] = [];
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ method: request.method ?? '', url: request.url ?? '', body });
    response.setHeader('content-type', 'application/json');
    if (request.url === '/api/2.0/keel/workflows/register') {
      const { registration } = JSON.parse(body.toString()) as { registration: WorkflowRegistration };
      const name = registration.workflow.name;
      response.end(
        JSON.stringify({
          workflow_version: { name, version: `v-${name}`, spec: registration },
          created: true,
        }),
      );
      return;
    }
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('bundleWorkflowModule', () => {
  it('writes bundle.mjs and the shipped files, hashed, and finds the workflows and tasks', async () => {
    expect(pkg.files.map((file) => file.path)).toEqual(['bundle.mjs', 'files/workflow-files/report.sh']);
    for (const file of pkg.files) {
      const bytes = await readFile(join(pkg.dir, file.path));
      expect(file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(file.size).toBe(bytes.length);
    }
    const lines = pkg.files.map((file) => `${file.path}\0${file.sha256}\n`).join('');
    expect(pkg.sha256).toBe(createHash('sha256').update(lines).digest('hex'));
    expect(packageHash(pkg.files)).toBe(pkg.sha256);
    expect(pkg.workflows.map((w) => w.name)).toEqual(['prep', 'train', 'train.prep']);
    expect(pkg.tasks.map((task) => task.name)).toEqual([
      'fit',
      'load',
      'pick',
      'register',
      'report',
      'split',
    ]);
    const bundle = await readFile(join(pkg.dir, 'bundle.mjs'), 'utf8');
    expect(bundle).not.toMatch(/from ['"](@keel\/[a-z]+|yaml)['"]/);
  });

  it('bundles the same module to the same bytes, giving the same registration', async () => {
    // esbuild's source comments are relative to the module's folder, not to the current directory.
    const bundle = await readFile(join(pkg.dir, 'bundle.mjs'), 'utf8');
    expect(bundle).toMatch(/^\/\/ train-pipeline\.ts$/m);
    expect(bundle).toMatch(/^\/\/ \.\.\/workflows\/task\.ts$/m);
    const again = await bundleWorkflowModule(ENTRY, fresh(), SOURCES);
    expect(again.sha256).toBe(pkg.sha256);
    const code = { path: `workflows/code/${pkg.sha256}`, sha256: pkg.sha256 };
    const files = { 'workflow-files/report.sh': pkg.files[1]?.sha256 ?? '' };
    const first = JSON.stringify(deriveRegistration(workflowNamed(pkg, 'train'), code, { files }));
    expect(JSON.stringify(deriveRegistration(workflowNamed(again, 'train'), code, { files }))).toBe(first);
  });

  it('runs the tasks from a copy of the package outside the repository, with no node_modules', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'keel-workflow-package-'));
    try {
      await cp(pkg.dir, elsewhere, { recursive: true });
      await writeFile(join(elsewhere, 'train.csv'), 'x,y\n1,2\n3,4\n');
      // What a worker does: import the bundle, find the task objects among the exports and the
      // workflows' `tasks`, call `fn(inputs, ctx)`.
      const script = `
        import { join } from 'node:path';
        const dir = ${JSON.stringify(elsewhere)};
        const mod = await import(${JSON.stringify(pathToFileURL(join(elsewhere, 'bundle.mjs')).href)});
        const tasks = new Map();
        for (const value of Object.values(mod)) {
          if (value?.kind === 'keel.task') tasks.set(value.name, value);
          if (value?.kind === 'keel.workflow') for (const t of value.tasks) tasks.set(t.name, t);
        }
        const ctx = (name) => ({
          log: console, attempt: 1, executionId: 'e1', nodeId: name, workDir: dir,
          outputPath: (file) => join(dir, name + '-' + file), signal: new AbortController().signal,
          run: { id: '', logParam: async () => {}, logMetric: () => {}, setTag: async () => {} },
          filesDir: join(dir, 'files'),
        });
        const fitted = await tasks.get('fit').fn({ train: join(dir, 'train.csv'), test: join(dir, 'train.csv'), alpha: 1 }, ctx('fit'));
        const reported = await tasks.get('report').fn({ score: 0.25 }, ctx('report'));
        let retryable;
        try { await tasks.get('fit').fn({ train: 'x', test: 'x', alpha: -1 }, ctx('fit')); } catch (e) { retryable = e.retryable; }
        const { readFile } = await import('node:fs/promises');
        console.log(JSON.stringify({
          names: [...tasks.keys()].sort(),
          fitted, model: await readFile(fitted.model, 'utf8'),
          report: await readFile(reported.report, 'utf8'), retryable,
        }));
      `;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: elsewhere,
      });
      expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toEqual({
        names: ['fit', 'load', 'pick', 'register', 'report', 'split'],
        fitted: { model: join(elsewhere, 'fit-model.json'), score: 0.9 },
        model: '{"alpha":1,"rows":2}',
        report: 'score below threshold: 0.25\n',
        retryable: true,
      });
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses a module that does not bundle, and a non-empty output folder', async () => {
    const broken = join(root, 'broken.ts');
    await writeFile(broken, "import 'not-a-package';\nexport const x = 1;\n");
    const error = await rejection(bundleWorkflowModule(broken, fresh()));
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect(error.message).toMatch(/^Cannot bundle the workflow module .*Could not resolve "not-a-package"/);
    await expect(bundleWorkflowModule(ENTRY, pkg.dir)).rejects.toThrow(/is not empty$/);
  });
});

describe('registerWorkflow', () => {
  it('uploads the package to workflows/code/<sha256>/ and posts one valid registration per workflow', async () => {
    const server = await fakeServer();
    try {
      const client = new KeelClient({ trackingUri: server.uri, retries: 0 });
      const registered = await registerWorkflow(client, ENTRY, { version: 'v1', ...SOURCES });
      expect(registered.map(({ name, version, created }) => ({ name, version, created }))).toEqual([
        { name: 'prep', version: 'v-prep', created: true },
        { name: 'train', version: 'v-train', created: true },
        { name: 'train.prep', version: 'v-train.prep', created: true },
      ]);
      const prefix = `/api/2.0/mlflow-artifacts/artifacts/workflows/code/${pkg.sha256}`;
      const puts = server.requests.filter((r) => r.method === 'PUT');
      expect(puts.map((r) => r.url).sort()).toEqual([
        `${prefix}/bundle.mjs`,
        `${prefix}/files/workflow-files/report.sh`,
      ]);
      for (const put of puts) {
        const path = put.url.slice(prefix.length + 1);
        expect(put.body.equals(await readFile(join(pkg.dir, path)))).toBe(true);
      }
      const posts = server.requests.filter((r) => r.method === 'POST');
      expect(posts.map((r) => r.url)).toEqual(Array(3).fill('/api/2.0/keel/workflows/register'));
      // The posts come after every upload.
      expect(server.requests.findIndex((r) => r.method === 'POST')).toBe(puts.length);
      const registrations = posts.map(
        (r) => (JSON.parse(r.body.toString()) as { registration: unknown }).registration,
      );
      for (const registration of registrations) {
        expect(validateWorkflowRegistration(registration)).toEqual(registration);
      }
      const train = registrations[1] as WorkflowRegistration;
      expect(train.version).toBe('v1');
      expect(train.code).toEqual({ path: `workflows/code/${pkg.sha256}`, sha256: pkg.sha256 });
      expect(train.tasks.map((task) => task.name)).toEqual([
        'fit',
        'load',
        'pick',
        'register',
        'report',
        'split',
      ]);
      expect((registrations[2] as WorkflowRegistration).subworkflows.map((sub) => sub.name)).toEqual([
        'prep',
      ]);
    } finally {
      await server.close();
    }
  });

  it('uploads nothing when the module exports no workflow', async () => {
    const server = await fakeServer();
    try {
      const empty = join(root, 'no-workflow.ts');
      await writeFile(empty, 'export const answer = 42;\n');
      const client = new KeelClient({ trackingUri: server.uri, retries: 0 });
      const error = await rejection(registerWorkflow(client, empty));
      expect(error).toBeInstanceOf(InvalidParameterError);
      expect(error.message).toBe(`'${empty}' exports no workflow`);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
