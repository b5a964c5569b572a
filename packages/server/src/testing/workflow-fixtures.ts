/**
 * Workflow test fixtures: a hand-written code package (tasks in the shape the SDK exports, each
 * counting its calls in a file), registrations built by hand, and an in-process Keel app whose
 * scheduler runs them on the real local executor.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type {
  Binding,
  Execution,
  NodeSpec,
  TaskSpec,
  TypeSpec,
  WorkflowRegistration,
  WorkflowSpec,
} from '@keel/core';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../app.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import type { ChangeSink } from '../changes/change.js';
import { createServices, type Services } from '../services/services.js';
import { hashDirectory } from '../workflows/engine/artifact-values.js';
import type { WorkflowEngineOptions } from '../workflows/workflow-engine.js';
import type { TestStore } from './test-stores.js';

/** The tasks of {@link bundleSource}; `COUNTS` is where each call appends a line to `<task name>`. */
export function bundleSource(countsDir: string): string {
  return `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
const COUNTS = ${JSON.stringify(countsDir)};
const count = (name) => appendFileSync(COUNTS + '/' + name, '1\\n');
const task = (name, fn) => ({ kind: 'keel.task', name, fn });
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('stopped')); });
});

export const inc = task('inc', ({ x }) => { count('inc'); console.log('inc ' + x); return { y: x + 1 }; });
export const double = task('double', ({ x }) => { count('double'); return { y: x * 2 }; });
export const add = task('add', ({ a, b }) => { count('add'); return { sum: a + b }; });
export const sum = task('sum', ({ xs }) => { count('sum'); return { total: xs.reduce((s, v) => s + v, 0) }; });
export const flaky = task('flaky', ({ x }, ctx) => {
  count('flaky');
  console.log('attempt ' + ctx.attempt);
  if (ctx.attempt < 3) throw Object.assign(new Error('not yet (attempt ' + ctx.attempt + ')'), { name: 'RetryableError', retryable: true });
  return { y: x };
});
export const boom = task('boom', () => { count('boom'); throw new TypeError('boom'); });
export const gate = task('gate', ({ x }) => {
  count('gate');
  if (!existsSync(COUNTS + '/fixed')) throw new Error('the gate is closed');
  return { y: x };
});
export const slow = task('slow', async ({ ms }, ctx) => {
  count('slow');
  console.log('slow start');
  await sleep(ms, ctx.signal);
  return { done: true };
});
export const slowinc = task('slowinc', async ({ x }) => { count('slowinc'); await sleep(400); return { y: x + 1 }; });
export const chatty = task('chatty', async ({ n }, ctx) => {
  for (let i = 0; i < n; i++) { console.log('line ' + i); await sleep(60); }
  console.error('done on stderr');
  await ctx.run.logMetric('lines', n, 0);
  await ctx.run.setTag('chatty', 'yes');
  return { n };
});
export const streams = task('streams', (_, ctx) => {
  console.log('to stdout');
  console.error('to stderr');
  ctx.log.info('info line', { n: 1 });
  ctx.log.warn('warn line');
  process.stdout.write('no newline');
  return {};
});
export const measure = task('measure', ({ file }, ctx) => {
  count('measure');
  const text = readFileSync(file, 'utf8');
  const out = ctx.outputPath('upper.txt');
  writeFileSync(out, text.toUpperCase());
  return { chars: text.length, upper: out };
});
`;
}

const HASH = 'c'.repeat(64);
const int: TypeSpec = { type: 'int' };

/** A function task `name` with int inputs and outputs. */
function intTask(name: string, inputs: string[], outputs: string[], extra: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name,
    kind: 'function',
    interface: {
      inputs: Object.fromEntries(inputs.map((input) => [input, int])),
      outputs: Object.fromEntries(outputs.map((output) => [output, int])),
    },
    retries: 0,
    codeHash: HASH,
    ...extra,
  };
}

