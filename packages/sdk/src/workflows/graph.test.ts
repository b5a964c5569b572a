import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowRegistration } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidParameterError } from '../errors.js';
import {
  command,
  deriveRegistration,
  isRetryableError,
  map,
  RetryableError,
  t,
  task,
  when,
  workflow,
} from '../index.js';
import * as pipeline from '../testing/train-pipeline.js';

const CODE = { path: `workflows/code/${'c'.repeat(64)}`, sha256: 'c'.repeat(64) };
const FILES = { 'workflow-files/report.sh': 'd'.repeat(64) };
const TESTING_DIR = fileURLToPath(new URL('../testing/', import.meta.url));

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'keel-workflow-graph-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let runs = 0;
/** A local task context whose work folder lies in the test's scratch folder. */
const local = () => ({ workDir: join(scratch, `run-${++runs}`) });

/** The InvalidParameterError `fn` throws. */
function invalid(fn: () => unknown): InvalidParameterError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidParameterError);
    expect((error as InvalidParameterError).code).toBe('INVALID_PARAMETER_VALUE');
    return error as InvalidParameterError;
  }
  return expect.unreachable('expected an InvalidParameterError');
}

const add = task(
  { name: 'add', inputs: { a: t.int(), b: t.int() }, outputs: { sum: t.int() } },
  ({ a, b }) => ({ sum: a + b }),
);
const label = task(
  { name: 'label', inputs: { text: t.string() }, outputs: { out: t.string() } },
  ({ text }) => ({ out: text }),
);

