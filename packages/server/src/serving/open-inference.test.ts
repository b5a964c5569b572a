import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEEL_VERSION, type Signature } from '@keel/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DenseLayer, exportMlp } from '../../../sdk/src/onnx/index.js';
import { dense, forward, matrix, rng } from '../../../sdk/src/testing/dense-reference.js';
import { loadModelFromDirectory } from '../models/load-model.js';
import type { Model } from '../models/model.js';
import type { OnnxModel } from '../models/onnx/onnx-model.js';
import { echo, float32Tensors, Gate, ScriptedModel, writeOnnxModelDir } from '../testing/serving-fixtures.js';
import { buildModelServer, type ModelServerOptions } from './model-server.js';
import { decodeInferRequest, modelTensors } from './open-inference.js';

const FEATURES = 30;
const next = rng(21);
const LAYERS: DenseLayer[] = [dense(next, FEATURES, 16, 'tanh'), dense(next, 16, 2, 'softmax')];
const TOLERANCE = 1e-5;
const COLUMNS = Array.from({ length: FEATURES }, (_, c) => `f${c}`);

const TENSOR_SIGNATURE: Signature = {
  inputs: float32Tensors({ input: [-1, FEATURES] }),
  outputs: float32Tensors({ output: [-1, 2] }),
};
const COLUMN_SIGNATURE: Signature = {
  inputs: { kind: 'columns', columns: COLUMNS.map((name) => ({ type: 'float', name, required: true })) },
};

function expectForward(output: { shape: number[]; data: number[] }, rows: number[][]): void {
  expect(output.shape).toEqual([rows.length, 2]);
  rows.forEach((row, r) => {
    forward(LAYERS, row).forEach((want, j) => {
      expect(Math.abs((output.data[r * 2 + j] ?? Number.NaN) - want)).toBeLessThan(TOLERANCE);
    });
  });
}

function fp32(rows: number[][], name = 'input') {
  return { name, shape: [rows.length, FEATURES], datatype: 'FP32', data: rows.flat() };
}

