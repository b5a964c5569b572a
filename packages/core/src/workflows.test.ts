import { describe, expect, it } from 'vitest';
import { KeelError } from './errors.js';
import {
  type Binding,
  type Condition,
  canonicalWorkflowJson,
  checkValue,
  type JsonValue,
  type NodeSpec,
  type SubGraph,
  type TaskSpec,
  type TypeSpec,
  typeAccepts,
  validateWorkflowRegistration,
  type WorkflowRegistration,
  type WorkflowSpec,
} from './workflows.js';

/** The KeelError a call throws (fails the test when it does not throw one). */
function errorOf(call: () => unknown): KeelError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(KeelError);
    return error as KeelError;
  }
  return expect.unreachable('expected the call to throw');
}

/** Asserts INVALID_PARAMETER_VALUE whose message starts with the JSON path `path`. */
function expectInvalid(value: unknown, path: string): KeelError {
  const error = errorOf(() => validateWorkflowRegistration(value));
  expect(error.code).toBe('INVALID_PARAMETER_VALUE');
  expect(error.message.startsWith(path), `"${error.message}" should start with "${path}"`).toBe(true);
  return error;
}

const HASH = 'a'.repeat(64);
const int: TypeSpec = { type: 'int' };
const float: TypeSpec = { type: 'float' };
const str: TypeSpec = { type: 'string' };
const file: TypeSpec = { type: 'file' };
const dataset: TypeSpec = { type: 'dataset' };
const arrayOf = (items: TypeSpec): TypeSpec => ({ type: 'array', items });
const optional = (of: TypeSpec): TypeSpec => ({ type: 'optional', of });
const record = (fields: Record<string, TypeSpec>): TypeSpec => ({ type: 'record', fields });

const out = (node: string, output: string): Binding => ({ node, output });
const input = (name: string): Binding => ({ input: name });
const literal = (value: unknown): Binding => ({ literal: value as JsonValue });

function task(
  name: string,
  inputs: Record<string, TypeSpec>,
  outputs: Record<string, TypeSpec>,
  extra: Partial<TaskSpec> = {},
): TaskSpec {
  return { name, kind: 'function', interface: { inputs, outputs }, retries: 0, codeHash: HASH, ...extra };
}

/** split(data) → {train, test}; fit(train, alpha: float) → {model, score}; pick(scores, models) → {model, score}. */
const TASKS: TaskSpec[] = [
  task('split', { data: dataset, testFraction: float }, { train: dataset, test: dataset }),
  task(
    'fit',
    { train: dataset, alpha: float },
    { model: file, score: float },
    { retries: 2, cache: { version: '1' } },
  ),
  task('pick', { scores: arrayOf(float), models: arrayOf(file) }, { model: file, score: float }),
  task('register', { model: file, note: optional(str) }, { uri: { type: 'model' } }),
  task('count', {}, { n: int }),
];

/** The example pipeline: split → map(fit) → pick → branch(register | nothing). */
function trainWorkflow(): WorkflowSpec {
  return {
    name: 'train',
    interface: { inputs: { data: dataset, alphas: arrayOf(float) }, outputs: { model: file, score: float } },
    nodes: [
      {
        id: 'split',
        kind: 'task',
        task: 'split',
        inputs: { data: input('data'), testFraction: literal(0.2) },
      },
      {
        id: 'fit',
        kind: 'map',
        task: 'fit',
        inputs: { train: out('split', 'train'), alpha: input('alphas') },
        over: ['alpha'],
        concurrency: 4,
      },
      {
        id: 'pick',
        kind: 'task',
        task: 'pick',
        inputs: { scores: out('fit', 'score'), models: out('fit', 'model') },
      },
      branchNode(
        'gate',
        { op: 'gt', left: out('pick', 'score'), right: literal(0.9) },
        {
          nodes: [
            { id: 'register', kind: 'task', task: 'register', inputs: { model: out('pick', 'model') } },
          ],
          outputs: { uri: out('register', 'uri') },
        },
      ),
    ],
    outputs: { model: out('pick', 'model'), score: out('pick', 'score') },
  };
}

