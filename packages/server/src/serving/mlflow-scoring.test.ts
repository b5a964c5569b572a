import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEEL_VERSION, KeelError, parseMLmodel, type Signature, serializeMLmodel } from '@keel/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DenseLayer, exportMlp } from '../../../sdk/src/onnx/index.js';
import { dense, forward, matrix, rng } from '../../../sdk/src/testing/dense-reference.js';
import { loadModelFromDirectory } from '../models/load-model.js';
import type { Model } from '../models/model.js';
import type { OnnxModel } from '../models/onnx/onnx-model.js';
import {
  float32Tensors,
  Gate,
  ScriptedModel,
  writeJsModelDir,
  writeOnnxModelDir,
} from '../testing/serving-fixtures.js';
import { scoringContentType, toPredictions } from './mlflow-scoring.js';
import { buildModelServer } from './model-server.js';

const FEATURES = 30;
const next = rng(11);
const LAYERS: DenseLayer[] = [dense(next, FEATURES, 16, 'relu'), dense(next, 16, 2, 'softmax')];
const TOLERANCE = 1e-5;
const COLUMNS = Array.from({ length: FEATURES }, (_, c) => `f${c}`);

const TENSOR_SIGNATURE: Signature = {
  inputs: float32Tensors({ input: [-1, FEATURES] }),
  outputs: float32Tensors({ output: [-1, 2] }),
};
const COLUMN_SIGNATURE: Signature = {
  inputs: { kind: 'columns', columns: COLUMNS.map((name) => ({ type: 'double', name, required: true })) },
};

/** A js-flavor model whose answer's shape is chosen by the `mode` parameter. */
const JS_MODEL = `
export function predict(input, params) {
  const x = input.columns.x;
  const scale = params.scale;
  switch (params.mode) {
    case 'list': return x.map((v) => v * scale);
    case 'records': return { y: x.map((v) => v * scale), label: x.map((v) => (v > 0 ? 'pos' : 'neg')) };
    case 'single': return { y: x.map((v) => v * scale) };
    case 'tensors': return { kind: 'tensors', tensors: {
      a: { data: x.map((v) => v * scale), shape: [x.length] },
      b: { data: x.flatMap((v) => [v, -v]), shape: [x.length, 2] },
    } };
    case 'params': return x.map(() => JSON.stringify(params));
    default: throw new Error('unknown mode ' + params.mode);
  }
}
`;
const JS_SIGNATURE: Signature = {
  inputs: { kind: 'columns', columns: [{ type: 'double', name: 'x', required: true }] },
  params: [
    { name: 'scale', type: 'double', default: 1, shape: null },
    { name: 'mode', type: 'string', default: 'list', shape: null },
  ],
};

function expectForward(predictions: unknown, rows: number[][]): void {
  expect(predictions).toHaveLength(rows.length);
  rows.forEach((row, r) => {
    const got = (predictions as number[][])[r] ?? [];
    forward(LAYERS, row).forEach((want, j) => {
      expect(Math.abs((got[j] ?? Number.NaN) - want)).toBeLessThan(TOLERANCE);
    });
  });
}

function columnsOf(rows: number[][]): Record<string, number[]> {
  return Object.fromEntries(COLUMNS.map((name, c) => [name, rows.map((row) => row[c] ?? 0)]));
}

