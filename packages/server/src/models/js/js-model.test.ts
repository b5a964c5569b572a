import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeScoringRequest,
  enforceSignature,
  KeelError,
  type ModelInput,
  serializeMLmodel,
  serializeSignature,
} from '@keel/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromDirectory, SUPPORTED_FLAVORS } from '../load-model.js';
import { normalizeModelOutput } from '../model-output.js';
import type { JsModel, JsModelOptions } from './js-model.js';

/**
 * A linear model `y = w·x + b` whose weights live in `data/weights.json`, as an SDK bundle would
 * write it. `params.form` picks the shape of what `predict` returns; `params.action` makes it misbehave.
 */
const LINEAR_MODULE = `
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export async function load({ modelDir, dataDir, mlmodel }) {
  const marker = mlmodel.flavors.js.crash_if_exists;
  if (marker && existsSync(marker)) throw new Error('marker file present');
  const weights = JSON.parse(await readFile(join(dataDir, 'weights.json'), 'utf8'));
  return { ...weights, modelDir, dataDir };
}

export async function predict(input, params = {}, state) {
  const x = input.columns.x;
  const y = x.map((v) => state.w * v + state.b);
  switch (params.action) {
    case 'throw': throw new Error('x must be positive');
    case 'exit': process.exit(3);
    case 'busy': { const end = Date.now() + params.ms; while (Date.now() < end); break; }
  }
  switch (params.form) {
    case 'tensors': return { kind: 'tensors', tensors: { y: { data: Float64Array.from(y), shape: [y.length, 1] } } };
    case 'columns': return { kind: 'columns', columns: { y }, rowCount: y.length };
    case 'object': return { y, label: y.map((v) => (v > 0 ? 'pos' : 'neg')) };
    case 'typed': return Float32Array.from(y);
    case 'state': return { dir: [state.modelDir], data: [state.dataDir] };
    case 'number': return 42;
    case 'function': return () => 1;
    case 'ragged': return { y, z: [...y, 0] };
    default: return y;
  }
}
`;

let root: string;
let dirs = 0;
const open: JsModel[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-js-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes a model directory: `code/model.mjs` holding `source`, `data/weights.json`, and `MLmodel`. */
async function modelDir(source = LINEAR_MODULE, flavor: Record<string, unknown> = {}): Promise<string> {
  const dir = join(root, `model-${dirs++}`);
  await mkdir(join(dir, 'code'), { recursive: true });
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'code', 'model.mjs'), source);
  await writeFile(join(dir, 'data', 'weights.json'), JSON.stringify({ w: 2, b: 1 }));
  const signature = serializeSignature({
    inputs: { kind: 'columns', columns: [{ name: 'x', type: 'double', required: true }] },
  });
  await writeFile(
    join(dir, 'MLmodel'),
    serializeMLmodel({
      artifact_path: 'model',
      flavors: { js: { entry: 'code/model.mjs', data: 'data', keel_version: '0.1.0', ...flavor } },
      signature,
    }),
  );
  return dir;
}

async function load(dir: string, options: JsModelOptions = {}): Promise<JsModel> {
  const model = (await loadModelFromDirectory(dir, options)) as JsModel;
  open.push(model);
  return model;
}

function xs(...values: number[]): ModelInput {
  return { kind: 'columns', columns: { x: values }, rowCount: values.length };
}

async function rejection(promise: Promise<unknown>, code: string): Promise<KeelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeelError);
  expect((error as KeelError).code).toBe(code);
  return error as KeelError;
}