function registration(overrides: Partial<WorkflowRegistration> = {}): WorkflowRegistration {
  return {
    workflow: trainWorkflow(),
    subworkflows: [],
    tasks: TASKS,
    code: { path: 'workflows/code/abc', sha256: HASH },
    ...overrides,
  };
}

/** A registration whose workflow has these nodes and outputs (interface inputs: x: int, xs: int[]). */
function withNodes(
  nodes: NodeSpec[],
  outputs: Record<string, Binding> = {},
  outTypes: Record<string, TypeSpec> = {},
) {
  return registration({
    workflow: {
      name: 'w',
      interface: { inputs: { x: int, xs: arrayOf(int), s: str }, outputs: outTypes },
      nodes,
      outputs,
    },
    tasks: [
      task('inc', { v: int }, { v: int }),
      task('half', { v: float }, { v: float }),
      task('sum', { vs: arrayOf(int) }, { v: int }),
      task('maybe', {}, { v: optional(int) }),
      task('greet', { name: str }, { text: str }),
    ],
  });
}

const inc = (id: string, v: Binding): NodeSpec => ({ id, kind: 'task', task: 'inc', inputs: { v } });

/** A branch node; `then` is the contract's field name, which Biome flags on object literals. */
function branchNode(id: string, condition: Condition, thenGraph: SubGraph, elseGraph?: SubGraph): NodeSpec {
  // biome-ignore lint/suspicious/noThenProperty: the branch field is named by the shared contract.
  const node: NodeSpec = { id, kind: 'branch', condition, then: thenGraph };
  return elseGraph === undefined ? node : { ...node, else: elseGraph };
}