describe('Open Inference Protocol', () => {
  let dir: string;
  const models: Model[] = [];
  const apps: FastifyInstance[] = [];
  let onnx: Uint8Array;
  let tensorModel: Model;
  let app: FastifyInstance;
  let versioned: FastifyInstance;

  async function serve(model: Model, options: Partial<ModelServerOptions> = {}) {
    const served = await buildModelServer({ model, ...options });
    apps.push(served);
    return served;
  }

  async function load(sub: string, signature?: Signature): Promise<Model> {
    const model = await loadModelFromDirectory(await writeOnnxModelDir(join(dir, sub), onnx, signature), {
      workers: 1,
    });
    models.push(model);
    return model;
  }

  function infer(target: FastifyInstance, body: unknown, url = '/v2/models/mlp/infer') {
    return target.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-oip-'));
    onnx = exportMlp({ layers: LAYERS });
    tensorModel = await load('mlp', TENSOR_SIGNATURE);
    app = await serve(tensorModel);
    versioned = await serve(tensorModel, { name: 'fraud', version: '3' });
  });

  afterAll(async () => {
    for (const served of apps) await served.close();
    for (const model of models) await model.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('health and metadata', () => {
    it('answers live, ready and server metadata', async () => {
      expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
      const ready = await app.inject({ method: 'GET', url: '/v2/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ ready: true });
      for (const url of ['/v2', '/v2/']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ name: 'keel', version: KEEL_VERSION, extensions: [] });
      }
    });

    it('answers model metadata from the signature, without a version for an unversioned model', async () => {
      const res = await app.inject({ method: 'GET', url: '/v2/models/mlp' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        name: 'mlp',
        platform: 'onnx_onnxv1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
      });
    });

    it('answers model metadata with and without the version for a versioned model', async () => {
      for (const url of ['/v2/models/fraud', '/v2/models/fraud/versions/3']) {
        const res = await versioned.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ name: 'fraud', versions: ['3'], platform: 'onnx_onnxv1' });
      }
    });

    it('takes metadata from the ONNX graph when the model has no signature, and one input per column for a column signature', async () => {
      const bare = await serve(await load('bare'), { name: 'bare' });
      expect((await bare.inject({ method: 'GET', url: '/v2/models/bare' })).json()).toEqual({
        name: 'bare',
        platform: 'onnx_onnxv1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
      });
      const columns = await serve(await load('columns', COLUMN_SIGNATURE), { name: 'columns' });
      const metadata = (await columns.inject({ method: 'GET', url: '/v2/models/columns' })).json();
      expect(metadata.inputs).toHaveLength(FEATURES);
      expect(metadata.inputs[0]).toEqual({ name: 'f0', datatype: 'FP32', shape: [-1] });
      expect(metadata.outputs).toEqual([{ name: 'output', datatype: 'FP32', shape: [-1, 2] }]);
    });

    it('maps signature types to datatypes and names platforms of other flavors keel_<flavor>', () => {
      const model = new ScriptedModel({
        flavor: 'process',
        predict: echo,
        signature: {
          inputs: {
            kind: 'tensors',
            tensors: [
              { type: 'tensor', dtype: 'int64', shape: [-1], name: 'a' },
              { type: 'tensor', dtype: 'bool', shape: [-1, 2], name: 'b' },
              { type: 'tensor', dtype: 'str', shape: [-1], name: 'c' },
              { type: 'tensor', dtype: 'float16', shape: [2], name: 'd' },
            ],
          },
          outputs: {
            kind: 'columns',
            columns: [
              { type: 'long', required: true },
              { type: 'boolean', name: 'flag', required: true },
              { type: 'string', name: 's', required: true },
            ],
          },
        },
      });
      expect(modelTensors(model)).toEqual({
        inputs: [
          { name: 'a', datatype: 'INT64', shape: [-1] },
          { name: 'b', datatype: 'BOOL', shape: [-1, 2] },
          { name: 'c', datatype: 'BYTES', shape: [-1] },
          { name: 'd', datatype: 'FP16', shape: [2] },
        ],
        outputs: [
          { name: '0', datatype: 'INT64', shape: [-1] },
          { name: 'flag', datatype: 'BOOL', shape: [-1] },
          { name: 's', datatype: 'BYTES', shape: [-1] },
        ],
      });
    });

    it('answers model readiness with and without the version, 503 while not ready', async () => {
      for (const url of ['/v2/models/fraud/ready', '/v2/models/fraud/versions/3/ready']) {
        const res = await versioned.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ name: 'fraud', ready: true });
      }
      const model = new ScriptedModel({ name: 'flaky', predict: echo });
      const flaky = await serve(model);
      model.ready = false;
      const modelReady = await flaky.inject({ method: 'GET', url: '/v2/models/flaky/ready' });
      expect(modelReady.statusCode).toBe(503);
      expect(modelReady.json()).toEqual({ name: 'flaky', ready: false });
      const serverReady = await flaky.inject({ method: 'GET', url: '/v2/health/ready' });
      expect(serverReady.statusCode).toBe(503);
      expect(serverReady.json()).toEqual({ ready: false });
      expect((await flaky.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
    });
  });

  describe('infer', () => {
    const rows = matrix(rng(9), 4, FEATURES, 2);

    it('scores FP32 tensors given flat or nested and matches the JS forward pass', async () => {
      for (const data of [rows.flat(), rows]) {
        const res = await infer(app, { inputs: [{ ...fp32(rows), data }] });
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect(body.model_name).toBe('mlp');
        expect(body).not.toHaveProperty('model_version');
        expect(body).not.toHaveProperty('id');
        expect(body.outputs).toHaveLength(1);
        expect(body.outputs[0].name).toBe('output');
        expect(body.outputs[0].datatype).toBe('FP32');
        expectForward(body.outputs[0], rows);
      }
    });

    it('echoes the id and the version, on versioned and unversioned paths', async () => {
      for (const url of ['/v2/models/fraud/infer', '/v2/models/fraud/versions/3/infer']) {
        const res = await infer(versioned, { id: 'req-42', inputs: [fp32(rows)] }, url);
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect(body).toMatchObject({ model_name: 'fraud', model_version: '3', id: 'req-42' });
        expectForward(body.outputs[0], rows);
      }
    });

    it('returns only the outputs asked for', async () => {
      const res = await infer(app, { inputs: [fp32(rows)], outputs: [{ name: 'output' }] });
      expect(res.statusCode).toBe(200);
      expect(res.json().outputs.map((o: { name: string }) => o.name)).toEqual(['output']);
      const model = new ScriptedModel({ name: 'echo', predict: echo });
      const echoApp = await serve(model);
      const two = [
        { name: 'a', shape: [2], datatype: 'INT32', data: [1, 2] },
        { name: 'b', shape: [2], datatype: 'BOOL', data: [true, false] },
      ];
      const all = await infer(echoApp, { inputs: two }, '/v2/models/echo/infer');
      expect(all.json().outputs).toEqual([
        { name: 'a', shape: [2], datatype: 'FP64', data: [1, 2] },
        { name: 'b', shape: [2], datatype: 'BOOL', data: [true, false] },
      ]);
      const onlyB = await infer(echoApp, { inputs: two, outputs: [{ name: 'b' }] }, '/v2/models/echo/infer');
      expect(onlyB.json().outputs).toEqual([
        { name: 'b', shape: [2], datatype: 'BOOL', data: [true, false] },
      ]);
    });

    it('turns inputs named like columns into columns for a column-signature model', async () => {
      const columns = await serve(await load('columns-infer', COLUMN_SIGNATURE), { name: 'columns' });
      for (const shape of [(n: number) => [n], (n: number) => [n, 1]]) {
        const inputs = COLUMNS.map((name, c) => ({
          name,
          shape: shape(rows.length),
          datatype: 'FP32',
          data: rows.map((row) => row[c]),
        }));
        const res = await infer(columns, { inputs }, '/v2/models/columns/infer');
        expect(res.statusCode).toBe(200);
        expectForward(res.json().outputs[0], rows);
      }
      const whole = await infer(columns, { inputs: [fp32(rows, 'table')] }, '/v2/models/columns/infer');
      expect(whole.statusCode).toBe(200);
      expectForward(whole.json().outputs[0], rows);
    });

    it('accepts every JSON datatype with valid values', async () => {
      const model = new ScriptedModel({ name: 'echo', predict: echo });
      const echoApp = await serve(model);
      const inputs = [
        { name: 'bool', datatype: 'BOOL', data: [true, false] },
        { name: 'u8', datatype: 'UINT8', data: [0, 255] },
        { name: 'u16', datatype: 'UINT16', data: [0, 65535] },
        { name: 'u32', datatype: 'UINT32', data: [0, 4294967295] },
        { name: 'u64', datatype: 'UINT64', data: [0, 2 ** 53] },
        { name: 'i8', datatype: 'INT8', data: [-128, 127] },
        { name: 'i16', datatype: 'INT16', data: [-32768, 32767] },
        { name: 'i32', datatype: 'INT32', data: [-(2 ** 31), 2 ** 31 - 1] },
        { name: 'i64', datatype: 'INT64', data: [-(2 ** 53), 2 ** 53] },
        { name: 'f32', datatype: 'FP32', data: [1.5, -2] },
        { name: 'f64', datatype: 'FP64', data: [1e300, 0] },
        { name: 'bytes', datatype: 'BYTES', data: ['a', ''] },
      ].map((input) => ({ ...input, shape: [2] }));
      const res = await infer(echoApp, { inputs }, '/v2/models/echo/infer');
      expect(res.statusCode).toBe(200);
      const received = model.calls.at(-1)?.input;
      expect(received?.kind).toBe('tensors');
      inputs.forEach(({ name, data }) => {
        expect(received?.kind === 'tensors' && received.tensors[name]).toEqual({ data, shape: [2] });
      });
    });

    it('types outputs by the declared signature (BOOL as booleans, INT64, BYTES)', async () => {
      const model = new ScriptedModel({
        name: 'typed',
        signature: {
          outputs: {
            kind: 'tensors',
            tensors: [
              { type: 'tensor', dtype: 'bool', shape: [-1], name: 'flag' },
              { type: 'tensor', dtype: 'int64', shape: [-1], name: 'count' },
            ],
          },
        },
        predict: () => ({
          kind: 'tensors',
          tensors: { flag: { data: [1, 0], shape: [2] }, count: { data: [3, 4], shape: [2] } },
        }),
      });
      const typed = await serve(model);
      const res = await infer(
        typed,
        { inputs: [{ name: 'x', shape: [2], datatype: 'FP64', data: [1, 2] }] },
        '/v2/models/typed/infer',
      );
      expect(res.json().outputs).toEqual([
        { name: 'flag', shape: [2], datatype: 'BOOL', data: [true, false] },
        { name: 'count', shape: [2], datatype: 'INT64', data: [3, 4] },
      ]);
      const columns = new ScriptedModel({
        name: 'labels',
        predict: () => ({
          kind: 'columns',
          columns: {
            label: ['a', 'b'],
            probs: [
              [0.1, 0.9],
              [0.8, 0.2],
            ],
          },
          rowCount: 2,
        }),
      });
      const labels = await infer(
        await serve(columns),
        { inputs: [{ name: 'x', shape: [2], datatype: 'FP64', data: [1, 2] }] },
        '/v2/models/labels/infer',
      );
      expect(labels.json().outputs).toEqual([
        { name: 'label', shape: [2], datatype: 'BYTES', data: ['a', 'b'] },
        { name: 'probs', shape: [2, 2], datatype: 'FP64', data: [0.1, 0.9, 0.8, 0.2] },
      ]);
    });

    it("passes `parameters` as params checked against the signature's parameter schema", async () => {
      const model = new ScriptedModel({
        name: 'params',
        signature: { params: [{ name: 'k', type: 'long', default: 5, shape: null }] },
        predict: (_input, params) => ({ kind: 'columns', columns: { k: [params?.k] }, rowCount: 1 }),
      });
      const paramsApp = await serve(model);
      const x = [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }];
      const given = await infer(
        paramsApp,
        { inputs: x, parameters: { k: 7, other: 'dropped' } },
        '/v2/models/params/infer',
      );
      expect(given.json().outputs[0].data).toEqual([7]);
      expect(model.calls.at(-1)?.params).toEqual({ k: 7 });
      const defaulted = await infer(paramsApp, { inputs: x }, '/v2/models/params/infer');
      expect(defaulted.json().outputs[0].data).toEqual([5]);
      const wrong = await infer(paramsApp, { inputs: x, parameters: { k: 1.5 } }, '/v2/models/params/infer');
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().error).toContain("'k'");
    });
  });

  describe('errors', () => {
    const row = matrix(rng(3), 1, FEATURES, 1);
    const ok = fp32(row);

    it.each([
      ['a body that is not JSON', '{"inputs": ['],
      ['a body that is not an object', '[1]'],
      ['no inputs', {}],
      ['empty inputs', { inputs: [] }],
      ['an input that is not an object', { inputs: [1] }],
      ['an input without a name', { inputs: [{ ...ok, name: undefined }] }],
      ['a negative dimension', { inputs: [{ ...ok, shape: [-1, FEATURES] }] }],
      ['a shape that is not a list', { inputs: [{ ...ok, shape: 'big' }] }],
      ['an unknown datatype', { inputs: [{ ...ok, datatype: 'FP8' }] }],
      ['data that is not a list', { inputs: [{ ...ok, data: 1 }] }],
      ['too few elements for the shape', { inputs: [{ ...ok, shape: [2, FEATURES] }] }],
      ['too many elements for the shape', { inputs: [{ ...ok, shape: [1, FEATURES - 1] }] }],
      ['a value of the wrong type', { inputs: [{ ...ok, data: ['x', ...row.flat().slice(1)] }] }],
      ['the same input twice', { inputs: [ok, ok] }],
      ['an id that is not a string', { id: 5, inputs: [ok] }],
      ['parameters that are not an object', { parameters: [1], inputs: [ok] }],
      ['binary_data_output', { parameters: { binary_data_output: true }, inputs: [ok] }],
      ['binary_data_size on an input', { inputs: [{ ...ok, parameters: { binary_data_size: 120 } }] }],
      [
        'binary_data on an output',
        { inputs: [ok], outputs: [{ name: 'output', parameters: { binary_data: true } }] },
      ],
      ['outputs that are not a list', { inputs: [ok], outputs: 'output' }],
      ['an unknown output', { inputs: [ok], outputs: [{ name: 'logits' }] }],
      ['an input the signature does not know under a missing one', { inputs: [{ ...ok, name: 'features' }] }],
      ['a shape the signature refuses', { inputs: [{ ...ok, shape: [FEATURES, 1] }] }],
    ])('answers 400 {error} for %s', async (_case, body) => {
      const res = await infer(app, body);
      expect(res.statusCode).toBe(400);
      expect(Object.keys(res.json())).toEqual(['error']);
      expect(typeof res.json().error).toBe('string');
    });

    it.each([
      ['INT8 out of range', 'INT8', [128]],
      ['UINT8 negative', 'UINT8', [-1]],
      ['INT32 not integral', 'INT32', [1.5]],
      ['UINT32 out of range', 'UINT32', [2 ** 32]],
      ['BOOL as a number', 'BOOL', [1]],
      ['BYTES as a number', 'BYTES', [1]],
      ['FP64 as a string', 'FP64', ['1']],
      ['FP32 as null', 'FP32', [null]],
    ])('answers 400 for %s', async (_case, datatype, data) => {
      const echoApp = await serve(new ScriptedModel({ name: 'echo', predict: echo }));
      const res = await infer(
        echoApp,
        { inputs: [{ name: 'x', shape: [1], datatype, data }] },
        '/v2/models/echo/infer',
      );
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toContain("Input 'x'");
    });

    it('answers 400 for FP16, which needs the binary extension, and for a binary request body', async () => {
      const fp16 = await infer(app, { inputs: [{ ...ok, datatype: 'FP16' }] });
      expect(fp16.statusCode).toBe(400);
      expect(fp16.json().error).toContain('binary tensor data extension');
      const binary = await app.inject({
        method: 'POST',
        url: '/v2/models/mlp/infer',
        headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '10' },
        payload: Buffer.from('{"inputs":[]}0123456789'),
      });
      expect(binary.statusCode).toBe(400);
      expect(binary.json().error).toContain('binary tensor data extension');
    });

    it('answers 404 {error} for an unknown model, an unknown version and an unknown path', async () => {
      const cases: [FastifyInstance, 'GET' | 'POST', string][] = [
        [app, 'GET', '/v2/models/other'],
        [app, 'GET', '/v2/models/other/ready'],
        [app, 'POST', '/v2/models/other/infer'],
        [app, 'GET', '/v2/models/mlp/versions/1'],
        [app, 'POST', '/v2/models/mlp/versions/1/infer'],
        [versioned, 'GET', '/v2/models/fraud/versions/4'],
        [versioned, 'GET', '/v2/models/fraud/versions/4/ready'],
        [versioned, 'POST', '/v2/models/fraud/versions/4/infer'],
        [app, 'GET', '/v2/models'],
        [app, 'GET', '/v2/models/mlp/infer'],
        [app, 'GET', '/v2/repository/index'],
      ];
      for (const [target, method, url] of cases) {
        const res =
          method === 'POST'
            ? await target.inject({
                method,
                url,
                headers: { 'content-type': 'application/json' },
                payload: JSON.stringify({ inputs: [ok] }),
              })
            : await target.inject({ method, url });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(Object.keys(res.json())).toEqual(['error']);
      }
    });

    it('answers 413 {error} past the body limit', async () => {
      const small = await serve(tensorModel, { name: 'mlp', bodyLimit: 1024 });
      const res = await infer(small, { inputs: [fp32(matrix(rng(4), 20, FEATURES, 1))] });
      expect(res.statusCode).toBe(413);
      expect(Object.keys(res.json())).toEqual(['error']);
    });

    it('answers 503 {error} with Retry-After when the queue is full', async () => {
      const gate = new Gate();
      const model = new ScriptedModel({
        name: 'slow',
        predict: async (input) => {
          await gate.opened;
          return echo(input);
        },
      });
      const slow = await serve(model, {
        concurrency: 1,
        maxQueueRows: 1,
        batching: { maxBatchSize: 1, maxDelayMs: 0 },
      });
      const x = (v: number) => ({ inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [v] }] });
      const running = infer(slow, x(1), '/v2/models/slow/infer');
      await expect.poll(() => model.calls.length).toBe(1);
      const queued = infer(slow, x(2), '/v2/models/slow/infer');
      await expect
        .poll(async () => (await slow.inject({ method: 'GET', url: '/metrics' })).body)
        .toContain('keel_serving_queue_rows 1');
      const refused = await infer(slow, x(3), '/v2/models/slow/infer');
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(Object.keys(refused.json())).toEqual(['error']);
      gate.open();
      expect((await running).json().outputs[0].data).toEqual([1]);
      expect((await queued).json().outputs[0].data).toEqual([2]);
    });

    it('answers 500 {error} when the model fails', async () => {
      (tensorModel as OnnxModel).crashNextRequestForTesting();
      const res = await infer(app, { inputs: [ok] });
      expect(res.statusCode).toBe(500);
      expect(Object.keys(res.json())).toEqual(['error']);
      const broken = new ScriptedModel({
        name: 'broken',
        predict: () => {
          throw new TypeError('secret detail');
        },
      });
      const opaque = await infer(await serve(broken), { inputs: [ok] }, '/v2/models/broken/infer');
      expect(opaque.statusCode).toBe(500);
      expect(opaque.json().error).not.toContain('secret detail');
    });
  });
});