describe('graph derivation', () => {
  it('derives the train pipeline: load → split → map(fit) → pick → branch(register | report)', () => {
    const reg = deriveRegistration(pipeline.train, CODE, { files: FILES });
    const { workflow: spec } = reg;
    expect(spec.name).toBe('train');
    expect(spec.interface).toEqual({
      inputs: { source: { type: 'string' }, alphas: { type: 'array', items: { type: 'float' } } },
      outputs: { model: { type: 'file' }, score: { type: 'float' }, note: { type: 'file' } },
    });
    expect(spec.defaults).toEqual({ alphas: [0.5, 1, 2] });
    expect(spec.nodes.map((node) => `${node.kind}:${node.id}`)).toEqual([
      'task:load',
      'task:split',
      'map:fit-map',
      'task:pick',
      'branch:branch',
    ]);
    expect(spec.nodes[1]).toEqual({
      id: 'split',
      kind: 'task',
      task: 'split',
      inputs: {
        data: { node: 'load', output: 'data' },
        testFraction: { literal: 0.2 },
        seed: { literal: 7 },
      },
    });
    expect(spec.nodes[2]).toEqual({
      id: 'fit-map',
      kind: 'map',
      task: 'fit',
      inputs: {
        train: { node: 'split', output: 'train' },
        test: { node: 'split', output: 'test' },
        alpha: { input: 'alphas' },
      },
      over: ['alpha'],
      concurrency: 2,
    });
    expect(spec.nodes[3]).toMatchObject({
      inputs: { scores: { node: 'fit-map', output: 'score' }, models: { node: 'fit-map', output: 'model' } },
    });
    expect(spec.nodes[4]).toEqual({
      id: 'branch',
      kind: 'branch',
      condition: { op: 'gt', left: { node: 'pick', output: 'score' }, right: { literal: 0.9 } },
      // biome-ignore lint/suspicious/noThenProperty: the branch field is named by core's NodeSpec
      then: {
        nodes: [
          {
            id: 'branch-then-register',
            kind: 'task',
            task: 'register',
            inputs: { model: { node: 'pick', output: 'model' }, name: { literal: 'iris' } },
          },
        ],
        outputs: { note: { node: 'branch-then-register', output: 'card' } },
      },
      else: {
        nodes: [
          {
            id: 'branch-else-report',
            kind: 'task',
            task: 'report',
            inputs: { score: { node: 'pick', output: 'score' } },
          },
        ],
        outputs: { note: { node: 'branch-else-report', output: 'report' } },
      },
    });
    expect(spec.outputs).toEqual({
      model: { node: 'pick', output: 'model' },
      score: { node: 'pick', output: 'score' },
      note: { node: 'branch', output: 'note' },
    });
    expect(reg.tasks.map((task) => task.name)).toEqual([
      'fit',
      'load',
      'pick',
      'register',
      'report',
      'split',
    ]);
    expect(reg.subworkflows).toEqual([]);
    expect(reg.description).toBe('Fits one model per alpha and registers the best');
    expect(reg.code).toEqual(CODE);
  });

  it('records each task version: interface, cache, retries, timeout, code hash', () => {
    const { tasks } = deriveRegistration(pipeline.train, CODE, { files: FILES });
    const fit = tasks.find((task) => task.name === 'fit');
    expect(fit).toEqual({
      name: 'fit',
      kind: 'function',
      interface: {
        inputs: { train: { type: 'dataset' }, test: { type: 'dataset' }, alpha: { type: 'float' } },
        outputs: { model: { type: 'file' }, score: { type: 'float' } },
      },
      cache: { version: '1' },
      retries: 2,
      timeoutMs: 600_000,
      codeHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const report = tasks.find((task) => task.name === 'report');
    expect(report).toMatchObject({
      kind: 'command',
      retries: 0,
      command: {
        argv: ['sh', '{{files}}/workflow-files/report.sh', '{{inputs.score}}', '{{outputs.report}}'],
      },
    });
    // A command task's hash covers the shipped files' contents.
    const other = deriveRegistration(pipeline.train, CODE, {
      files: { 'workflow-files/report.sh': 'e'.repeat(64) },
    });
    expect(other.tasks.find((task) => task.name === 'report')?.codeHash).not.toBe(report?.codeHash);
    expect(other.tasks.find((task) => task.name === 'fit')?.codeHash).toBe(fit?.codeHash);
  });

  it('inlines a sub-workflow as a workflow node and lists it with its tasks', () => {
    const reg = deriveRegistration(pipeline.trainWithPrep, CODE);
    expect(reg.workflow.nodes.map((node) => `${node.kind}:${node.id}`)).toEqual([
      'workflow:prep',
      'task:fit',
      'task:fit-2',
      'task:pick',
    ]);
    // `source` is bound; `prep` has a default for it, so it could have been left out.
    expect(reg.workflow.nodes[0]).toEqual({
      id: 'prep',
      kind: 'workflow',
      workflow: 'prep',
      inputs: { source: { input: 'source' } },
    });
    expect(reg.workflow.nodes[3]).toMatchObject({
      inputs: {
        scores: {
          list: [
            { node: 'fit', output: 'score' },
            { node: 'fit-2', output: 'score' },
          ],
        },
        models: {
          list: [
            { node: 'fit', output: 'model' },
            { node: 'fit-2', output: 'model' },
          ],
        },
      },
    });
    expect(reg.subworkflows.map((sub) => sub.name)).toEqual(['prep']);
    expect(reg.subworkflows[0]?.outputs).toEqual({
      train: { node: 'split', output: 'train' },
      test: { node: 'split', output: 'test' },
    });
    expect(reg.tasks.map((task) => task.name)).toEqual(['fit', 'load', 'pick', 'split']);
    expect(reg.workflow.interface.outputs).toEqual({ model: { type: 'file' }, score: { type: 'float' } });
  });

  it('leaves out optional and defaulted inputs, collapses literal lists and records, names node ids safely', () => {
    const greet = task(
      {
        name: 'greet',
        inputs: {
          names: t.array(t.string()),
          options: t.record({ loud: t.boolean() }),
          tag: t.optional(t.string()),
        },
        outputs: { text: t.string() },
      },
      ({ names }) => ({ text: names.join() }),
    );
    const inner = workflow(
      { name: '1st.inner', inputs: { n: t.int(), k: t.int() }, defaults: { k: 2 } },
      ({ n, k }) => add({ a: n, b: k }),
    );
    const outer = workflow({ name: 'outer', inputs: { who: t.string() } }, ({ who }) => {
      const sum = inner({ n: 1 });
      const a = greet({ names: ['ada', 'bob'], options: { loud: true } });
      const b = greet({ names: [who, 'bob'], options: { loud: false }, tag: null });
      return { sum: sum.sum, a: a.text, b: b.text };
    });
    const { workflow: spec } = deriveRegistration(outer, CODE);
    expect(spec.nodes).toEqual([
      { id: '_1st_inner', kind: 'workflow', workflow: '1st.inner', inputs: { n: { literal: 1 } } },
      {
        id: 'greet',
        kind: 'task',
        task: 'greet',
        inputs: { names: { literal: ['ada', 'bob'] }, options: { literal: { loud: true } } },
      },
      {
        id: 'greet-2',
        kind: 'task',
        task: 'greet',
        inputs: {
          names: { list: [{ input: 'who' }, { literal: 'bob' }] },
          options: { literal: { loud: false } },
          tag: { literal: null },
        },
      },
    ]);
  });

  it('derives a branch without otherwise, conditions on references, and/or/not', () => {
    const flag = task({ name: 'flag', inputs: { n: t.int() }, outputs: { ok: t.boolean() } }, ({ n }) => ({
      ok: n > 0,
    }));
    const gated = workflow({ name: 'gated', inputs: { n: t.int(), limit: t.float() } }, ({ n, limit }) => {
      const f = flag({ n });
      when(n)
        .le(limit)
        .and(when(f.ok).isTrue())
        .or(when(n).eq(0).not())
        .then(() => {
          label({ text: 'yes' });
        });
    });
    const [branch] = deriveRegistration(gated, CODE).workflow.nodes.slice(1);
    expect(branch).toEqual({
      id: 'branch',
      kind: 'branch',
      condition: {
        op: 'or',
        conditions: [
          {
            op: 'and',
            conditions: [
              { op: 'le', left: { input: 'n' }, right: { input: 'limit' } },
              { op: 'isTrue', value: { node: 'flag', output: 'ok' } },
            ],
          },
          { op: 'not', condition: { op: 'eq', left: { input: 'n' }, right: { literal: 0 } } },
        ],
      },
      // biome-ignore lint/suspicious/noThenProperty: the branch field is named by core's NodeSpec
      then: {
        nodes: [
          { id: 'branch-then-label', kind: 'task', task: 'label', inputs: { text: { literal: 'yes' } } },
        ],
        outputs: {},
      },
    });
  });

  it('gives the same registration, byte for byte, for the same module loaded twice', async () => {
    vi.resetModules();
    const again = (await import('../testing/train-pipeline.js')) as typeof pipeline;
    expect(again.train).not.toBe(pipeline.train);
    const canonical = (reg: WorkflowRegistration) => JSON.stringify(reg);
    const first = canonical(deriveRegistration(pipeline.train, CODE, { files: FILES }));
    expect(canonical(deriveRegistration(again.train, CODE, { files: FILES }))).toBe(first);
    expect(canonical(deriveRegistration(pipeline.train, CODE, { files: FILES }))).toBe(first);
  });
});

describe('graph errors', () => {
  it('names the workflow, node and input of a type mismatch', () => {
    const wf = workflow({ name: 'bad-types', inputs: { text: t.string() } }, ({ text }) => {
      // @ts-expect-error a string reference where an int is expected
      add({ a: text, b: 1 });
    });
    expect(invalid(() => wf.spec).message).toBe(
      "workflow 'bad-types', node 'add', input 'a': expected int, got string from workflow input 'text'",
    );
    // TypeScript has one number type: the graph builder tells ints from floats.
    const literal = workflow({ name: 'bad-literal' }, () => {
      add({ a: 1.5, b: 1 });
    });
    expect(invalid(() => literal.spec).message).toBe(
      "workflow 'bad-literal', node 'add', input 'a' must be a whole number (int)",
    );
  });

  it('refuses unknown and missing inputs', () => {
    const unknown = workflow({ name: 'w1' }, () => {
      // @ts-expect-error c is not an input of add
      add({ a: 1, b: 2, c: 3 });
    });
    expect(invalid(() => unknown.spec).message).toBe(
      "workflow 'w1', node 'add': unknown input 'c' for task 'add' (it takes a, b)",
    );
    const missing = workflow({ name: 'w2' }, () => {
      // @ts-expect-error b is missing
      add({ a: 1 });
    });
    expect(invalid(() => missing.spec).message).toBe(
      "workflow 'w2', node 'add': missing input 'b' (int) of task 'add'",
    );
  });

  it('refuses a reference used outside its branch arm or from another workflow', () => {
    const leaky = workflow({ name: 'leaky', inputs: { n: t.int() } }, ({ n }) => {
      let inner: ReturnType<typeof add> | undefined;
      when(n)
        .gt(0)
        .then(() => {
          inner = add({ a: n, b: 1 });
        });
      return { sum: add({ a: inner?.sum ?? 0, b: 1 }).sum };
    });
    expect(invalid(() => leaky.spec).message).toMatch(
      /^workflow 'leaky', node 'add', input 'a': output 'sum' of node 'branch-then-add' is made inside a branch arm/,
    );
    const first = workflow({ name: 'first', inputs: { n: t.int() } }, ({ n }) => add({ a: n, b: 1 }));
    let stolen: unknown;
    workflow({ name: 'thief', inputs: { n: t.int() } }, ({ n }) => {
      stolen = n;
    }).spec;
    const second = workflow({ name: 'second' }, () => add({ a: stolen as number, b: 1 }));
    expect(first.spec.nodes).toHaveLength(1);
    expect(invalid(() => second.spec).message).toBe(
      "workflow 'second', node 'add', input 'a': workflow input 'n' belongs to another workflow body (workflow 'thief')",
    );
  });

  it('refuses a task or map outside a workflow body, and an asynchronous body', () => {
    expect(invalid(() => add({ a: 1, b: 2 })).message).toBe(
      "task 'add' can only be called inside a workflow body: use add.run(inputs) to run it directly",
    );
    expect(invalid(() => map(add, { a: [1], b: 2 }, { over: ['a'] })).message).toMatch(
      /inside a workflow body/,
    );
    // @ts-expect-error the body must not be async
    const asyncBody = workflow({ name: 'async' }, async () => ({ sum: add({ a: 1, b: 2 }).sum }));
    expect(invalid(() => asyncBody.spec).message).toMatch(/^workflow 'async': the body must be synchronous/);
  });

  it('refuses a bad map: over naming no input, a scalar where a list is mapped, a bad concurrency', () => {
    const notInput = workflow({ name: 'm1' }, () => {
      // @ts-expect-error c is not an input
      map(add, { a: [1], b: 2 }, { over: ['c'] });
    });
    expect(invalid(() => notInput.spec).message).toBe(
      "workflow 'm1', node 'add-map': 'over' names 'c', which is not an input of task 'add'",
    );
    const scalar = workflow({ name: 'm2' }, () => {
      // @ts-expect-error a is mapped over, so it must be a list
      map(add, { a: 1, b: 2 }, { over: ['a'] });
    });
    expect(invalid(() => scalar.spec).message).toBe(
      "workflow 'm2', node 'add-map', input 'a' must be a list (array<int>)",
    );
    const concurrency = workflow({ name: 'm3' }, () => {
      map(add, { a: [1], b: 2 }, { over: ['a'], concurrency: 0 });
    });
    expect(invalid(() => concurrency.spec).message).toBe(
      "workflow 'm3', node 'add-map': concurrency must be a positive integer, got 0",
    );
  });

  it('refuses branches whose arms return different outputs or types, and conditions on non-scalars', () => {
    const names = workflow({ name: 'b1', inputs: { n: t.int() } }, ({ n }) =>
      when(n)
        .gt(1)
        .then(() => ({ x: add({ a: n, b: 1 }).sum }))
        // @ts-expect-error the arms must return the same outputs
        .otherwise(() => ({ y: add({ a: n, b: 2 }).sum })),
    );
    expect(invalid(() => names.spec).message).toBe(
      "workflow 'b1', branch 'branch': both arms must return the same outputs (then: x; otherwise: y)",
    );
    const types = workflow({ name: 'b2', inputs: { n: t.int() } }, ({ n }) =>
      when(n)
        .gt(1)
        .then(() => ({ x: add({ a: n, b: 1 }).sum }))
        .otherwise(() => ({ x: label({ text: 'no' }).out })),
    );
    expect(invalid(() => types.spec).message).toBe(
      "workflow 'b2', branch 'branch', output 'x': the arms return different types (int and string)",
    );
    const list = workflow({ name: 'b3', inputs: { xs: t.array(t.int()) } }, ({ xs }) => {
      const cond = when(xs);
      // @ts-expect-error arrays cannot be compared
      cond.gt(1).then(() => undefined);
    });
    expect(invalid(() => list.spec).message).toBe(
      "workflow 'b3', branch 'branch', condition: gt() compares int, float or string values, got array<int> (workflow input 'xs')",
    );
  });

  it('refuses two different tasks with one name and a workflow calling itself', () => {
    const twin = task({ name: 'add', inputs: { a: t.int() }, outputs: {} }, () => ({}));
    const twins = workflow({ name: 'twins' }, () => {
      add({ a: 1, b: 2 });
      twin({ a: 1 });
    });
    expect(invalid(() => twins.spec).message).toBe("workflow 'twins' uses two different tasks named 'add'");
    const loop: ReturnType<typeof workflow> = workflow({ name: 'loop' }, () => {
      loop();
    });
    expect(invalid(() => loop.spec).message).toBe("workflow 'loop' calls itself");
    const ping: ReturnType<typeof workflow> = workflow({ name: 'ping' }, () => {
      pong();
    });
    const pong: ReturnType<typeof workflow> = workflow({ name: 'pong' }, () => {
      ping();
    });
    expect(invalid(() => ping.spec).message).toBe("workflow 'ping' calls itself through a sub-workflow");
  });

  it('refuses bad task and workflow options, naming the task and option', () => {
    const fn = () => ({});
    expect(invalid(() => task({ name: '1st', outputs: {} }, fn)).message).toMatch(/^invalid task name "1st"/);
    expect(invalid(() => task({ name: 'a', retries: 11 }, fn)).message).toBe(
      "task 'a': retries must be an integer from 0 to 10, got 11",
    );
    expect(invalid(() => task({ name: 'a', cache: { version: '' } }, fn)).message).toMatch(
      /^task 'a': cache must be/,
    );
    expect(
      invalid(() => task({ name: 'a', inputs: { x: { type: 'complex' } as never } }, fn)).message,
    ).toMatch(/^task 'a'\.inputs\.x\.type must be one of int, float/);
    // @ts-expect-error a misspelt option
    expect(invalid(() => task({ name: 'a', retry: 1 }, fn)).message).toBe("task 'a': unknown option 'retry'");
    expect(invalid(() => workflow({ name: 'bad name' }, () => undefined)).message).toMatch(
      /^invalid workflow name "bad name"/,
    );
    expect(
      // @ts-expect-error the default of an int input must be an int
      invalid(() => workflow({ name: 'w', inputs: { k: t.int() }, defaults: { k: 'x' } }, () => undefined))
        .message,
    ).toBe("workflow 'w', defaults.k must be a whole number (int)");
  });

  it('refuses bad command tasks: unknown placeholders, unwritten or non-file outputs, escaping files', () => {
    const base = { name: 'cmd', inputs: { n: t.int() }, outputs: { out: t.file() } };
    expect(
      invalid(() => command({ ...base, argv: ['echo', '{{inputs.m}}', '{{outputs.out}}'] })).message,
    ).toBe(
      "command task 'cmd', argv[1]: unknown placeholder {{inputs.m}} (expected {{inputs.<input>}}, {{outputs.<output>}} or {{files}})",
    );
    expect(invalid(() => command({ ...base, argv: ['echo', '{{inputs.n}}'] })).message).toBe(
      "command task 'cmd': output 'out' is not passed to the program: add {{outputs.out}} to argv",
    );
    expect(
      // @ts-expect-error a command's outputs are files
      invalid(() => command({ ...base, outputs: { n: t.int() }, argv: ['echo', '{{outputs.n}}'] })).message,
    ).toBe("command task 'cmd', output 'n': a command's outputs are files, folders or datasets");
    expect(
      invalid(() => command({ ...base, argv: ['x', '{{outputs.out}}'], files: ['../secret.txt'] })).message,
    ).toBe("command task 'cmd': files entry \"../secret.txt\" must be a path inside the module's folder");
  });

  it('refuses a registration whose command task ships a file the package lacks', () => {
    expect(invalid(() => deriveRegistration(pipeline.train, CODE)).message).toBe(
      "command task 'report' ships 'workflow-files/report.sh', which the code package does not hold",
    );
  });
});

describe('running tasks directly', () => {
  it('runs the pipeline tasks with a local context, checking inputs and outputs', async () => {
    const source = join(scratch, 'iris.csv');
    await writeFile(source, ['x,y', '1,2', '3,4', '5,6', '7,8', '9,10'].join('\n'));
    const { data } = await pipeline.load.run({ source }, local());
    const { train, test } = await pipeline.split.run({ data, testFraction: 0.4, seed: null }, local());
    expect(await readFile(test, 'utf8')).toBe('x,y\n7,8\n9,10');
    const fitted = await pipeline.fitModel.run(
      { train, test, alpha: 0.5 },
      { workDir: join(scratch, 'fit') },
    );
    expect(fitted).toEqual({ model: join(scratch, 'fit', 'model.json'), score: 0.95 });
    expect(JSON.parse(await readFile(fitted.model, 'utf8'))).toEqual({ alpha: 0.5, rows: 3 });
    const failure = await pipeline.fitModel.run({ train, test, alpha: -1 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RetryableError);
    expect(isRetryableError(failure)).toBe(true);
    expect(isRetryableError(new Error('x'))).toBe(false);
    // @ts-expect-error alpha must be a number
    await expect(pipeline.fitModel.run({ train, test, alpha: 'x' })).rejects.toThrow(
      "task 'fit', input 'alpha' must be a number (float)",
    );
    const liar = task({ name: 'liar', outputs: { n: t.int() } }, () => ({ n: 'x' }) as never);
    await expect(liar.run({})).rejects.toThrow("task 'liar', output 'n' must be a whole number (int)");
  });

  it('runs a command task: placeholders expanded, shipped files under {{files}}, output checked', async () => {
    const out = await pipeline.report.run(
      { score: 0.5 },
      { filesDir: TESTING_DIR, workDir: join(scratch, 'report') },
    );
    expect(await readFile(out.report, 'utf8')).toBe('score below threshold: 0.5\n');
    const silent = command({
      name: 'silent',
      outputs: { out: t.file() },
      argv: [process.execPath, '-e', 'void 0', '{{outputs.out}}'],
    });
    await expect(silent.run({})).rejects.toThrow(
      /^command task 'silent': the program did not write output 'out'/,
    );
    const retry = command({
      name: 'retry',
      inputs: { code: t.int() },
      outputs: { out: t.file() },
      argv: [
        process.execPath,
        '-e',
        'process.exit(Number(process.argv[1]))',
        '{{inputs.code}}',
        '{{outputs.out}}',
      ],
    });
    await expect(retry.run({ code: 75 })).rejects.toBeInstanceOf(RetryableError);
    await expect(retry.run({ code: 3 })).rejects.toThrow(/exited with code 3$/);
  });
});