describe('validateWorkflowRegistration', () => {
  it('accepts the example pipeline and returns it with defaults filled', () => {
    const reg = registration({ version: 'v1', description: 'train' });
    const validated = validateWorkflowRegistration(JSON.parse(JSON.stringify(reg)));
    expect(validated).toEqual(reg);
    const noRetries = { ...reg, tasks: [{ ...TASKS[4], retries: undefined }] };
    noRetries.workflow = {
      name: 'c',
      interface: { inputs: {}, outputs: { n: int } },
      nodes: [{ id: 'count', kind: 'task', task: 'count', inputs: {} }],
      outputs: { n: out('count', 'n') },
    };
    expect(validateWorkflowRegistration(noRetries).tasks[0]?.retries).toBe(0);
  });

  it('refuses unknown fields, bad names and bad hashes, naming the field', () => {
    expectInvalid({ ...registration(), extra: 1 }, 'registration.extra');
    expectInvalid(registration({ workflow: { ...trainWorkflow(), name: 'has space' } }), 'workflow.name');
    expectInvalid(registration({ version: 'a:b' }), 'version');
    expectInvalid(registration({ code: { path: 'x', sha256: 'ABC' } }), 'code.sha256');
    expectInvalid(
      registration({ tasks: [{ ...(TASKS[0] as TaskSpec), codeHash: 'x' }] }),
      'tasks[0].codeHash',
    );
    const badInput = trainWorkflow();
    badInput.interface.inputs = { '1data': dataset };
    expectInvalid(registration({ workflow: badInput }), 'workflow.interface.inputs.1data');
    expectInvalid(withNodes([inc('a.b', input('x'))]), 'workflow.nodes[0].id');
    expectInvalid(
      registration({ tasks: [task('t', { x: { type: 'int', extra: 1 } as TypeSpec }, {})] }),
      'tasks[0].interface.inputs.x.extra',
    );
    expectInvalid(
      registration({ tasks: [task('t', { x: { type: 'number' } as unknown as TypeSpec }, {})] }),
      'tasks[0].interface.inputs.x.type',
    );
  });

  it('refuses retries outside 0..10 and other out-of-range task settings', () => {
    expectInvalid(registration({ tasks: [{ ...(TASKS[0] as TaskSpec), retries: 11 }] }), 'tasks[0].retries');
    expectInvalid(registration({ tasks: [{ ...(TASKS[0] as TaskSpec), retries: -1 }] }), 'tasks[0].retries');
    expectInvalid(
      registration({ tasks: [{ ...(TASKS[0] as TaskSpec), timeoutMs: 0 }] }),
      'tasks[0].timeoutMs',
    );
    expectInvalid(registration({ tasks: [TASKS[0] as TaskSpec, TASKS[0] as TaskSpec] }), 'tasks[1].name');
  });

  it('checks command tasks: argv required, placeholders name declared inputs and outputs', () => {
    const cmd = (argv: string[]) =>
      task(
        'py',
        { data: file },
        { model: file },
        { kind: 'command', command: { argv, env: { MODE: 'fast' } } },
      );
    const reg = (t: TaskSpec) =>
      registration({
        tasks: [t],
        workflow: {
          name: 'c',
          interface: { inputs: { data: file }, outputs: {} },
          nodes: [{ id: 'py', kind: 'task', task: 'py', inputs: { data: input('data') } }],
          outputs: {},
        },
      });
    expect(
      validateWorkflowRegistration(reg(cmd(['python3', '{{inputs.data}}', '--out', '{{ outputs.model }}'])))
        .tasks[0]?.command,
    ).toEqual({
      argv: ['python3', '{{inputs.data}}', '--out', '{{ outputs.model }}'],
      env: { MODE: 'fast' },
    });
    expectInvalid(reg(cmd(['python3', '{{inputs.nope}}'])), 'tasks[0].command.argv[1]');
    expectInvalid(reg(cmd([])), 'tasks[0].command.argv');
    expectInvalid(reg({ ...cmd(['x']), command: undefined }), 'tasks[0].command');
    expectInvalid(reg({ ...cmd(['x']), kind: 'function' }), 'tasks[0].command');
  });

  it('refuses unknown tasks and sub-workflows', () => {
    expectInvalid(withNodes([{ id: 'a', kind: 'task', task: 'nope', inputs: {} }]), 'workflow.nodes[0].task');
    expectInvalid(
      withNodes([{ id: 'a', kind: 'workflow', workflow: 'nope', inputs: {} }]),
      'workflow.nodes[0].workflow',
    );
  });

  it('refuses dangling bindings: unknown node, output or input', () => {
    expectInvalid(withNodes([inc('a', out('ghost', 'v'))]), 'workflow.nodes[0].inputs.v.node');
    expectInvalid(withNodes([inc('a', input('x')), inc('b', out('a', 'w'))]), 'workflow.nodes[1].inputs.v');
    const error = expectInvalid(withNodes([inc('a', input('y'))]), 'workflow.nodes[0].inputs.v.input');
    expect(error.message).toContain("'y'");
    expectInvalid(
      withNodes([inc('a', input('x'))], { v: out('a', 'nope') }, { v: int }),
      'workflow.outputs.v',
    );
    expectInvalid(withNodes([inc('a', input('x'))], {}, { v: int }), 'workflow.outputs.v');
    expectInvalid(withNodes([inc('a', input('x'))], { w: out('a', 'v') }, {}), 'workflow.outputs.w');
  });

  it('refuses missing required inputs and unknown inputs; optional inputs may be left out', () => {
    expectInvalid(
      withNodes([{ id: 'a', kind: 'task', task: 'inc', inputs: {} }]),
      'workflow.nodes[0].inputs.v',
    );
    expectInvalid(
      withNodes([{ id: 'a', kind: 'task', task: 'inc', inputs: { v: input('x'), w: input('x') } }]),
      'workflow.nodes[0].inputs.w',
    );
    // register's `note` is optional.
    expect(() => validateWorkflowRegistration(registration())).not.toThrow();
  });

  it('refuses cycles, self-references and nodes out of topological order', () => {
    expectInvalid(withNodes([inc('a', out('b', 'v')), inc('b', out('a', 'v'))]), 'workflow.nodes[0]: cycle');
    expectInvalid(withNodes([inc('a', out('a', 'v'))]), 'workflow.nodes[0]: cycle');
    expectInvalid(
      withNodes([inc('a', out('c', 'v')), inc('b', out('a', 'v')), inc('c', out('b', 'v'))]),
      'workflow.nodes[0]: cycle',
    );
    const error = expectInvalid(
      withNodes([inc('a', out('b', 'v')), inc('b', input('x'))]),
      'workflow.nodes[0]',
    );
    expect(error.message).toContain('topological');
  });

  it('refuses duplicate node ids, nested branch subgraphs included', () => {
    expectInvalid(withNodes([inc('a', input('x')), inc('a', input('x'))]), 'workflow.nodes[1].id');
    expectInvalid(
      withNodes([
        inc('a', input('x')),
        branchNode(
          'br',
          { op: 'isTrue', value: literal(true) },
          { nodes: [inc('a', input('x'))], outputs: {} },
        ),
      ]),
      'workflow.nodes[1].then.nodes[0].id',
    );
  });

  it('checks literals against their type', () => {
    expectInvalid(withNodes([inc('a', literal(1.5))]), 'workflow.nodes[0].inputs.v.literal');
    expectInvalid(withNodes([inc('a', literal('1'))]), 'workflow.nodes[0].inputs.v.literal');
    expect(() => validateWorkflowRegistration(withNodes([inc('a', literal(3))]))).not.toThrow();
    expectInvalid(
      withNodes([
        { id: 's', kind: 'task', task: 'sum', inputs: { vs: { list: [literal(1), literal('2')] } } },
      ]),
      'workflow.nodes[0].inputs.vs.list[1].literal',
    );
    // A file literal must be a content-addressed artifact reference.
    const fileTask = registration({
      tasks: [TASKS[3] as TaskSpec],
      workflow: {
        name: 'f',
        interface: { inputs: {}, outputs: {} },
        nodes: [{ id: 'r', kind: 'task', task: 'register', inputs: { model: literal('/tmp/model.onnx') } }],
        outputs: {},
      },
    });
    expectInvalid(fileTask, 'workflow.nodes[0].inputs.model.literal');
    (fileTask.workflow.nodes[0] as { inputs: Record<string, Binding> }).inputs.model = literal({
      $artifact: 'workflows/data/x',
      sha256: HASH,
      kind: 'file',
    });
    expect(() => validateWorkflowRegistration(fileTask)).not.toThrow();
  });

  it('checks binding types where both ends are typed: int → float allowed, the reverse and optional → required refused', () => {
    expect(() =>
      validateWorkflowRegistration(
        withNodes([{ id: 'h', kind: 'task', task: 'half', inputs: { v: input('x') } }]),
      ),
    ).not.toThrow();
    expectInvalid(
      withNodes([
        { id: 'h', kind: 'task', task: 'half', inputs: { v: input('x') } },
        inc('i', out('h', 'v')),
      ]),
      'workflow.nodes[1].inputs.v: expected int',
    );
    expectInvalid(
      withNodes([{ id: 'm', kind: 'task', task: 'maybe', inputs: {} }, inc('i', out('m', 'v'))]),
      'workflow.nodes[1].inputs.v: expected int',
    );
    expectInvalid(withNodes([inc('i', input('s'))]), 'workflow.nodes[0].inputs.v: expected int');
  });

  it('types map nodes: `over` inputs must be arrays, outputs become arrays', () => {
    const map = (v: Binding): NodeSpec => ({ id: 'm', kind: 'map', task: 'inc', inputs: { v }, over: ['v'] });
    expect(() =>
      validateWorkflowRegistration(
        withNodes([map(input('xs')), { id: 's', kind: 'task', task: 'sum', inputs: { vs: out('m', 'v') } }]),
      ),
    ).not.toThrow();
    expectInvalid(withNodes([map(input('x'))]), 'workflow.nodes[0].inputs.v: expected array<int>');
    expectInvalid(withNodes([map(literal(3))]), 'workflow.nodes[0].inputs.v.literal');
    expect(() =>
      validateWorkflowRegistration(withNodes([map({ list: [input('x'), literal(2)] })])),
    ).not.toThrow();
    // A map's output is an array: it cannot feed a scalar input.
    expectInvalid(
      withNodes([map(input('xs')), inc('i', out('m', 'v'))]),
      'workflow.nodes[1].inputs.v: expected int',
    );
    expectInvalid(
      withNodes([{ id: 'm', kind: 'map', task: 'inc', inputs: { v: input('xs') }, over: ['w'] }]),
      'workflow.nodes[0].over[0]',
    );
    expectInvalid(
      withNodes([{ id: 'm', kind: 'map', task: 'inc', inputs: { v: input('xs') }, over: [] }]),
      'workflow.nodes[0].over',
    );
  });

  it('types branches: both sides return the same outputs, whose types unify; without else they are optional', () => {
    const branch = (thenOut: Record<string, Binding>, elseOut?: Record<string, Binding>): NodeSpec =>
      branchNode(
        'b',
        { op: 'ge', left: input('x'), right: literal(3) },
        { nodes: [inc('t', input('x'))], outputs: thenOut },
        elseOut && {
          nodes: [{ id: 'e', kind: 'task', task: 'half', inputs: { v: input('x') } }],
          outputs: elseOut,
        },
      );
    expectInvalid(
      withNodes([branch({ v: out('t', 'v') }, { w: out('e', 'v') })]),
      'workflow.nodes[0].else.outputs',
    );
    expectInvalid(
      withNodes([branch({ v: out('t', 'v') }, { v: literal('text') })]),
      'workflow.nodes[0].else.outputs.v',
    );
    // int | float → float: fine for a float input, not for an int one.
    const half: NodeSpec = { id: 'h', kind: 'task', task: 'half', inputs: { v: out('b', 'v') } };
    expect(() =>
      validateWorkflowRegistration(withNodes([branch({ v: out('t', 'v') }, { v: out('e', 'v') }), half])),
    ).not.toThrow();
    expectInvalid(
      withNodes([branch({ v: out('t', 'v') }, { v: out('e', 'v') }), inc('i', out('b', 'v'))]),
      'workflow.nodes[1].inputs.v: expected int',
    );
    // No else: the output may be null.
    expectInvalid(
      withNodes([branch({ v: out('t', 'v') }), inc('i', out('b', 'v'))]),
      'workflow.nodes[1].inputs.v',
    );
    expect(() =>
      validateWorkflowRegistration(
        withNodes([branch({ v: out('t', 'v') })], { v: out('b', 'v') }, { v: optional(int) }),
      ),
    ).not.toThrow();
  });

  it('keeps nodes inside a branch out of reach of the rest of the graph', () => {
    const b = branchNode(
      'b',
      { op: 'isTrue', value: literal(true) },
      { nodes: [inc('inner', input('x'))], outputs: {} },
    );
    expectInvalid(withNodes([b, inc('after', out('inner', 'v'))]), 'workflow.nodes[1].inputs.v.node');
    expectInvalid(
      withNodes([{ ...b, condition: { op: 'isNull', value: out('inner', 'v') } } as NodeSpec]),
      'workflow.nodes[0].condition.value.node',
    );
  });

  it('checks conditions: comparisons of numbers or strings only', () => {
    const cond = (condition: unknown) =>
      withNodes([inc('a', input('x')), branchNode('b', condition as Condition, { nodes: [], outputs: {} })]);
    expect(() =>
      validateWorkflowRegistration(
        cond({
          op: 'and',
          conditions: [
            { op: 'lt', left: out('a', 'v'), right: literal(2.5) },
            { op: 'not', condition: { op: 'eq', left: input('s'), right: literal('x') } },
          ],
        }),
      ),
    ).not.toThrow();
    expectInvalid(
      cond({ op: 'lt', left: out('a', 'v'), right: literal('2') }),
      'workflow.nodes[1].condition',
    );
    expectInvalid(
      cond({ op: 'gt', left: input('xs'), right: literal(1) }),
      'workflow.nodes[1].condition.left',
    );
    expectInvalid(cond({ op: 'isTrue', value: input('x') }), 'workflow.nodes[1].condition.value');
    expectInvalid(cond({ op: 'xor', conditions: [] }), 'workflow.nodes[1].condition.op');
  });

  it('resolves sub-workflows: inputs against their interface, defaults may be left out, outputs typed', () => {
    const prep: WorkflowSpec = {
      name: 'prep',
      interface: { inputs: { v: int, step: int }, outputs: { v: int } },
      defaults: { step: 1 },
      nodes: [inc('i', input('v'))],
      outputs: { v: out('i', 'v') },
    };
    const reg = withNodes(
      [
        { id: 'p', kind: 'workflow', workflow: 'prep', inputs: { v: input('x') } },
        inc('after', out('p', 'v')),
      ],
      { v: out('after', 'v') },
      { v: int },
    );
    reg.subworkflows = [prep];
    expect(validateWorkflowRegistration(reg).subworkflows).toEqual([prep]);
    const missing = structuredClone(reg);
    missing.subworkflows = [{ ...prep, defaults: {} }];
    expectInvalid(missing, 'workflow.nodes[0].inputs.step');
    const badDefault = structuredClone(reg);
    badDefault.subworkflows = [{ ...prep, defaults: { step: 'one' } }];
    expectInvalid(badDefault, 'subworkflows[0].defaults.step');
    const wrongOutput = structuredClone(reg);
    wrongOutput.workflow.nodes[1] = inc('after', out('p', 'w'));
    expectInvalid(wrongOutput, 'workflow.nodes[1].inputs.v');
    const duplicate = structuredClone(reg);
    duplicate.subworkflows = [prep, prep];
    expectInvalid(duplicate, 'subworkflows[1].name');
  });

  it('refuses sub-workflows that inline each other', () => {
    const call = (id: string, workflow: string): NodeSpec => ({ id, kind: 'workflow', workflow, inputs: {} });
    const sub = (name: string, calls: string): WorkflowSpec => ({
      name,
      interface: { inputs: {}, outputs: {} },
      nodes: [call('c', calls)],
      outputs: {},
    });
    const reg = withNodes([call('a', 'one')]);
    reg.subworkflows = [sub('one', 'two'), sub('two', 'one')];
    const error = expectInvalid(reg, 'subworkflows[1].nodes[0].workflow');
    expect(error.message).toContain('cycle');
  });

  it('refuses more than 10,000 static nodes, counting inlined sub-workflows', () => {
    const many = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => inc(`${prefix}${i}`, input('x')));
    expectInvalid(withNodes(many(10_001, 'n')), 'workflow.nodes');
    expect(() => validateWorkflowRegistration(withNodes(many(10_000, 'n')))).not.toThrow();
    // 101 nodes inlined 100 times.
    const sub: WorkflowSpec = {
      name: 'sub',
      interface: { inputs: { x: int }, outputs: {} },
      nodes: many(100, 's'),
      outputs: {},
    };
    const reg = withNodes(
      Array.from(
        { length: 100 },
        (_, i): NodeSpec => ({ id: `w${i}`, kind: 'workflow', workflow: 'sub', inputs: { x: input('x') } }),
      ),
    );
    reg.subworkflows = [sub];
    expectInvalid(reg, 'workflow.nodes');
  });
});