describe('decodeInferRequest', () => {
  const model = new ScriptedModel({ predict: echo });

  it('flattens nested data of any depth and keeps id, parameters and outputs', () => {
    const decoded = decodeInferRequest(
      {
        id: 'a',
        parameters: { p: 1 },
        inputs: [
          {
            name: 'x',
            shape: [2, 2, 1],
            datatype: 'INT64',
            data: [
              [[1], [2]],
              [[3], [4]],
            ],
          },
        ],
        outputs: [{ name: 'y' }],
      },
      model,
    );
    expect(decoded).toEqual({
      input: { kind: 'tensors', tensors: { x: { data: [1, 2, 3, 4], shape: [2, 2, 1] } } },
      parameters: { p: 1 },
      id: 'a',
      outputs: ['y'],
    });
  });

  it('feeds a single unnamed tensor spec whatever the input is called', () => {
    const unnamed = new ScriptedModel({
      predict: echo,
      signature: {
        inputs: { kind: 'tensors', tensors: [{ type: 'tensor', dtype: 'float64', shape: [-1] }] },
      },
    });
    const decoded = decodeInferRequest(
      { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] },
      unnamed,
    );
    expect(decoded.input).toEqual({ kind: 'tensors', tensors: { '': { data: [1], shape: [1] } } });
  });
});