function post(app: FastifyInstance, payload: unknown, contentType = 'application/json') {
  return app.inject({
    method: 'POST',
    url: '/invocations',
    headers: { 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

describe('MLflow scoring protocol', () => {
  let dir: string;
  const models: Model[] = [];
  const apps: FastifyInstance[] = [];
  let tensorModel: Model;
  let tensorApp: FastifyInstance;
  let columnApp: FastifyInstance;
  let jsApp: FastifyInstance;

  async function serve(model: Model, options: Partial<Parameters<typeof buildModelServer>[0]> = {}) {
    const app = await buildModelServer({ model, ...options });
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-scoring-'));
    const onnx = exportMlp({ layers: LAYERS });
    const load = async (sub: string, write: (d: string) => Promise<string>) => {
      const model = await loadModelFromDirectory(await write(join(dir, sub)), { workers: 1 });
      models.push(model);
      return model;
    };
    tensorModel = await load('tensor', (d) => writeOnnxModelDir(d, onnx, TENSOR_SIGNATURE));
    tensorApp = await serve(tensorModel);
    columnApp = await serve(await load('columns', (d) => writeOnnxModelDir(d, onnx, COLUMN_SIGNATURE)));
    jsApp = await serve(await load('js', (d) => writeJsModelDir(d, JS_MODEL, JS_SIGNATURE)));
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const model of models) await model.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('health and version', () => {
    it('answers /ping and /health with 200 "\\n" while ready, /version with Keel\'s version', async () => {
      for (const url of ['/ping', '/health']) {
        const res = await tensorApp.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe('\n');
      }
      const version = await tensorApp.inject({ method: 'GET', url: '/version' });
      expect(version.statusCode).toBe(200);
      expect(version.body).toBe(KEEL_VERSION);
    });

    it('answers 503 with Retry-After on /ping and /health while the model is not ready', async () => {
      const model = new ScriptedModel({ predict: () => ({ kind: 'columns', columns: {}, rowCount: 0 }) });
      const app = await serve(model);
      model.ready = false;
      for (const url of ['/ping', '/health']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
      }
      model.ready = true;
      expect((await app.inject({ method: 'GET', url: '/ping' })).statusCode).toBe(200);
    });
  });

  describe('GET /input-example', () => {
    it('serves the stored serving input example, which scores as is; 404 without one', async () => {
      const exampleDir = await writeOnnxModelDir(
        join(dir, 'example'),
        exportMlp({ layers: LAYERS }),
        TENSOR_SIGNATURE,
      );
      const body = {
        inputs: { input: [Array.from({ length: LAYERS[0]?.weights[0]?.length ?? 0 }, (_, i) => i / 10)] },
      };
      await writeFile(join(exampleDir, 'serving_input_example.json'), JSON.stringify(body));
      const mlmodel = parseMLmodel(await readFile(join(exampleDir, 'MLmodel'), 'utf8'));
      mlmodel.saved_input_example_info = {
        artifact_path: 'input_example.json',
        type: 'ndarray',
        serving_input_path: 'serving_input_example.json',
      };
      await writeFile(join(exampleDir, 'MLmodel'), serializeMLmodel(mlmodel));
      const model = await loadModelFromDirectory(exampleDir, { workers: 1 });
      models.push(model);
      const app = await serve(model);
      const res = await app.inject({ method: 'GET', url: '/input-example' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(body);
      const scored = await app.inject({
        method: 'POST',
        url: '/invocations',
        payload: res.body,
        headers: { 'content-type': 'application/json' },
      });
      expect(scored.statusCode).toBe(200);

      const none = await tensorApp.inject({ method: 'GET', url: '/input-example' });
      expect(none.statusCode).toBe(404);
      expect(none.json()).toMatchObject({ error_code: 'RESOURCE_DOES_NOT_EXIST' });

      mlmodel.saved_input_example_info = { artifact_path: 'x', serving_input_path: '../outside.json' };
      await writeFile(join(dir, 'outside.json'), '{"secret": true}');
      await writeFile(join(exampleDir, 'MLmodel'), serializeMLmodel(mlmodel));
      const escaped = await loadModelFromDirectory(exampleDir, { workers: 1 });
      models.push(escaped);
      expect(escaped.metadata.servingInputExample).toBeUndefined();
    });
  });

  describe('POST /invocations', () => {
    const rows = matrix(rng(5), 3, FEATURES, 2);

    it('scores `inputs` (a nested list and a dict of tensors) and `instances` against a tensor signature', async () => {
      for (const body of [{ inputs: rows }, { inputs: { input: rows } }, { instances: rows }]) {
        const res = await post(tensorApp, body);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expectForward(res.json().predictions, rows);
      }
    });

    it('scores all four JSON formats against a column signature', async () => {
      const columns = columnsOf(rows);
      const records = rows.map((row) => Object.fromEntries(COLUMNS.map((name, c) => [name, row[c]])));
      const bodies = [
        { dataframe_split: { columns: COLUMNS, data: rows } },
        { dataframe_split: { columns: COLUMNS, data: rows, index: [7, 8, 9] } },
        { dataframe_records: records },
        { instances: records },
        { inputs: columns },
      ];
      for (const body of bodies) {
        const res = await post(columnApp, body);
        expect(res.statusCode, JSON.stringify(body).slice(0, 40)).toBe(200);
        expectForward(res.json().predictions, rows);
      }
    });

    it('scores CSV (with charset=utf-8 in any case)', async () => {
      const csv = `${COLUMNS.join(',')}\n${rows.map((row) => row.join(',')).join('\r\n')}\n`;
      for (const type of ['text/csv', 'text/csv; charset=utf-8', 'TEXT/CSV; Charset="UTF-8"']) {
        const res = await post(columnApp, csv, type);
        expect(res.statusCode).toBe(200);
        expectForward(res.json().predictions, rows);
      }
    });

    it('accepts application/json; charset=utf-8', async () => {
      const res = await post(tensorApp, { inputs: rows }, 'application/json; charset=UTF-8');
      expect(res.statusCode).toBe(200);
    });

    it('answers an array result as a plain list, columns as records, several tensors as an object', async () => {
      const x = [1, -2];
      const answer = async (mode: string) => {
        const res = await post(jsApp, {
          dataframe_split: { columns: ['x'], data: x.map((v) => [v]) },
          params: { mode, scale: 2 },
        });
        expect(res.statusCode).toBe(200);
        return res.json().predictions;
      };
      expect(await answer('list')).toEqual([2, -4]);
      expect(await answer('records')).toEqual([
        { y: 2, label: 'pos' },
        { y: -4, label: 'neg' },
      ]);
      expect(await answer('single')).toEqual([{ y: 2 }, { y: -4 }]);
      expect(await answer('tensors')).toEqual({
        a: [2, -4],
        b: [
          [1, -1],
          [-2, 2],
        ],
      });
    });

    it("passes `params` checked against the signature's parameter schema: defaults filled, unknown ones dropped", async () => {
      const res = await post(jsApp, { inputs: { x: [1] }, params: { mode: 'params', extra: true } });
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.json().predictions[0])).toEqual({ scale: 1, mode: 'params' });
      const defaults = await post(jsApp, { inputs: { x: [3] } });
      expect(defaults.json().predictions).toEqual([3]);
    });

    it('gives a model without a parameter schema no params (as MLflow)', async () => {
      const model = new ScriptedModel({
        predict: (_input, params) => ({
          kind: 'columns',
          columns: { predictions: [params ?? null] },
          rowCount: 1,
        }),
      });
      const app = await serve(model);
      const res = await post(app, { inputs: [1], params: { k: 1 } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ predictions: [null] });
    });
  });

  describe('errors', () => {
    const rows = matrix(rng(6), 2, FEATURES, 1);

    it.each([
      [
        'a charset other than UTF-8',
        'application/json; charset=latin-1',
        'The scoring server only supports UTF-8',
      ],
      [
        'another content-type parameter',
        'application/json; format=pandas-split',
        'Unrecognized content type parameters: format. IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0.',
      ],
      [
        'another media type',
        'text/plain',
        "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got 'text/plain'.",
      ],
      [
        'the charset check before the media type',
        'text/plain; charset=ascii',
        'The scoring server only supports UTF-8',
      ],
    ])('answers 415 text/plain for %s', async (_case, contentType, message) => {
      const res = await post(tensorApp, { inputs: rows }, contentType);
      expect(res.statusCode).toBe(415);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body.startsWith(message)).toBe(true);
    });

    it('answers 415 for a body without a content type', async () => {
      const res = await tensorApp.inject({ method: 'POST', url: '/invocations', payload: Buffer.from('{}') });
      expect(res.statusCode).toBe(415);
      expect(res.body).toBe(
        "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got ''.",
      );
    });

    it.each([
      ['invalid JSON', '{"inputs": [1,', 'BAD_REQUEST'],
      ['an empty body', '', 'BAD_REQUEST'],
      ['a top-level list', '[[1, 2]]', 'BAD_REQUEST'],
      ['no format key', '{"data": [[1]]}', 'BAD_REQUEST'],
      ['two format keys', '{"inputs": [[1]], "instances": [[1]]}', 'BAD_REQUEST'],
      ['a ragged array', '{"inputs": [[1, 2], [3]]}', 'BAD_REQUEST'],
      ['params that are not an object', '{"inputs": [[1]], "params": [1]}', 'BAD_REQUEST'],
      [
        'a shape that does not fit the signature',
        JSON.stringify({ inputs: [[1, 2, 3]] }),
        'INVALID_PARAMETER_VALUE',
      ],
      [
        'a value that does not fit the dtype',
        JSON.stringify({ inputs: [Array(FEATURES).fill('x')] }),
        'INVALID_PARAMETER_VALUE',
      ],
    ])('answers 400 for %s', async (_case, body, code) => {
      const res = await post(tensorApp, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error_code).toBe(code);
      expect(typeof res.json().message).toBe('string');
    });

    it('answers 400 for a missing column and for a bad CSV row', async () => {
      const split = { dataframe_split: { columns: COLUMNS.slice(1), data: [rows[0]?.slice(1)] } };
      const missing = await post(columnApp, split);
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(missing.json().message).toContain("'f0'");
      const csv = await post(columnApp, `${COLUMNS.join(',')}\n1,2\n`, 'text/csv');
      expect(csv.statusCode).toBe(400);
      expect(csv.json().error_code).toBe('BAD_REQUEST');
    });

    it('answers 400 for params that do not fit their declared type', async () => {
      const res = await post(jsApp, { inputs: { x: [1] }, params: { scale: 'big' } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(res.json().message).toContain("'scale'");
    });

    it('answers 413 past the body limit', async () => {
      const app = await serve(tensorModel, { bodyLimit: 1024 });
      const res = await post(app, { inputs: matrix(rng(1), 20, FEATURES, 1) });
      expect(res.statusCode).toBe(413);
      expect(res.json().error_code).toBe('RESOURCE_EXHAUSTED');
      expect((await post(app, { inputs: rows.slice(0, 1) })).statusCode).toBe(200);
    });

    it('answers 503 TEMPORARILY_UNAVAILABLE with Retry-After when the queue is full', async () => {
      const gate = new Gate();
      const model = new ScriptedModel({
        predict: async (input) => {
          await gate.opened;
          return {
            kind: 'columns',
            columns: { predictions: input.kind === 'tensors' ? [1] : [] },
            rowCount: 1,
          };
        },
      });
      const app = await serve(model, {
        concurrency: 1,
        maxQueueRows: 1,
        batching: { maxBatchSize: 1, maxDelayMs: 0 },
      });
      const running = post(app, { inputs: [[1]] });
      await expect.poll(() => model.calls.length).toBe(1);
      const queued = post(app, { inputs: [[2]] });
      await expect
        .poll(async () => (await app.inject({ method: 'GET', url: '/metrics' })).body)
        .toContain('keel_serving_queue_rows 1');
      const refused = await post(app, { inputs: [[3]] });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json().error_code).toBe('TEMPORARILY_UNAVAILABLE');
      gate.open();
      expect((await running).statusCode).toBe(200);
      expect((await queued).statusCode).toBe(200);
    });

    it('answers 500 INTERNAL_ERROR when the model fails, opaque for an unexpected error', async () => {
      (tensorModel as OnnxModel).crashNextRequestForTesting();
      const crashed = await post(tensorApp, { inputs: rows });
      expect(crashed.statusCode).toBe(500);
      expect(crashed.json().error_code).toBe('INTERNAL_ERROR');
      const model = new ScriptedModel({
        predict: () => {
          throw new Error('secret detail');
        },
      });
      const app = await serve(model);
      const res = await post(app, { inputs: [1] });
      expect(res.statusCode).toBe(500);
      expect(res.json().error_code).toBe('INTERNAL_ERROR');
      expect(res.body).not.toContain('secret detail');
      const known = new ScriptedModel({
        predict: () => {
          throw new KeelError('INTERNAL_ERROR', 'runtime failed');
        },
      });
      const knownRes = await post(await serve(known), { inputs: [1] });
      expect(knownRes.statusCode).toBe(500);
      expect(knownRes.json()).toEqual({ error_code: 'INTERNAL_ERROR', message: 'runtime failed' });
    });

    it('answers 404 JSON for unknown routes and methods', async () => {
      for (const [method, url] of [
        ['GET', '/invocations'],
        ['GET', '/nope'],
        ['POST', '/ping'],
      ] as const) {
        const res = await tensorApp.inject({ method, url });
        expect(res.statusCode).toBe(404);
        expect(res.json().error_code).toBe('ENDPOINT_NOT_FOUND');
      }
    });
  });
});

describe('scoringContentType', () => {
  it('reads JSON and CSV with or without a UTF-8 charset', () => {
    expect(scoringContentType('application/json')).toEqual({ kind: 'json' });
    expect(scoringContentType(' text/csv ;charset=utf-8')).toEqual({ kind: 'csv' });
    expect(scoringContentType('application/json; charset="utf-8"')).toEqual({ kind: 'json' });
  });

  it('names every unexpected parameter', () => {
    const result = scoringContentType('application/json; format=pandas-split; orient=records');
    expect(result.kind).toBe('unsupported');
    expect(result.kind === 'unsupported' && result.message).toMatch(
      /^Unrecognized content type parameters: format, orient\. /,
    );
  });
});

describe('toPredictions', () => {
  it('shapes tensors by their shape, including 0-d and empty ones', () => {
    expect(
      toPredictions({ kind: 'tensors', tensors: { y: { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] } } }),
    ).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(toPredictions({ kind: 'tensors', tensors: { y: { data: [7], shape: [] } } })).toBe(7);
    expect(toPredictions({ kind: 'tensors', tensors: { y: { data: [], shape: [0, 2] } } })).toEqual([]);
    expect(toPredictions({ kind: 'tensors', tensors: { y: { data: [1, 2], shape: [1, 1, 2] } } })).toEqual([
      [[1, 2]],
    ]);
  });

  it('turns binary column values into base64 and bigints into numbers', () => {
    const output = {
      kind: 'columns' as const,
      columns: { b: [Uint8Array.from([1, 2, 3])], n: [5n] },
      rowCount: 1,
    };
    expect(toPredictions(output)).toEqual([{ b: 'AQID', n: 5 }]);
  });
});