/** Every task of the bundle, as a registration lists it. */
export const TASKS: Record<string, TaskSpec> = {
  inc: intTask('inc', ['x'], ['y'], { cache: { version: '1' } }),
  double: intTask('double', ['x'], ['y'], { cache: { version: '1' } }),
  add: intTask('add', ['a', 'b'], ['sum'], { cache: { version: '1' } }),
  sum: {
    ...intTask('sum', [], ['total'], { cache: { version: '1' } }),
    interface: { inputs: { xs: { type: 'array', items: int } }, outputs: { total: int } },
  },
  flaky: intTask('flaky', ['x'], ['y'], { retries: 2 }),
  boom: intTask('boom', ['x'], ['y']),
  gate: intTask('gate', ['x'], ['y']),
  slow: {
    ...intTask('slow', ['ms'], []),
    interface: { inputs: { ms: int }, outputs: { done: { type: 'boolean' } } },
  },
  slowinc: intTask('slowinc', ['x'], ['y'], { cache: { version: '1' } }),
  chatty: intTask('chatty', ['n'], ['n']),
  streams: intTask('streams', [], []),
  measure: {
    ...intTask('measure', [], []),
    interface: {
      inputs: { file: { type: 'file' } },
      outputs: { chars: int, upper: { type: 'file' } },
    },
    cache: { version: '1' },
  },
};

/** `{ node, output }` */
export function out(node: string, output: string): Binding {
  return { node, output };
}

/** A task node. */
export function call(id: string, task: string, inputs: Record<string, Binding>): NodeSpec {
  return { id, kind: 'task', task, inputs };
}

/** A workflow spec with int inputs and outputs unless given. */
export function workflowSpec(
  name: string,
  inputs: Record<string, TypeSpec>,
  nodes: NodeSpec[],
  outputs: Record<string, Binding>,
  outputTypes: Record<string, TypeSpec> = Object.fromEntries(Object.keys(outputs).map((o) => [o, int])),
): WorkflowSpec {
  return { name, interface: { inputs, outputs: outputTypes }, nodes, outputs };
}

/** A registration of `workflow` using the named tasks of the bundle. */
export function registration(
  code: { path: string; sha256: string },
  workflow: WorkflowSpec,
  tasks: string[],
  subworkflows: WorkflowSpec[] = [],
): WorkflowRegistration {
  return { workflow, subworkflows, tasks: tasks.map((name) => TASKS[name] as TaskSpec), code };
}