describe('canonicalWorkflowJson', () => {
  it('is the sorted-key JSON of the content only, independent of task and sub-workflow order', () => {
    const a = registration();
    const b = registration({
      tasks: [...TASKS].reverse(),
      version: 'v9',
      description: 'x',
      code: { path: 'elsewhere', sha256: HASH },
    });
    expect(canonicalWorkflowJson(b)).toBe(canonicalWorkflowJson(a));
    const json = canonicalWorkflowJson(a);
    expect(json.startsWith(`{"code":"${HASH}","subworkflows":[],"tasks":[{"codeHash"`)).toBe(true);
    expect(json).not.toMatch(/\s/);
    const changed = registration({ code: { path: 'workflows/code/abc', sha256: 'b'.repeat(64) } });
    expect(canonicalWorkflowJson(changed)).not.toBe(json);
  });
});

describe('typeAccepts', () => {
  it.each<[string, TypeSpec, TypeSpec, boolean]>([
    ['int → float', float, int, true],
    ['float → int', int, float, false],
    ['same scalar', str, str, true],
    ['model → string', str, { type: 'model' }, true],
    ['string → model', { type: 'model' }, str, false],
    ['dataset → file', file, dataset, true],
    ['file → dataset', dataset, file, false],
    ['csv → parquet', { type: 'dataset', format: 'parquet' }, { type: 'dataset', format: 'csv' }, false],
    ['csv → dataset', dataset, { type: 'dataset', format: 'csv' }, true],
    ['file → directory', { type: 'directory' }, file, false],
    ['int → optional<float>', optional(float), int, true],
    ['optional<int> → optional<float>', optional(float), optional(int), true],
    ['optional<int> → int', int, optional(int), false],
    ['array<int> → array<float>', arrayOf(float), arrayOf(int), true],
    ['array<float> → array<int>', arrayOf(int), arrayOf(float), false],
    ['int → array<int>', arrayOf(int), int, false],
    ['record same fields', record({ a: float }), record({ a: int }), true],
    ['record missing optional field', record({ a: int, b: optional(str) }), record({ a: int }), true],
    ['record missing required field', record({ a: int, b: str }), record({ a: int }), false],
    ['record extra field', record({ a: int }), record({ a: int, b: str }), false],
    ['anything JSON → json', { type: 'json' }, record({ a: arrayOf(optional(int)) }), true],
    ['file → json', { type: 'json' }, file, false],
    ['json → int', int, { type: 'json' }, false],
  ])('%s', (_name, expected, actual, accepted) => {
    expect(typeAccepts(expected, actual)).toBe(accepted);
  });
});

