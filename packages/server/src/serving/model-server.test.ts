import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEEL_VERSION, KeelError, type ModelInput } from '@keel/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DenseLayer, exportMlp } from '../../../sdk/src/onnx/index.js';
import { dense, forward, matrix, rng } from '../../../sdk/src/testing/dense-reference.js';
import { loadModelFromDirectory } from '../models/load-model.js';
import type { Model, ModelOutput } from '../models/model.js';
import { float32Tensors, Gate, ScriptedModel, writeOnnxModelDir } from '../testing/serving-fixtures.js';
import { buildModelServer, type ModelServerOptions } from './model-server.js';

const FEATURES = 30;
const next = rng(31);
const LAYERS: DenseLayer[] = [dense(next, FEATURES, 16, 'relu'), dense(next, 16, 2, 'softmax')];
const TOLERANCE = 1e-5;

/** The value of one sample in Prometheus text, e.g. `metric(text, 'x_total{a="b"}')`; 0 when absent. */
function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

async function scrape(app: FastifyInstance): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
}

function doubled(input: ModelInput): ModelOutput {
  if (input.kind !== 'tensors') throw new KeelError('INVALID_PARAMETER_VALUE', 'tensors only');
  const tensors = Object.fromEntries(
    Object.entries(input.tensors).map(([name, t]) => [
      name,
      { data: t.data.map((v) => Number(v) * 2), shape: t.shape },
    ]),
  );
  return { kind: 'tensors', tensors };
}

