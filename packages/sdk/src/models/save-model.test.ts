import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type MLmodel, parseMLmodel, parseSignature } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParameterError, KeelApiError } from '../errors.js';
import { type DenseLayer, exportMlp } from '../onnx/index.js';
import { dense, rng } from '../testing/dense-reference.js';
import { inferSignatureFromExample } from './infer-signature.js';
import { encodeInputExample } from './input-example.js';
import { toModelInput } from './model-io.js';
import { mlflowUtcTime, type SaveModelOptions, saveModel } from './save-model.js';

const run = promisify(execFile);
const REPO_NODE_MODULES = fileURLToPath(new URL('../../../../node_modules', import.meta.url));

const next = rng(7);
const LAYERS: DenseLayer[] = [dense(next, 4, 8, 'relu'), dense(next, 8, 3, 'softmax')];
const ONNX = exportMlp({ layers: LAYERS });

let root: string;
let count = 0;
/** A fresh, not yet existing model directory below the test's temporary folder. */
const fresh = (): string => join(root, `model-${++count}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-save-model-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function mlmodelOf(dir: string): Promise<MLmodel> {
  return parseMLmodel(await readFile(join(dir, 'MLmodel'), 'utf8'));
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => error as Error,
  );
}

async function expectInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(InvalidParameterError);
  expect((error as InvalidParameterError).code).toBe('INVALID_PARAMETER_VALUE');
  expect(error.message).toMatch(pattern);
}

describe('saveModel: onnx', () => {
  it('writes MLmodel with onnx and python_function flavors and a signature read from the graph', async () => {
    const dir = fresh();
    const saved = await saveModel(dir, { flavor: 'onnx', onnx: ONNX });
    expect(saved.path).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(['MLmodel', 'model.onnx', 'requirements.txt']);
    expect(new Uint8Array(await readFile(join(dir, 'model.onnx')))).toEqual(new Uint8Array(ONNX));
    expect(await readFile(join(dir, 'requirements.txt'), 'utf8')).toBe('mlflow\nonnx\nonnxruntime\n');

    const mlmodel = await mlmodelOf(dir);
    expect(mlmodel).toEqual(saved.mlmodel);
    expect(mlmodel.flavors).toEqual({
      onnx: { onnx_version: '1.12.0', data: 'model.onnx', providers: ['CPUExecutionProvider'] },
      python_function: { loader_module: 'mlflow.onnx', data: 'model.onnx' },
    });
    expect(mlmodel.model_uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(mlmodel.utc_time_created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(mlmodel.keel_version).toBe('0.1.0');
    expect(mlmodel.run_id).toBeUndefined();
    expect(mlmodel.saved_input_example_info).toBeUndefined();
    // MLflow's own encoding: JSON strings inside YAML, params null.
    expect(mlmodel.signature).toEqual({
      inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}, "name": "input"}]',
      outputs:
        '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}, "name": "output"}]',
      params: null,
    });
    expect(saved.signature).toEqual(parseSignature(mlmodel.signature ?? {}));
    expect(await readFile(join(dir, 'MLmodel'), 'utf8')).toMatch(
      /^flavors:\n {2}onnx:\n {4}data: model\.onnx\n/,
    );
  });

  it('copies a .onnx file and stores a row example as a data frame, with column inputs widened to double', async () => {
    const file = join(root, 'mlp.onnx');
    await writeFile(file, ONNX);
    const dir = fresh();
    const rows = [
      { a: 5, b: 3.5, c: 1.4, d: 0.2 },
      { a: 4.9, b: 3, c: 1.4, d: 0.2 },
    ];
    const saved = await saveModel(dir, {
      flavor: 'onnx',
      path: file,
      inputExample: rows,
      metadata: { team: 'ml' },
    });
    expect(await readFile(join(dir, 'input_example.json'), 'utf8')).toBe(
      '{"columns": ["a", "b", "c", "d"], "data": [[5, 3.5, 1.4, 0.2], [4.9, 3, 1.4, 0.2]]}',
    );
    expect(JSON.parse(await readFile(join(dir, 'serving_input_example.json'), 'utf8'))).toEqual({
      dataframe_split: {
        columns: ['a', 'b', 'c', 'd'],
        data: [
          [5, 3.5, 1.4, 0.2],
          [4.9, 3, 1.4, 0.2],
        ],
      },
    });
    const mlmodel = await mlmodelOf(dir);
    expect(mlmodel.saved_input_example_info).toEqual({
      artifact_path: 'input_example.json',
      type: 'dataframe',
      pandas_orient: 'split',
      serving_input_path: 'serving_input_example.json',
    });
    expect(mlmodel.metadata).toEqual({ team: 'ml' });
    expect(saved.signature?.inputs).toEqual({
      kind: 'columns',
      columns: ['a', 'b', 'c', 'd'].map((name) => ({ type: 'double', name, required: true })),
    });
    expect(saved.signature?.outputs?.kind).toBe('tensors');
  });

  it('stores nested arrays as an ndarray example, keeping the graph signature', async () => {
    const dir = fresh();
    const example = [new Float32Array([0.5, 1, 1.5, 2])];
    const saved = await saveModel(dir, { flavor: 'onnx', onnx: ONNX, inputExample: example });
    expect(await readFile(join(dir, 'input_example.json'), 'utf8')).toBe('[[0.5, 1, 1.5, 2]]');
    expect(await readFile(join(dir, 'serving_input_example.json'), 'utf8')).toBe(
      '{\n  "inputs": [\n    [\n      0.5,\n      1,\n      1.5,\n      2\n    ]\n  ]\n}',
    );
    expect((await mlmodelOf(dir)).saved_input_example_info).toEqual({
      artifact_path: 'input_example.json',
      type: 'ndarray',
      serving_input_path: 'serving_input_example.json',
    });
    expect(saved.signature?.inputs).toEqual({
      kind: 'tensors',
      tensors: [{ type: 'tensor', dtype: 'float32', shape: [-1, 4], name: 'input' }],
    });
  });

  it('refuses an input example that does not fit the signature, and removes the directory', async () => {
    const dir = fresh();
    await expectInvalid(
      saveModel(dir, { flavor: 'onnx', onnx: ONNX, inputExample: [[1, 2, 3]] }),
      /input example does not fit.*expected \[-1, 4\], got \[1, 3\]/,
    );
    expect(existsSync(dir)).toBe(false);
    const signature = inferSignatureFromExample([{ x: 1.5 }]);
    await expectInvalid(
      saveModel(fresh(), { flavor: 'onnx', onnx: ONNX, signature, inputExample: [{ y: 'a' }] }),
      /Model is missing inputs \['x'\]/,
    );
  });

  it('refuses bad sources, unknown flavors and non-empty directories', async () => {
    await expectInvalid(saveModel(fresh(), { flavor: 'onnx' }), /exactly one of 'path'.*or 'onnx'/);
    await expectInvalid(
      saveModel(fresh(), { flavor: 'onnx', onnx: ONNX, path: 'x.onnx' }),
      /exactly one of 'path'.*or 'onnx'/,
    );
    await expectInvalid(
      saveModel(fresh(), { flavor: 'onnx', path: join(root, 'missing.onnx') }),
      /Cannot read/,
    );
    await expectInvalid(
      saveModel(fresh(), { flavor: 'onnx', onnx: new Uint8Array([1, 2, 3]) }),
      /Not an ONNX model/,
    );
    await expectInvalid(
      saveModel(fresh(), { flavor: 'pickle' } as unknown as SaveModelOptions),
      /Unknown model flavor "pickle": expected one of onnx, js, process/,
    );
    const dir = fresh();
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine');
    await expectInvalid(saveModel(dir, { flavor: 'onnx', onnx: ONNX }), /exists and is not empty/);
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('saveModel: js', () => {
  let project: string;

  beforeAll(async () => {
    // A user's project: a TypeScript module importing an npm package from its own node_modules.
    project = join(root, 'js-project');
    await mkdir(join(project, 'node_modules'), { recursive: true });
    await symlink(join(REPO_NODE_MODULES, 'yaml'), join(project, 'node_modules', 'yaml'), 'dir');
    await writeFile(
      join(project, 'model.ts'),
      [
        "import { readFile } from 'node:fs/promises';",
        "import { join } from 'node:path';",
        "import { parse } from 'yaml';",
        'interface State { scale: number }',
        'export async function load(context: { dataDir?: string }): Promise<State> {',
        "  const text = context.dataDir ? await readFile(join(context.dataDir, 'config.yaml'), 'utf8') : 'scale: 1';",
        '  return parse(text) as State;',
        '}',
        'export function predict(input: { columns: Record<string, number[]> }, _params: unknown, state: State) {',
        '  return { y: input.columns.x.map((v) => v * state.scale) };',
        '}',
        'export const yamlRoundTrip = (text: string): unknown => parse(text);',
      ].join('\n'),
    );
    await mkdir(join(project, 'data'));
    await writeFile(join(project, 'data', 'config.yaml'), 'scale: 3\n');
  });

  it('bundles the module with its npm dependencies into code/model.mjs that runs without node_modules', async () => {
    const dir = fresh();
    const saved = await saveModel(dir, {
      flavor: 'js',
      module: join(project, 'model.ts'),
      data: join(project, 'data'),
      inputExample: { x: [1.5, 2.5] },
    });
    expect(saved.mlmodel.flavors).toEqual({
      js: { entry: 'code/model.mjs', data: 'data', keel_version: '0.1.0' },
    });
    expect(saved.signature?.inputs).toEqual({
      kind: 'columns',
      columns: [{ type: 'double', name: 'x', required: true }],
    });
    expect(await readFile(join(dir, 'data', 'config.yaml'), 'utf8')).toBe('scale: 3\n');
    const bundle = await readFile(join(dir, 'code', 'model.mjs'), 'utf8');
    expect(bundle).not.toMatch(/from ['"]yaml['"]/);

    // Moved far from any node_modules, the bundle still loads and runs in a plain `node`.
    const elsewhere = await mkdtemp(join(tmpdir(), 'keel-js-bundle-'));
    try {
      await cp(dir, elsewhere, { recursive: true });
      const script = `
        const m = await import(${JSON.stringify(pathToFileURL(join(elsewhere, 'code', 'model.mjs')).href)});
        const state = await m.load({ dataDir: ${JSON.stringify(join(elsewhere, 'data'))} });
        console.log(JSON.stringify([m.predict({ columns: { x: [1, 2] } }, {}, state), m.yamlRoundTrip('a: [1, 2]')]));
      `;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: elsewhere,
      });
      expect(JSON.parse(stdout)).toEqual([{ y: [3, 6] }, { a: [1, 2] }]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses a module without predict, one that does not bundle, and a missing file', async () => {
    await writeFile(join(project, 'no-predict.mjs'), 'export const load = () => 1;\n');
    await expectInvalid(
      saveModel(fresh(), { flavor: 'js', module: join(project, 'no-predict.mjs') }),
      /must export a predict\(input, params, state\) function; it exports \[load\]/,
    );
    await writeFile(
      join(project, 'broken.ts'),
      "import { nothing } from 'not-a-package';\nexport const predict = nothing;\n",
    );
    await expectInvalid(
      saveModel(fresh(), { flavor: 'js', module: join(project, 'broken.ts') }),
      /Cannot bundle the model module .*Could not resolve "not-a-package" \(.*broken\.ts:1:/,
    );
    await expectInvalid(
      saveModel(fresh(), { flavor: 'js', module: join(project, 'nope.ts') }),
      /is not a file/,
    );
  });
});

describe('saveModel: process', () => {
  let program: string;

  beforeAll(async () => {
    program = join(root, 'program');
    await mkdir(join(program, 'lib'), { recursive: true });
    await writeFile(join(program, 'serve.mjs'), "import './lib/util.mjs';\n");
    await writeFile(join(program, 'lib', 'util.mjs'), 'export const x = 1;\n');
    await symlink('lib/util.mjs', join(program, 'alias.mjs'));
  });

  it('copies the program folder (links inside it as files) and records command, protocol and env', async () => {
    const dir = fresh();
    const saved = await saveModel(dir, {
      flavor: 'process',
      path: program,
      command: ['node', 'serve.mjs'],
      env: { THREADS: '1' },
      inputExample: { text: ['a', 'b'] },
    });
    expect(saved.mlmodel.flavors).toEqual({
      process: { command: ['node', 'serve.mjs'], protocol: 'keel-jsonl/1', env: { THREADS: '1' } },
    });
    expect((await readdir(dir)).sort()).toEqual([
      'MLmodel',
      'alias.mjs',
      'input_example.json',
      'lib',
      'serve.mjs',
      'serving_input_example.json',
    ]);
    expect(await readFile(join(dir, 'alias.mjs'), 'utf8')).toBe('export const x = 1;\n');
    expect(saved.signature?.inputs).toEqual({
      kind: 'columns',
      columns: [{ type: 'string', name: 'text', required: true }],
    });
    expect(await readFile(join(dir, 'input_example.json'), 'utf8')).toBe(
      '{"columns": ["text"], "data": [["a"], ["b"]]}',
    );
  });

  it('rejects links leading outside the folder, reserved names and a bad command', async () => {
    const outside = join(root, 'secret.txt');
    await writeFile(outside, 'secret');
    const leaky = join(root, 'leaky');
    await mkdir(join(leaky, 'deep'), { recursive: true });
    await symlink(outside, join(leaky, 'deep', 'key.txt'));
    await expectInvalid(
      saveModel(fresh(), { flavor: 'process', path: leaky, command: ['node', 'x.js'] }),
      /'deep\/key\.txt' in the program directory is a symbolic link to '.*secret\.txt', outside/,
    );
    const up = join(root, 'up');
    await mkdir(up);
    await symlink('..', join(up, 'parent'));
    await expectInvalid(
      saveModel(fresh(), { flavor: 'process', path: up, command: ['node', 'x.js'] }),
      /'parent' in the program directory is a symbolic link to .*outside/,
    );
    const reserved = join(root, 'reserved');
    await mkdir(reserved);
    await writeFile(join(reserved, 'MLmodel'), 'flavors: {}\n');
    await expectInvalid(
      saveModel(fresh(), { flavor: 'process', path: reserved, command: ['node', 'x.js'] }),
      /may not hold 'MLmodel'/,
    );
    await expectInvalid(
      saveModel(fresh(), { flavor: 'process', path: program, command: [] }),
      /needs 'command'/,
    );
    await expectInvalid(
      saveModel(join(program, 'inside'), { flavor: 'process', path: program, command: ['node'] }),
      /lies inside it/,
    );
  });
});

describe('input examples', () => {
  it('writes dates, bytes, missing values and non-ASCII text as MLflow does', () => {
    const encoded = encodeInputExample([
      {
        when: new Date('2024-05-01T12:00:00Z'),
        blob: new Uint8Array([1, 2, 255]),
        name: 'Zoë',
        score: Number.NaN,
      },
      { name: 'Ann' },
    ]);
    expect(encoded.example).toBe(
      '{"columns": ["when", "blob", "name", "score"], "data": [["2024-05-01T12:00:00.000Z", "AQL/", "Zo\\u00eb", null], [null, null, "Ann", null]]}',
    );
    expect(encoded.servingInput).toContain('"Zo\\u00eb"');
    expect(encoded.input).toEqual({
      kind: 'columns',
      columns: {
        when: ['2024-05-01T12:00:00.000Z', null],
        blob: ['AQL/', null],
        name: ['Zoë', 'Ann'],
        score: [null, null],
      },
      rowCount: 2,
    });
  });

  it('stores other JSON values as a json_object example', () => {
    const encoded = encodeInputExample(['a', 'b']);
    expect(encoded.info).toEqual({
      artifact_path: 'input_example.json',
      type: 'json_object',
      serving_input_path: 'serving_input_example.json',
    });
    expect(encoded.example).toBe('["a", "b"]');
    expect(encoded.servingInput).toBe('{\n  "inputs": [\n    "a",\n    "b"\n  ]\n}');
  });

  it('refuses empty and ragged examples', () => {
    expect(() => encodeInputExample({ a: [1, 2], b: [1] })).toThrow(InvalidParameterError);
    expect(() => encodeInputExample({ a: [] })).toThrow(/no rows/);
    expect(() => encodeInputExample([[1, 2], [3]])).toThrow(/not a rectangular array/);
  });
});

describe('inferSignatureFromExample and toModelInput', () => {
  it('infers from rows, nested arrays and a ModelInput, with SDK errors', () => {
    expect(inferSignatureFromExample([{ age: 42, income: 5.5 }], [0.5]).inputs).toEqual({
      kind: 'columns',
      columns: [
        { type: 'long', name: 'age', required: true },
        { type: 'double', name: 'income', required: true },
      ],
    });
    expect(
      inferSignatureFromExample({ kind: 'tensors', tensors: { '': { data: [1.5, 2, 3, 4], shape: [2, 2] } } })
        .inputs,
    ).toEqual({ kind: 'tensors', tensors: [{ type: 'tensor', dtype: 'float64', shape: [-1, 2] }] });
    expect(() => inferSignatureFromExample([{ a: 1 }, { a: 'x' }])).toThrow(InvalidParameterError);
  });

  it('reads rows, columns, one row, nested and typed arrays and named tensors', () => {
    expect(toModelInput([{ a: 1 }, { b: 'x' }])).toEqual({
      kind: 'columns',
      columns: { a: [1, null], b: [null, 'x'] },
      rowCount: 2,
    });
    expect(toModelInput({ a: [1, 2], b: new Float64Array([3, 4]) })).toEqual({
      kind: 'columns',
      columns: { a: [1, 2], b: [3, 4] },
      rowCount: 2,
    });
    expect(toModelInput({ a: 1, b: 'x' })).toEqual({
      kind: 'columns',
      columns: { a: [1], b: ['x'] },
      rowCount: 1,
    });
    expect(toModelInput([new Float32Array([1, 2]), new Float32Array([3, 4])])).toEqual({
      kind: 'tensors',
      tensors: { '': { data: [1, 2, 3, 4], shape: [2, 2] } },
    });
    expect(toModelInput({ image: [[1, 2]], mask: [[true, false]] })).toEqual({
      kind: 'tensors',
      tensors: { image: { data: [1, 2], shape: [1, 2] }, mask: { data: [true, false], shape: [1, 2] } },
    });
    let error: unknown;
    try {
      toModelInput([[1, 2], [3]]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeelApiError);
    expect((error as KeelApiError).code).toBe('BAD_REQUEST');
    expect(() => toModelInput({ a: [1], b: 2 })).toThrow(/lists of equal length.*or single values/);
  });

  it('formats utc_time_created like MLflow', () => {
    expect(mlflowUtcTime(new Date('2024-05-01T02:03:04.005Z'))).toBe('2024-05-01 02:03:04.005000');
  });
});