describe('checkValue', () => {
  const artifact = { $artifact: 'workflows/data/x', sha256: HASH, kind: 'file', size: 3 };

  it('accepts values of the type', () => {
    checkValue(int, 3, 'v');
    checkValue(float, 3, 'v');
    checkValue(arrayOf(optional(int)), [1, null, 2], 'v');
    checkValue(record({ a: int, b: optional(str) }), { a: 1 }, 'v');
    checkValue({ type: 'model' }, 'models:/fraud@champion', 'v');
    checkValue({ type: 'json' }, { a: [1, 'x', null] }, 'v');
    checkValue(dataset, artifact, 'v');
    checkValue({ type: 'directory' }, { ...artifact, kind: 'directory' }, 'v');
  });

  it.each<[string, TypeSpec, unknown, string]>([
    ['a fraction for int', int, 1.5, 'inputs.k'],
    ['an unsafe integer for int', int, 2 ** 60, 'inputs.k'],
    ['NaN for float', float, Number.NaN, 'inputs.k'],
    ['a string for boolean', { type: 'boolean' }, 'true', 'inputs.k'],
    ['a bad item', arrayOf(int), [1, 'x'], 'inputs.k[1]'],
    ['a missing record field', record({ a: int }), {}, 'inputs.k.a'],
    ['an unknown record field', record({ a: int }), { a: 1, b: 2 }, 'inputs.k.b'],
    ['a bad model URI', { type: 'model' }, 'file:///x', 'inputs.k'],
    ['Infinity inside json', { type: 'json' }, { a: [Number.POSITIVE_INFINITY] }, 'inputs.k.a[0]'],
    ['a directory for file', file, { ...artifact, kind: 'directory' }, 'inputs.k'],
    ['a short sha256', file, { ...artifact, sha256: 'abc' }, 'inputs.k'],
  ])('refuses %s, naming the path', (_name, type, value, path) => {
    const error = errorOf(() => checkValue(type, value, 'inputs.k'));
    expect(error.code).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message.startsWith(path)).toBe(true);
  });

  it('takes a path or URI for a file only as a launch input', () => {
    expect(errorOf(() => checkValue(file, 'data/iris.csv', 'inputs.data')).code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    checkValue(dataset, 'data/iris.csv', 'inputs.data', 'launch');
    checkValue(arrayOf(file), ['runs:/abc/model.onnx', artifact], 'inputs.files', 'launch');
    expect(errorOf(() => checkValue(file, '', 'inputs.data', 'launch')).code).toBe('INVALID_PARAMETER_VALUE');
  });
});