describe('buildModelServer', () => {
  let dir: string;
  let model: Model;
  const apps: FastifyInstance[] = [];

  async function serve(options: Partial<ModelServerOptions> & { model?: Model } = {}) {
    const app = await buildModelServer({ model, ...options });
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-model-server-'));
    const signature = {
      inputs: float32Tensors({ input: [-1, FEATURES] }),
      outputs: float32Tensors({ output: [-1, 2] }),
    };
    await writeOnnxModelDir(join(dir, 'mlp'), exportMlp({ layers: LAYERS }), signature);
    model = await loadModelFromDirectory(join(dir, 'mlp'), { workers: 2 });
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await model.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves both protocols and /metrics over a real socket', async () => {
    const app = await serve({ name: 'mlp', version: '7' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const rows = matrix(rng(2), 5, FEATURES, 2);

    const scoring = await fetch(`${base}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: rows }),
    });
    expect(scoring.status).toBe(200);
    const { predictions } = (await scoring.json()) as { predictions: number[][] };
    rows.forEach((row, r) => {
      forward(LAYERS, row).forEach((want, j) => {
        expect(Math.abs((predictions[r]?.[j] ?? Number.NaN) - want)).toBeLessThan(TOLERANCE);
      });
    });

    const infer = await fetch(`${base}/v2/models/mlp/versions/7/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'x',
        inputs: [{ name: 'input', shape: [5, FEATURES], datatype: 'FP32', data: rows }],
      }),
    });
    expect(infer.status).toBe(200);
    const body = (await infer.json()) as { id: string; outputs: { data: number[] }[] };
    expect(body.id).toBe('x');
    expect(body.outputs[0]?.data).toEqual(predictions.flat());

    expect(await (await fetch(`${base}/version`)).text()).toBe(KEEL_VERSION);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toContain('keel_serving_requests_total');
    const unknown = await fetch(`${base}/unknown`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error_code: string }).error_code).toBe('ENDPOINT_NOT_FOUND');
  });

  it('counts requests, errors and latency per protocol and route, and batch sizes', async () => {
    const app = await serve({ name: 'mlp' });
    const before = await scrape(app);
    const ok = 'keel_serving_requests_total{protocol="mlflow",route="/invocations",status="200"}';
    const bad = 'keel_serving_requests_total{protocol="mlflow",route="/invocations",status="400"}';
    const badErrors =
      'keel_serving_request_errors_total{protocol="mlflow",route="/invocations",status="400"}';
    const oip = 'keel_serving_requests_total{protocol="oip",route="/v2/models/:name/infer",status="200"}';
    const notFound = 'keel_serving_requests_total{protocol="none",route="unmatched",status="404"}';
    const latency = 'keel_serving_request_duration_seconds_count{protocol="mlflow",route="/invocations"}';
    expect(metric(before, ok)).toBe(0);
    const rows = matrix(rng(3), 3, FEATURES, 1);
    const post = (url: string, body: unknown) =>
      app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
    expect((await post('/invocations', { inputs: rows })).statusCode).toBe(200);
    expect((await post('/invocations', { inputs: rows })).statusCode).toBe(200);
    expect((await post('/invocations', { inputs: [[1]] })).statusCode).toBe(400);
    const infer = await post('/v2/models/mlp/infer', {
      inputs: [{ name: 'input', shape: [3, FEATURES], datatype: 'FP32', data: rows }],
    });
    expect(infer.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v2/nope' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);

    const after = await scrape(app);
    expect(metric(after, ok)).toBe(2);
    expect(metric(after, bad)).toBe(1);
    expect(metric(after, badErrors)).toBe(1);
    expect(metric(after, oip)).toBe(1);
    expect(metric(after, notFound)).toBe(2);
    expect(metric(after, latency)).toBe(3);
    expect(
      metric(after, 'keel_serving_request_duration_seconds_sum{protocol="mlflow",route="/invocations"}'),
    ).toBeGreaterThan(0);
    expect(
      metric(after, 'keel_serving_requests_total{protocol="metrics",route="/metrics",status="200"}'),
    ).toBe(1);
    // Three successful model calls of three rows each, one request per call.
    expect(metric(after, 'keel_serving_batch_rows_count')).toBe(3);
    expect(metric(after, 'keel_serving_batch_rows_sum')).toBe(9);
    expect(metric(after, 'keel_serving_batch_rows_bucket{le="2"}')).toBe(0);
    expect(metric(after, 'keel_serving_batch_rows_bucket{le="4"}')).toBe(3);
    expect(metric(after, 'keel_serving_batch_requests_sum')).toBe(3);
    expect(metric(after, 'keel_serving_queue_rows')).toBe(0);
  });

  it('keeps separate metrics for two servers in one process', async () => {
    const a = await serve({ name: 'a' });
    const b = await serve({ name: 'b' });
    await a.inject({ method: 'GET', url: '/ping' });
    await a.inject({ method: 'GET', url: '/ping' });
    const sample = 'keel_serving_requests_total{protocol="mlflow",route="/ping",status="200"}';
    expect(metric(await scrape(a), sample)).toBe(2);
    expect(metric(await scrape(b), sample)).toBe(0);
  });

  it('merges concurrent requests into one model call and gives each caller its own rows', async () => {
    const gate = new Gate();
    let first = true;
    const scripted = new ScriptedModel({
      predict: async (input) => {
        if (first) {
          first = false;
          await gate.opened;
        }
        return doubled(input);
      },
    });
    const app = await serve({
      model: scripted,
      concurrency: 1,
      batching: { maxBatchSize: 64, maxDelayMs: 0 },
    });
    const post = (rows: number[][]) =>
      app.inject({
        method: 'POST',
        url: '/invocations',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ inputs: rows }),
      });
    const blocker = post([[0]]);
    await expect.poll(() => scripted.calls.length).toBe(1);
    const waiting = [post([[1]]), post([[2], [3]]), post([[4]])];
    await expect.poll(async () => metric(await scrape(app), 'keel_serving_queue_rows')).toBe(4);
    gate.open();
    expect((await blocker).json()).toEqual({ predictions: [[0]] });
    const answers = await Promise.all(waiting);
    expect(answers.map((res) => res.json().predictions)).toEqual([[[2]], [[4], [6]], [[8]]]);
    expect(scripted.calls).toHaveLength(2);
    const metrics = await scrape(app);
    expect(metric(metrics, 'keel_serving_batch_requests_count')).toBe(2);
    expect(metric(metrics, 'keel_serving_batch_requests_sum')).toBe(4);
    expect(metric(metrics, 'keel_serving_batch_rows_sum')).toBe(5);
  });

  it('sizes its concurrency by the model, else 2', async () => {
    const calls: Gate[] = [];
    const make = (workerCount?: number) =>
      new ScriptedModel({
        ...(workerCount === undefined ? {} : { workerCount }),
        predict: async (input) => {
          const gate = new Gate();
          calls.push(gate);
          await gate.opened;
          return doubled(input);
        },
      });
    for (const [workerCount, expected] of [
      [3, 3],
      [undefined, 2],
    ] as const) {
      calls.length = 0;
      const scripted = make(workerCount);
      const app = await serve({ model: scripted, batching: { maxBatchSize: 1, maxDelayMs: 0 } });
      const pending = Array.from({ length: 5 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/invocations',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ inputs: [[i]] }),
        }),
      );
      await expect.poll(() => scripted.calls.length).toBe(expected);
      await expect.poll(async () => metric(await scrape(app), 'keel_serving_queue_rows')).toBe(5 - expected);
      expect(scripted.calls).toHaveLength(expected);
      while (calls.length > 0) {
        for (const gate of calls.splice(0)) gate.open();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect((await Promise.all(pending)).map((res) => res.statusCode)).toEqual([200, 200, 200, 200, 200]);
    }
  });

  it('closes the batcher with the app, not the model', async () => {
    const gate = new Gate();
    const scripted = new ScriptedModel({
      predict: async (input) => {
        await gate.opened;
        return doubled(input);
      },
    });
    const app = await buildModelServer({
      model: scripted,
      concurrency: 1,
      batching: { maxBatchSize: 1, maxDelayMs: 0 },
    });
    const post = (v: number) =>
      app.inject({
        method: 'POST',
        url: '/invocations',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ inputs: [[v]] }),
      });
    const running = post(1);
    await expect.poll(() => scripted.calls.length).toBe(1);
    const queued = post(2);
    await expect.poll(async () => metric(await scrape(app), 'keel_serving_queue_rows')).toBe(1);
    const closing = app.close();
    const refused = await queued;
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error_code).toBe('TEMPORARILY_UNAVAILABLE');
    gate.open();
    expect((await running).statusCode).toBe(200);
    await closing;
    expect(scripted.closed).toBe(false);
    expect(
      await model.predict({
        kind: 'tensors',
        tensors: { input: { data: Array(FEATURES).fill(0), shape: [1, FEATURES] } },
      }),
    ).toMatchObject({ kind: 'tensors' });
  });

  it.each([
    ['an empty name', { name: '' }],
    ['a name with a slash', { name: 'a/b' }],
    ['an empty version', { version: '' }],
    ['a zero body limit', { bodyLimit: 0 }],
    ['a zero batch size', { batching: { maxBatchSize: 0, maxDelayMs: 0 } }],
    ['a negative delay', { batching: { maxBatchSize: 8, maxDelayMs: -1 } }],
    ['a fractional queue bound', { maxQueueRows: 1.5 }],
    ['a zero concurrency', { concurrency: 0 }],
  ])('refuses %s with INVALID_PARAMETER_VALUE', async (_case, options) => {
    const error = await buildModelServer({ model, ...options }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeelError);
    expect((error as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
  });
});