describe('js flavor', () => {
  it('is registered after onnx and before process', () => {
    expect(SUPPORTED_FLAVORS).toEqual(['onnx', 'js', 'process']);
  });

  it('runs load() with the directories and predict() on a request checked against the signature', async () => {
    const dir = await modelDir();
    const model = await load(dir);
    expect(model.metadata).toMatchObject({ flavor: 'js', name: dir.split('/').at(-1) });
    expect(model.signature?.inputs).toEqual({
      kind: 'columns',
      columns: [{ name: 'x', type: 'double', required: true }],
    });
    expect(model.ready).toBe(true);
    expect(model.workerCount).toBe(1);
    const request = decodeScoringRequest({ dataframe_split: { columns: ['x'], data: [[1], [2.5]] } });
    expect(await model.predict(enforceSignature(request.input, model.signature ?? {}))).toEqual({
      kind: 'columns',
      columns: { predictions: [3, 6] },
      rowCount: 2,
    });
    expect(await model.predict(xs(0), { form: 'state' })).toEqual({
      kind: 'columns',
      columns: { dir: [dir], data: [join(dir, 'data')] },
      rowCount: 1,
    });
  });

  it.each([
    ['an array', undefined, { kind: 'columns', columns: { predictions: [3, 5] }, rowCount: 2 }],
    ['a typed array', 'typed', { kind: 'columns', columns: { predictions: [3, 5] }, rowCount: 2 }],
    [
      'an object of arrays',
      'object',
      { kind: 'columns', columns: { y: [3, 5], label: ['pos', 'pos'] }, rowCount: 2 },
    ],
    ['a columns output', 'columns', { kind: 'columns', columns: { y: [3, 5] }, rowCount: 2 }],
    ['a tensors output', 'tensors', { kind: 'tensors', tensors: { y: { data: [3, 5], shape: [2, 1] } } }],
  ])('normalizes %s', async (_what, form, expected) => {
    const model = await load(await modelDir());
    expect(await model.predict(xs(1, 2), form === undefined ? undefined : { form })).toEqual(expected);
  });

  it.each([
    ['number', 'a number (42)'],
    ['function', 'cannot be sent from its worker'],
    ['ragged', 'columns of different lengths (y: 1, z: 2)'],
  ])('fails a predict that returns a %s with INTERNAL_ERROR naming it', async (form, text) => {
    const model = await load(await modelDir());
    const error = await rejection(model.predict(xs(1), { form }), 'INTERNAL_ERROR');
    expect(error.message).toContain(text);
  });

  it('answers a predict that throws with 400 BAD_REQUEST and keeps serving', async () => {
    const model = await load(await modelDir());
    const error = await rejection(model.predict(xs(1), { action: 'throw' }), 'BAD_REQUEST');
    expect(error.message).toBe('Model predict failed: x must be positive');
    expect(await model.predict(xs(1))).toMatchObject({ columns: { predictions: [3] } });
  });

  it('fails the request of a worker that dies, replaces the worker and serves the next one', async () => {
    const model = await load(await modelDir());
    const exited = await rejection(model.predict(xs(1), { action: 'exit' }), 'INTERNAL_ERROR');
    expect(exited.message).toMatch(/exited while running the request/);
    expect(await model.predict(xs(2))).toMatchObject({ columns: { predictions: [5] } });
    model.crashNextRequestForTesting();
    await rejection(model.predict(xs(1)), 'INTERNAL_ERROR');
    expect(await model.predict(xs(3))).toMatchObject({ columns: { predictions: [7] } });
    await expect.poll(() => model.workerCount).toBe(1);
  });

  it('keeps the event loop free while predict burns CPU', async () => {
    const model = await load(await modelDir());
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      await model.predict(xs(1), { action: 'busy', ms: 300 });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(10);
  });

  it('spreads concurrent requests over its workers, each caller getting its own rows', async () => {
    const model = await load(await modelDir(), { workers: 2 });
    expect(model.workerCount).toBe(2);
    const outputs = await Promise.all(Array.from({ length: 50 }, (_, i) => model.predict(xs(i, -i))));
    outputs.forEach((output, i) => {
      expect(output).toEqual({
        kind: 'columns',
        columns: { predictions: [2 * i + 1, -2 * i + 1] },
        rowCount: 2,
      });
    });
  });

  it('answers 503 while a worker that fails to load waits for its restart, then recovers', async () => {
    const marker = join(root, 'js-marker');
    const model = await load(await modelDir(LINEAR_MODULE, { crash_if_exists: marker }), {
      restart: { initialDelayMs: 300, maxDelayMs: 300 },
    });
    await writeFile(marker, '');
    await rejection(model.predict(xs(1), { action: 'exit' }), 'INTERNAL_ERROR');
    await expect.poll(() => model.workerCount).toBe(0);
    expect(model.ready).toBe(false);
    const error = await rejection(model.predict(xs(1)), 'TEMPORARILY_UNAVAILABLE');
    expect(error.message).toContain('marker file present');
    await rm(marker);
    await expect.poll(() => model.ready, { timeout: 5000 }).toBe(true);
    expect(await model.predict(xs(1))).toMatchObject({ columns: { predictions: [3] } });
  });

  it('accepts a bundled CommonJS module (one default export) and a model without load() or data', async () => {
    const source = 'export default { predict: (input) => input.columns.x.map((v) => v + 1) };';
    const model = await load(await modelDir(source, { data: null }));
    expect(await model.predict(xs(1, 2))).toMatchObject({ columns: { predictions: [2, 3] } });
  });

  it.each([
    ['an entry outside the directory', { entry: '../escape.mjs' }, 'inside the model directory'],
    ['an absolute entry', { entry: '/tmp/model.mjs' }, 'inside the model directory'],
    ['a missing entry', { entry: 'code/missing.mjs' }, 'not found'],
    ['an entry that is a directory', { entry: 'code' }, 'not a file'],
    ['a data folder outside the directory', { data: '../..' }, 'inside the model directory'],
    ['a non-string entry', { entry: 3 }, 'must be a relative path'],
  ])('refuses %s', async (_what, flavor, text) => {
    const error = await rejection(load(await modelDir(LINEAR_MODULE, flavor)), 'INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(text);
  });

  it('refuses an entry that links outside the directory', async () => {
    const dir = await modelDir();
    await writeFile(join(root, 'outside.mjs'), LINEAR_MODULE);
    await symlink(join(root, 'outside.mjs'), join(dir, 'code', 'link.mjs'));
    const error = await rejection(
      load(await modelDirWithEntry(dir, 'code/link.mjs')),
      'INVALID_PARAMETER_VALUE',
    );
    expect(error.message).toContain('links outside the model directory');
  });

  it.each([
    ['without a predict export', 'export const load = () => 1;', 'exports no predict'],
    [
      'whose load() throws',
      'export function load() { throw new Error("no weights"); }\nexport const predict = () => [];',
      'no weights',
    ],
    ['that does not parse', 'export function predict( {', 'Cannot load JS model'],
  ])('refuses a module %s, leaving no worker behind', async (_what, source, text) => {
    const error = await rejection(load(await modelDir(source)), 'INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(text);
  });

  it('refuses a module whose load() does not finish within loadTimeoutMs', async () => {
    const source =
      'export const load = () => new Promise(() => setInterval(() => {}, 1000));\nexport const predict = () => [];';
    const error = await rejection(
      load(await modelDir(source), { loadTimeoutMs: 300 }),
      'INVALID_PARAMETER_VALUE',
    );
    expect(error.message).toContain('not ready within 300 ms');
  });

  it('close() stops the workers; later predicts reject', async () => {
    const model = await load(await modelDir(), { workers: 2 });
    await model.close();
    expect(model.workerCount).toBe(0);
    expect(model.ready).toBe(false);
    await rejection(model.predict(xs(1)), 'INTERNAL_ERROR');
  });
});

describe('normalizeModelOutput', () => {
  it('checks tensor sizes and values', () => {
    expect(() =>
      normalizeModelOutput({ kind: 'tensors', tensors: { y: { data: [1, 2, 3], shape: [2, 2] } } }, 'M'),
    ).toThrow("tensor 'y' with 3 values, but shape [2, 2] holds 4");
    expect(() =>
      normalizeModelOutput({ kind: 'tensors', tensors: { y: { data: ['a'], shape: [1] } } }, 'M'),
    ).toThrow('not a number');
    expect(
      normalizeModelOutput({ kind: 'tensors', tensors: { y: { data: [null, BigInt(2)], shape: [2] } } }, 'M'),
    ).toEqual({ kind: 'tensors', tensors: { y: { data: [Number.NaN, 2], shape: [2] } } });
  });

  it('checks columns against rowCount and names what it got', () => {
    expect(() => normalizeModelOutput({ kind: 'columns', columns: { y: [1] }, rowCount: 2 }, 'M')).toThrow(
      'columns of different lengths',
    );
    expect(normalizeModelOutput({ kind: 'columns', columns: { y: [1, 2] } }, 'M')).toEqual({
      kind: 'columns',
      columns: { y: [1, 2] },
      rowCount: 2,
    });
    expect(() => normalizeModelOutput({}, 'M')).toThrow('an object with no columns');
    expect(() => normalizeModelOutput({ y: 1 }, 'M')).toThrow("key 'y' holding a number (1)");
    expect(() => normalizeModelOutput(null, 'M')).toThrow('M returned null');
    expect(() => normalizeModelOutput(new Map(), 'M')).toThrow('an instance of Map');
    expect(() => normalizeModelOutput({ kind: 'rows' }, 'M')).toThrow('unknown kind "rows"');
  });
});

async function modelDirWithEntry(dir: string, entry: string): Promise<string> {
  await writeFile(
    join(dir, 'MLmodel'),
    serializeMLmodel({ flavors: { js: { entry, data: 'data', keel_version: '0.1.0' } } }),
  );
  return dir;
}