/** Writes a code package and uploads it at `workflows/code/<sha256>`, as registration does. */
export async function publishPackage(
  store: ArtifactStore,
  files: Record<string, string>,
): Promise<{ path: string; sha256: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-package-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const digest = await hashDirectory(dir);
    const base = `workflows/code/${digest.sha256}`;
    for (const file of digest.files) {
      await store.put(`${base}/${file.path}`, Readable.from([await readFile(join(dir, file.path))]));
    }
    return { path: base, sha256: digest.sha256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A JSON response. */
export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests.
  body: any;
}

/** An in-process app with a workflow engine, and helpers to call its workflow API. */
export interface WorkflowHarness {
  app: FastifyInstance;
  services: Services;
  artifacts: LocalArtifactStore;
  /** Where the bundle's tasks count their calls. */
  countsDir: string;
  code: { path: string; sha256: string };
  post(path: string, body: unknown, user?: string): Promise<Reply>;
  get(path: string, query?: Record<string, string | number>): Promise<Reply>;
  /** Registers a registration; expects 200. */
  register(reg: WorkflowRegistration): Promise<Reply>;
  /** Launches; expects 200 and returns the execution id. */
  launch(workflow: string, inputs: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>;
  /** Polls until the execution ends (or `state` is reached). */
  wait(executionId: string, until?: (e: Execution) => boolean, timeoutMs?: number): Promise<Execution>;
  /** How often task `name` ran. */
  calls(name: string): Promise<number>;
  close(): Promise<void>;
}

/** Options of {@link startWorkflowApp}. */
export interface WorkflowHarnessOptions {
  /** An artifact store and counts folder shared with another harness (crash tests). */
  shared?: { artifacts: LocalArtifactStore; countsDir: string; code: { path: string; sha256: string } };
  workflows?: WorkflowEngineOptions;
  /** Extra change sinks (see `ServicesOptions.changeSinks`). */
  changeSinks?: readonly ChangeSink[];
}

/** Fast timings for tests: short polls, backoffs and leases. */
export const FAST_SCHEDULER = {
  pollMs: 25,
  retry: { baseMs: 20, maxMs: 100 },
  reservationPollMs: 50,
  leaseMs: 3_000,
} as const;

/** Starts an app over `store` with a workflow engine of 4 workers and the test bundle uploaded. */
export async function startWorkflowApp(
  store: TestStore,
  options: WorkflowHarnessOptions = {},
): Promise<WorkflowHarness> {
  const root = options.shared === undefined ? await mkdtemp(join(tmpdir(), 'keel-workflows-')) : undefined;
  const countsDir = options.shared?.countsDir ?? join(root as string, 'counts');
  const artifacts = options.shared?.artifacts ?? new LocalArtifactStore(join(root as string, 'artifacts'));
  await mkdir(countsDir, { recursive: true });
  const code =
    options.shared?.code ?? (await publishPackage(artifacts, { 'bundle.mjs': bundleSource(countsDir) }));
  const services = createServices(store.store, {
    artifacts,
    predictionSpillDir: join(dirname(countsDir), `spill-${Math.random().toString(36).slice(2)}`),
    ...(options.changeSinks === undefined ? {} : { changeSinks: options.changeSinks }),
    workflows: {
      workers: 4,
      cacheDir: join(dirname(countsDir), `executor-${Math.random().toString(36).slice(2)}`),
      scheduler: FAST_SCHEDULER,
      logPollMs: 50,
      ...options.workflows,
    },
  });
  const app = await buildApp({
    store: store.store,
    config: { artifactsDestination: 'file:///unused', logLevel: 'silent' },
    logger: false,
    artifacts,
    services,
    deployments: false,
  });
  const parse = (payload: string) => (payload === '' ? undefined : JSON.parse(payload));
  const harness: WorkflowHarness = {
    app,
    services,
    artifacts,
    countsDir,
    code,
    async post(path, body, user = 'alice') {
      const res = await app.inject({
        method: 'POST',
        url: `/api/2.0/keel/${path}`,
        payload: body as object,
        headers: { 'x-keel-user': user },
      });
      return { status: res.statusCode, body: parse(res.payload) };
    },
    async get(path, query = {}) {
      const qs = new URLSearchParams(
        Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString();
      const res = await app.inject({ method: 'GET', url: `/api/2.0/keel/${path}${qs ? `?${qs}` : ''}` });
      return { status: res.statusCode, body: parse(res.payload) };
    },
    async register(reg) {
      const res = await harness.post('workflows/register', { registration: reg });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res;
    },
    async launch(workflow, inputs, extra = {}) {
      const res = await harness.post('executions/launch', { workflow, inputs, ...extra });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.execution.execution_id as string;
    },
    async wait(
      executionId,
      until = (e) => ['succeeded', 'failed', 'cancelled'].includes(e.state),
      timeoutMs = 30_000,
    ) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await harness.get('executions/get', { execution_id: executionId });
        expect(res.status).toBe(200);
        if (until(res.body.execution)) return res.body.execution as Execution;
        if (Date.now() > deadline) {
          throw new Error(
            `Execution did not get there in time: ${JSON.stringify(res.body.execution, null, 1)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async calls(name) {
      try {
        return (await readFile(join(countsDir, name), 'utf8')).split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    },
    async close() {
      await app.close();
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The node `id` of an execution. */
export function nodeOf(execution: Execution, id: string) {
  const node = execution.nodes.find((n) => n.node_id === id);
  if (node === undefined)
    throw new Error(`No node '${id}' in ${execution.nodes.map((n) => n.node_id).join(', ')}`);
  return node;
}
