import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Signature } from '@keel/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DenseLayer, exportMlp } from '../../../../sdk/src/onnx/index.js';
import { dense, forward, rng } from '../../../../sdk/src/testing/dense-reference.js';
import { installErrorHandler } from '../../http/error-handler.js';
import { loadModelFromDirectory } from '../../models/load-model.js';
import type { Model } from '../../models/model.js';
import type { PredictionRecordInput } from '../../predictions/prediction-record.js';
import { PredictionRecorder } from '../../predictions/prediction-recorder.js';
import { PredictionStore } from '../../predictions/prediction-store.js';
import { scoringContentType } from '../../serving/mlflow-scoring.js';
import {
  echo,
  float32Tensors,
  Gate,
  ScriptedModel,
  writeJsModelDir,
  writeOnnxModelDir,
} from '../../testing/serving-fixtures.js';
import { createTestStore } from '../../testing/test-stores.js';
import type { DeploymentRuntime } from '../runtime/deployment-runtime.js';
import type { ServingLeases } from './deployment-call.js';
import { DeploymentMetrics } from './deployment-metrics.js';
import { isServingCall, registerDeploymentServingRoutes } from './deployment-serving-routes.js';
import { type MemoryArm, MemoryDeployments, MemoryRecorder } from './testing/memory-deployments.js';

// The real runtime is what the routes are registered with.
const runtimeFits: (runtime: DeploymentRuntime) => ServingLeases = (runtime) => runtime;
void runtimeFits;

const FEATURES = 4;
const LAYERS_A: DenseLayer[] = (() => {
  const next = rng(101);
  return [dense(next, FEATURES, 8, 'tanh'), dense(next, 8, 2, 'softmax')];
})();
const LAYERS_B: DenseLayer[] = (() => {
  const next = rng(202);
  return [dense(next, FEATURES, 8, 'relu'), dense(next, 8, 2, 'softmax')];
})();
const TOLERANCE = 1e-5;
const TENSOR_SIGNATURE: Signature = {
  inputs: float32Tensors({ input: [-1, FEATURES] }),
  outputs: float32Tensors({ output: [-1, 2] }),
};
const COLUMNS = Array.from({ length: FEATURES }, (_, c) => `f${c}`);
const COLUMN_SIGNATURE: Signature = {
  inputs: { kind: 'columns', columns: COLUMNS.map((name) => ({ type: 'double', name, required: true })) },
};
const ROWS = [
  [0.1, -0.2, 0.3, 0.4],
  [1, 0.5, -1, 2],
];
const THROWING_JS = `export function predict() { throw new Error('shadow exploded'); }`;

function expectForward(predictions: unknown, layers: DenseLayer[], rows: number[][] = ROWS): void {
  expect(predictions).toHaveLength(rows.length);
  rows.forEach((row, r) => {
    const got = (predictions as number[][])[r] ?? [];
    forward(layers, row).forEach((want, j) => {
      expect(Math.abs((got[j] ?? Number.NaN) - want)).toBeLessThan(TOLERANCE);
    });
  });
}

const SCORING_BODY = { inputs: { input: ROWS } };
const INFER_BODY = {
  id: 'call-1',
  inputs: [{ name: 'input', shape: [2, FEATURES], datatype: 'FP32', data: ROWS.flat() }],
};

/** The value of the series `name` whose labels include `labels`, from `server`'s `/metrics`. */
async function metricValue(
  server: FastifyInstance,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith(`${name}{`) &&
        Object.entries(labels).every(([key, value]) => l.includes(`${key}="${value}"`)),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('isServingCall', () => {
  it("names the deployments' model calls, nothing else", () => {
    for (const url of [
      '/deployments/fraud/invocations',
      '/v2/models/fraud/infer',
      '/v2/models/fraud/versions/7/infer',
    ]) {
      expect(isServingCall(url)).toBe(true);
    }
    for (const url of [
      '/deployments/fraud/ready',
      '/v2/models/fraud',
      '/api/2.0/keel/deployments/get',
      '/',
    ]) {
      expect(isServingCall(url)).toBe(false);
    }
  });
});

/** A response as the tests read it, from `inject` or from a socket. */
interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: as light-my-request types it; the tests read fields of the parsed body.
  json(): any;
}

/** A keep-alive agent for the socket transport (500 concurrent calls would otherwise open 500 sockets each time). */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * Sends a request to `server` through `app.inject` (Fastify's routes) or over a socket to the
 * listening server (where deployment calls take the direct path, `direct-calls.ts`).
 */
function send(
  server: FastifyInstance,
  transport: 'inject' | 'socket',
  options: { method: 'GET' | 'POST'; url: string; headers: Record<string, string>; payload?: string },
): Promise<Answer> {
  if (transport === 'inject') return server.inject(options) as unknown as Promise<Answer>;
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, agent, method: options.method, path: options.url, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            statusCode: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.payload);
  });
}

afterAll(() => agent.destroy());

describe.each(['inject', 'socket'] as const)('deployment serving routes (%s)', (transport) => {
  let dir: string;
  /** Calls (POSTs) that reached Fastify's routes; over a socket, only those the direct path handed on. */
  let routed = 0;
  const models: Model[] = [];
  let modelA: Model;
  let modelB: Model;
  let columnModel: Model;
  let throwing: Model;
  let shadowGate = new Gate();
  let heldGate = new Gate();
  const slowShadow = new ScriptedModel({
    name: 'slow',
    predict: async (input) => {
      await shadowGate.opened;
      return echo(input);
    },
  });
  const held = new ScriptedModel({
    name: 'held',
    workerCount: 1,
    predict: async (input) => {
      await heldGate.opened;
      return echo(input);
    },
  });
  let limitGate = new Gate();
  const blocking = new ScriptedModel({
    name: 'blocking',
    workerCount: 2,
    predict: async (input) => {
      await limitGate.opened;
      return echo(input);
    },
  });
  let metrics: DeploymentMetrics;
  let runtime: MemoryDeployments;
  let recorder: MemoryRecorder;
  let app: FastifyInstance;

  const armA = (name = 'main', weight = 1): MemoryArm => ({
    name,
    weight,
    model: modelA,
    modelName: 'fraud',
    modelVersion: '1',
    modelDigest: 'sha256:aaaa',
  });
  const armB = (name = 'canary', weight = 1): MemoryArm => ({
    name,
    weight,
    model: modelB,
    modelName: 'fraud',
    modelVersion: '2',
    modelDigest: 'sha256:bbbb',
  });

  function invoke(
    deployment: string,
    payload: unknown = SCORING_BODY,
    headers: Record<string, string> = {},
    contentType = 'application/json',
  ) {
    return send(app, transport, {
      method: 'POST',
      url: `/deployments/${deployment}/invocations`,
      headers: { 'content-type': contentType, ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  function infer(path: string, payload: unknown = INFER_BODY, headers: Record<string, string> = {}) {
    return send(app, transport, {
      method: 'POST',
      url: `/v2/models/${path}/infer`,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  function recordsOf(requestId: string): PredictionRecordInput[] {
    return recorder.records.filter((r) => r.requestId === requestId);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-deployment-routes-'));
    const load = async (sub: string, write: (d: string) => Promise<string>) => {
      const model = await loadModelFromDirectory(await write(join(dir, sub)), { workers: 1 });
      models.push(model);
      return model;
    };
    modelA = await load('a', (d) => writeOnnxModelDir(d, exportMlp({ layers: LAYERS_A }), TENSOR_SIGNATURE));
    modelB = await load('b', (d) => writeOnnxModelDir(d, exportMlp({ layers: LAYERS_B }), TENSOR_SIGNATURE));
    columnModel = await load('columns', (d) =>
      writeOnnxModelDir(d, exportMlp({ layers: LAYERS_A }), COLUMN_SIGNATURE),
    );
    throwing = await load('throwing', (d) => writeJsModelDir(d, THROWING_JS));

    metrics = new DeploymentMetrics();
    runtime = new MemoryDeployments(metrics);
    recorder = new MemoryRecorder();
    runtime.set('fraud', { revision: 3, arms: [armA('main', 90), armB('canary', 10)] });
    runtime.set('split', { arms: [armA('left', 1), armB('right', 1)] });
    runtime.set('pinned', { arms: [armA('a', 1), armB('b', 0)] });
    runtime.set('shadowed', {
      arms: [armA()],
      shadow: { ...armB(), modelName: 'fraud-challenger', modelVersion: '9', modelDigest: 'sha256:9999' },
    });
    runtime.set('shadow-throws', {
      arms: [armA()],
      shadow: { name: 'shadow', model: throwing, modelName: 'broken', modelVersion: '1' },
    });
    runtime.set('shadow-slow', {
      arms: [armA()],
      shadow: { name: 'shadow', model: slowShadow, modelName: 'slow', modelVersion: '1' },
    });
    runtime.set('columns', {
      arms: [{ name: 'main', model: columnModel, modelName: 'fraud-columns', modelVersion: '4' }],
      recording: { mode: 'sample', sampleRate: 0.5 },
    });
    runtime.set('warming', { arms: [armA()], ready: false });
    runtime.set('tiny-queue', {
      arms: [{ name: 'main', model: held, modelName: 'held', modelVersion: '1', maxQueueRows: 2 }],
    });
    runtime.set('limited', {
      arms: [{ name: 'main', model: blocking, modelName: 'blocking', modelVersion: '1' }],
      resources: { maxConcurrentRequests: 2 },
    });

    app = Fastify();
    installErrorHandler(app);
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.method === 'POST') routed++;
      done();
    });
    registerDeploymentServingRoutes(app, { runtime, recorder, metrics, random: rng(2024) });
    if (transport === 'socket') await app.listen({ port: 0, host: '127.0.0.1' });
    else await app.ready();
  });

  afterEach(async () => {
    // Every lease is given back once the call and its shadow copy are done.
    const deadline = Date.now() + 10_000;
    while (runtime.outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(runtime.outstanding).toBe(0);
  });

  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    for (const model of models) await model.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('MLflow scoring', () => {
    it('answers /invocations with the arm’s predictions, echoes the request id and names the arm', async () => {
      const before = routed;
      const res = await invoke('fraud', SCORING_BODY, {
        'x-request-id': 'req-mlflow-1',
        'x-keel-route': 'main',
      });
      expect(res.statusCode).toBe(200);
      // Over a socket the call never reaches Fastify's routes: the direct path answered it.
      expect(routed - before).toBe(transport === 'socket' ? 0 : 1);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-request-id']).toBe('req-mlflow-1');
      expect(res.headers['x-keel-route']).toBe('main');
      expectForward(res.json().predictions, LAYERS_A);

      const records = recordsOf('req-mlflow-1');
      expect(records).toHaveLength(1);
      const [record] = records as [PredictionRecordInput];
      expect(record).toEqual({
        requestId: 'req-mlflow-1',
        deployment: 'fraud',
        deploymentRevision: 3,
        modelName: 'fraud',
        modelVersion: '1',
        modelDigest: 'sha256:aaaa',
        arm: 'main',
        caller: 'anonymous',
        protocol: 'mlflow',
        receivedAt: expect.any(Number),
        completedAt: expect.any(Number),
        status: 200,
        inputJson: JSON.stringify(SCORING_BODY),
        outputJson: res.body,
        recording: { mode: 'full' },
      });
      expect(record.completedAt).toBeGreaterThanOrEqual(record.receivedAt);
      expect(Math.abs(record.receivedAt - Date.now())).toBeLessThan(60_000);
    });

    it('generates a UUID v7 request id when the caller sends none, and records the caller, never a secret', async () => {
      const basic = `Basic ${Buffer.from('bob:hunter2').toString('base64')}`;
      const res = await invoke('fraud', SCORING_BODY, { authorization: basic });
      expect(res.statusCode).toBe(200);
      const requestId = String(res.headers['x-request-id']);
      expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // Time-ordered: its first 48 bits are the epoch milliseconds of the call.
      expect(
        Math.abs(Number.parseInt(requestId.replace('-', '').slice(0, 12), 16) - Date.now()),
      ).toBeLessThan(60_000);
      const [record] = recordsOf(requestId);
      expect(record?.caller).toBe('bob');
      expect(JSON.stringify(record)).not.toContain('hunter2');

      const named = await invoke('fraud', SCORING_BODY, {
        'x-keel-user': 'alice',
        'x-request-id': 'req-alice',
      });
      expect(recordsOf('req-alice')[0]?.caller).toBe('alice');
      expect(named.statusCode).toBe(200);
    });

    it('scores CSV against the arm’s column signature and records the CSV text and the recording mode', async () => {
      const csv = `${COLUMNS.join(',')}\n${ROWS.map((row) => row.join(',')).join('\n')}\n`;
      const res = await invoke('columns', csv, { 'x-request-id': 'req-csv' }, 'text/csv');
      expect(res.statusCode).toBe(200);
      expectForward(res.json().predictions, LAYERS_A);
      expect(recordsOf('req-csv')).toEqual([
        expect.objectContaining({
          modelName: 'fraud-columns',
          modelVersion: '4',
          status: 200,
          inputJson: JSON.stringify(csv),
          recording: { mode: 'sample', sampleRate: 0.5 },
        }),
      ]);
      expect(recordsOf('req-csv')[0]?.modelDigest).toBeUndefined();
    });

    it('answers a body without a content type, and an empty one, as the routes do', async () => {
      const untyped = await send(app, transport, {
        method: 'POST',
        url: '/deployments/fraud/invocations',
        headers: { 'x-request-id': 'req-untyped' },
        payload: JSON.stringify(SCORING_BODY),
      });
      expect([untyped.statusCode, untyped.headers['content-type']]).toEqual([
        415,
        'text/plain; charset=utf-8',
      ]);
      expect(recordsOf('req-untyped')).toEqual([expect.objectContaining({ status: 415 })]);
      const empty = await send(app, transport, {
        method: 'POST',
        url: '/deployments/fraud/invocations',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-empty' },
        payload: '',
      });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().error_code).toBe('BAD_REQUEST');
      expect(recordsOf('req-empty')).toEqual([expect.objectContaining({ status: 400, inputJson: '""' })]);
    });

    it('answers an unsupported content type 415 in plain text as /invocations does, and records it', async () => {
      const contentType = 'application/json; format=pandas-split';
      const res = await invoke('fraud', SCORING_BODY, { 'x-request-id': 'req-415' }, contentType);
      expect(res.statusCode).toBe(415);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      const expected = scoringContentType(contentType);
      expect(expected.kind).toBe('unsupported');
      expect(res.body).toBe((expected as { message: string }).message);
      expect(recordsOf('req-415')).toEqual([
        expect.objectContaining({
          status: 415,
          errorCode: 'BAD_REQUEST',
          errorMessage: res.body,
          inputJson: JSON.stringify(JSON.stringify(SCORING_BODY)),
          arm: res.headers['x-keel-route'],
        }),
      ]);
      expect(recordsOf('req-415')[0]?.outputJson).toBeUndefined();
    });

    it('answers malformed JSON and an input that does not fit the signature with 400, recorded', async () => {
      const bad = await invoke('fraud', '{"inputs": [1, 2', { 'x-request-id': 'req-bad-json' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error_code).toBe('BAD_REQUEST');
      expect(recordsOf('req-bad-json')).toEqual([
        expect.objectContaining({
          status: 400,
          errorCode: 'BAD_REQUEST',
          inputJson: JSON.stringify('{"inputs": [1, 2'),
        }),
      ]);

      const wrongShape = { inputs: { input: [[1, 2, 3]] } };
      const misfit = await invoke('fraud', wrongShape, { 'x-request-id': 'req-misfit' });
      expect(misfit.statusCode).toBe(400);
      expect(misfit.json().error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(recordsOf('req-misfit')).toEqual([
        expect.objectContaining({
          status: 400,
          errorCode: 'INVALID_PARAMETER_VALUE',
          errorMessage: misfit.json().message,
          inputJson: JSON.stringify(wrongShape),
        }),
      ]);
    });

    it('answers 404 for an unknown deployment and 503 with Retry-After while it is not ready, unrecorded', async () => {
      const before = recorder.records.length;
      const routedBefore = routed;
      const missing = await invoke('nope', SCORING_BODY, { 'x-request-id': 'req-404' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(missing.headers['x-request-id']).toBe('req-404');
      expect(missing.headers['x-keel-route']).toBeUndefined();

      const warming = await invoke('warming');
      expect(warming.statusCode).toBe(503);
      expect(warming.json().error_code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(warming.headers['retry-after']).toBe('1');
      expect(recorder.records.length).toBe(before);
      // Both go to the routes whichever way they came: only they answer calls no lease can serve.
      expect(routed - routedBefore).toBe(2);
    });

    it('answers ping, health and ready per deployment', async () => {
      for (const url of ['/deployments/fraud/ping', '/deployments/fraud/health']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.body).toBe('\n');
      }
      expect((await app.inject({ method: 'GET', url: '/deployments/fraud/ready' })).json()).toEqual({
        name: 'fraud',
        ready: true,
      });
      const warming = await app.inject({ method: 'GET', url: '/deployments/warming/ready' });
      expect(warming.statusCode).toBe(503);
      expect(warming.headers['retry-after']).toBe('1');
      expect(warming.json()).toEqual({ name: 'warming', ready: false });
      expect((await app.inject({ method: 'GET', url: '/deployments/warming/ping' })).statusCode).toBe(503);
      const missing = await app.inject({ method: 'GET', url: '/deployments/nope/ping' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    });
  });

  describe('routing', () => {
    it('splits 2000 calls about 90/10 and every answer comes from the arm it names', async () => {
      const arms: Record<string, number> = {};
      for (let chunk = 0; chunk < 10; chunk++) {
        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            invoke('fraud', { inputs: { input: [ROWS[0]] } }, { 'x-request-id': `split-${chunk}-${i}` }),
          ),
        );
        for (const res of responses) {
          expect(res.statusCode).toBe(200);
          const arm = String(res.headers['x-keel-route']);
          arms[arm] = (arms[arm] ?? 0) + 1;
          expectForward(res.json().predictions, arm === 'main' ? LAYERS_A : LAYERS_B, [ROWS[0] as number[]]);
          const [record] = recordsOf(String(res.headers['x-request-id']));
          expect(record?.arm).toBe(arm);
          expect(record?.modelVersion).toBe(arm === 'main' ? '1' : '2');
        }
      }
      expect((arms.main ?? 0) + (arms.canary ?? 0)).toBe(2000);
      // 10% of 2000 = 200, standard deviation ≈ 13.4: ±60 is beyond 4 sigmas.
      expect(Math.abs((arms.canary ?? 0) - 200)).toBeLessThan(60);
    });

    it('keeps a caller on the arm named by x-keel-route, even at weight 0, and ignores unknown names', async () => {
      for (let i = 0; i < 20; i++) {
        const res = await invoke('pinned', SCORING_BODY, { 'x-keel-route': 'b' });
        expect(res.headers['x-keel-route']).toBe('b');
        expectForward(res.json().predictions, LAYERS_B);
      }
      for (let i = 0; i < 20; i++) {
        const res = await invoke('pinned', SCORING_BODY, { 'x-keel-route': 'retired' });
        // Weight 0 takes no traffic in a draw.
        expect(res.headers['x-keel-route']).toBe('a');
      }
    });

    it('sends every call with the same routing key to the same arm, and spreads keys over the arms', async () => {
      const armOfKey = new Map<string, string>();
      for (let k = 0; k < 100; k++) {
        const key = `user-${k}`;
        const responses = await Promise.all(
          [0, 1, 2].map(() => invoke('split', SCORING_BODY, { 'x-keel-routing-key': key })),
        );
        const seen = new Set(responses.map((res) => String(res.headers['x-keel-route'])));
        expect(seen.size).toBe(1);
        armOfKey.set(key, [...seen][0] as string);
      }
      const left = [...armOfKey.values()].filter((arm) => arm === 'left').length;
      expect(left).toBeGreaterThan(25);
      expect(left).toBeLessThan(75);
    });
  });

  describe('Open Inference Protocol', () => {
    it('infers through a weighted arm: model_name is the deployment, model_version the arm’s', async () => {
      const res = await infer('fraud', INFER_BODY, { 'x-keel-route': 'canary', 'x-request-id': 'req-v2' });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ model_name: 'fraud', model_version: '2', id: 'call-1' });
      expect(body.outputs[0].name).toBe('output');
      expect(body.outputs[0].shape).toEqual([2, 2]);
      expectForward([body.outputs[0].data.slice(0, 2), body.outputs[0].data.slice(2)], LAYERS_B);
      expect(recordsOf('req-v2')).toEqual([
        expect.objectContaining({
          protocol: 'v2',
          arm: 'canary',
          modelVersion: '2',
          status: 200,
          inputJson: JSON.stringify(INFER_BODY),
          outputJson: res.body,
        }),
      ]);
    });

    it('pins an explicit version to the arm serving it, even at weight 0; 404 when no arm serves it', async () => {
      for (let i = 0; i < 10; i++) {
        const res = await infer('pinned/versions/2', INFER_BODY, { 'x-keel-route': 'a' });
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-keel-route']).toBe('b');
        expect(res.json().model_version).toBe('2');
      }
      const before = recorder.records.length;
      const missing = await infer('pinned/versions/7');
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({ error: expect.stringContaining("no model version '7'") });
      const unknown = await infer('nope');
      expect(unknown.statusCode).toBe(404);
      expect(Object.keys(unknown.json())).toEqual(['error']);
      expect(recorder.records.length).toBe(before);
    });

    it('answers bad requests with 400 {error}, recorded', async () => {
      const res = await infer('fraud', { inputs: [] }, { 'x-request-id': 'req-v2-400' });
      expect(res.statusCode).toBe(400);
      expect(Object.keys(res.json())).toEqual(['error']);
      expect(recordsOf('req-v2-400')).toEqual([
        expect.objectContaining({
          status: 400,
          errorCode: 'BAD_REQUEST',
          inputJson: '{"inputs":[]}',
          protocol: 'v2',
        }),
      ]);
      const notJson = await infer('fraud', 'inputs=1', { 'x-request-id': 'req-v2-json' });
      expect(notJson.statusCode).toBe(400);
      expect(recordsOf('req-v2-json')).toEqual([
        expect.objectContaining({ status: 400, inputJson: JSON.stringify('inputs=1') }),
      ]);
    });

    it('serves model metadata and readiness per deployment and version', async () => {
      const meta = await app.inject({ method: 'GET', url: '/v2/models/fraud' });
      expect(meta.statusCode).toBe(200);
      expect(meta.json()).toEqual({
        name: 'fraud',
        versions: ['1', '2'],
        platform: 'onnx_onnxv1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 2] }],
      });
      const v2 = await app.inject({ method: 'GET', url: '/v2/models/fraud/versions/2' });
      expect(v2.json()).toMatchObject({ name: 'fraud', versions: ['2'] });
      expect((await app.inject({ method: 'GET', url: '/v2/models/fraud/versions/5' })).statusCode).toBe(404);

      const ready = await app.inject({ method: 'GET', url: '/v2/models/fraud/versions/1/ready' });
      expect(ready.json()).toEqual({ name: 'fraud', ready: true });
      const warming = await app.inject({ method: 'GET', url: '/v2/models/warming/ready' });
      expect(warming.statusCode).toBe(503);
      expect(warming.json()).toEqual({ name: 'warming', ready: false });
      expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
      const unknownPath = await app.inject({ method: 'GET', url: '/v2/nothing/here' });
      expect(unknownPath.statusCode).toBe(404);
      expect(Object.keys(unknownPath.json())).toEqual(['error']);
    });
  });

  describe('shadow', () => {
    it('sends the shadow a copy of each call and records its answer, never returning it', async () => {
      const res = await invoke('shadowed', SCORING_BODY, { 'x-request-id': 'req-shadow' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-keel-route']).toBe('main');
      expectForward(res.json().predictions, LAYERS_A);
      await recorder.until(() => recordsOf('req-shadow').length === 2);
      // The copy may finish first: the shadow runs on its own model.
      const call = recordsOf('req-shadow').find((r) => r.arm !== 'shadow') as PredictionRecordInput;
      const copy = recordsOf('req-shadow').find((r) => r.arm === 'shadow') as PredictionRecordInput;
      expect(call).toMatchObject({ arm: 'main', modelName: 'fraud', modelVersion: '1', status: 200 });
      expect(copy).toMatchObject({
        arm: 'shadow',
        modelName: 'fraud-challenger',
        modelVersion: '9',
        modelDigest: 'sha256:9999',
        deployment: 'shadowed',
        status: 200,
        inputJson: JSON.stringify(SCORING_BODY),
        protocol: 'mlflow',
      });
      expectForward(JSON.parse(copy.outputJson as string).predictions, LAYERS_B);

      const v2 = await infer('shadowed', INFER_BODY, { 'x-request-id': 'req-shadow-v2' });
      expect(v2.json().model_version).toBe('1');
      await recorder.until(() => recordsOf('req-shadow-v2').length === 2);
      const shadowV2 = recordsOf('req-shadow-v2').find((r) => r.arm === 'shadow');
      expect(shadowV2).toMatchObject({ arm: 'shadow', protocol: 'v2' });
      expect(JSON.parse(shadowV2?.outputJson as string)).toMatchObject({
        model_name: 'shadowed',
        model_version: '9',
      });
    });

    it('keeps a failing shadow out of the answer and records its error', async () => {
      const res = await invoke('shadow-throws', SCORING_BODY, { 'x-request-id': 'req-shadow-throws' });
      expect(res.statusCode).toBe(200);
      expectForward(res.json().predictions, LAYERS_A);
      await recorder.until(() => recordsOf('req-shadow-throws').length === 2);
      const copy = recordsOf('req-shadow-throws').find((r) => r.arm === 'shadow');
      expect(copy).toMatchObject({ status: 400, errorCode: 'BAD_REQUEST', modelName: 'broken' });
      expect(copy?.errorMessage).toContain('shadow exploded');
      expect(copy).not.toHaveProperty('output');
    });

    it('answers callers while the shadow is stuck, and holds the lease until the shadow is done', async () => {
      shadowGate = new Gate();
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          invoke('shadow-slow', SCORING_BODY, { 'x-request-id': `req-slow-${i}` }),
        ),
      );
      for (const res of responses) {
        expect(res.statusCode).toBe(200);
        expectForward(res.json().predictions, LAYERS_A);
      }
      // Every caller has its answer and its record; the shadow copies are still waiting.
      for (let i = 0; i < 20; i++) expect(recordsOf(`req-slow-${i}`).map((r) => r.arm)).toEqual(['main']);
      expect(runtime.outstanding).toBe(20);
      shadowGate.open();
      await recorder.until(() =>
        Array.from({ length: 20 }, (_, i) => recordsOf(`req-slow-${i}`).length).every((n) => n === 2),
      );
    });
  });

  it('records exactly one record per answered call under 500 concurrent calls, with or without errors', async () => {
    const before = recorder.records.length;
    const responses = await Promise.all(
      Array.from({ length: 500 }, (_, i) => {
        const id = `load-${i}`;
        if (i % 10 === 0) return invoke('fraud', { inputs: { input: [[1, 2]] } }, { 'x-request-id': id });
        if (i % 2 === 0) return infer('fraud', INFER_BODY, { 'x-request-id': id });
        return invoke('fraud', SCORING_BODY, { 'x-request-id': id });
      }),
    );
    const statuses = responses.map((res) => res.statusCode);
    expect(statuses.filter((s) => s === 400)).toHaveLength(50);
    expect(statuses.filter((s) => s === 200)).toHaveLength(450);
    const added = recorder.records.slice(before);
    expect(added).toHaveLength(500);
    const ids = new Set(added.map((r) => r.requestId));
    expect(ids.size).toBe(500);
    for (const [i, res] of responses.entries()) {
      const [record] = recordsOf(`load-${i}`);
      expect(record?.status).toBe(res.statusCode);
      expect(record?.arm).toBe(res.headers['x-keel-route']);
    }
  });

  it('answers a full queue with 503 and Retry-After in each protocol’s shape, recorded', async () => {
    for (const protocol of ['mlflow', 'v2'] as const) {
      heldGate = new Gate();
      const send = (i: number) => {
        const id = `req-full-${protocol}-${i}`;
        return protocol === 'mlflow'
          ? invoke('tiny-queue', { inputs: [[1, 2]] }, { 'x-request-id': id })
          : infer(
              'tiny-queue',
              { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] },
              {
                'x-request-id': id,
              },
            );
      };
      const calls = held.calls.length;
      const first = send(0);
      while (held.calls.length === calls) await new Promise((r) => setTimeout(r, 2));
      // The model is busy: two more rows fill the queue (limit 2), the last is refused at once.
      const queued = [send(1), send(2)];
      await new Promise((r) => setTimeout(r, 20));
      const refused = await send(3);
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      if (protocol === 'mlflow') expect(refused.json().error_code).toBe('TEMPORARILY_UNAVAILABLE');
      else expect(Object.keys(refused.json())).toEqual(['error']);
      expect(recordsOf(`req-full-${protocol}-3`)).toEqual([
        expect.objectContaining({ status: 503, errorCode: 'TEMPORARILY_UNAVAILABLE', modelName: 'held' }),
      ]);
      heldGate.open();
      for (const res of await Promise.all([first, ...queued])) expect(res.statusCode).toBe(200);
    }
  });

  describe('admission control (resources.maxConcurrentRequests = 2)', () => {
    const MESSAGE =
      "Deployment 'limited' has 2 requests in flight (its limit, resources.maxConcurrentRequests); retry later";

    function callLimited(protocol: 'mlflow' | 'v2', id: string, server = app) {
      const v2 = protocol === 'v2';
      return send(server, server === app ? transport : 'inject', {
        method: 'POST',
        url: v2 ? '/v2/models/limited/infer' : '/deployments/limited/invocations',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
        payload: JSON.stringify(
          v2
            ? { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }
            : { inputs: [[1, 2]] },
        ),
      });
    }

    const inFlight = (server = app) =>
      metricValue(server, 'keel_deployment_requests_in_flight', { deployment: 'limited' });

    async function until(predicate: () => Promise<boolean>): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!(await predicate())) {
        if (Date.now() > deadline) throw new Error('condition not reached in 10 s');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }

    it('answers the third concurrent call 429 with Retry-After in each protocol’s shape, unrecorded, and admits again once calls finish', async () => {
      limitGate = new Gate();
      // One call per protocol: the limit covers both.
      const admitted = [callLimited('mlflow', 'req-limit-0'), callLimited('v2', 'req-limit-1')];
      await until(async () => (await inFlight()) === 2);

      const refused = await callLimited('mlflow', 'req-limit-2');
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.json()).toEqual({ error_code: 'RESOURCE_EXHAUSTED', message: MESSAGE });
      expect(refused.headers['x-keel-route']).toBeUndefined();
      const refusedV2 = await callLimited('v2', 'req-limit-3');
      expect(refusedV2.statusCode).toBe(429);
      expect(refusedV2.headers['retry-after']).toBe('1');
      expect(refusedV2.json()).toEqual({ error: MESSAGE });
      expect(recordsOf('req-limit-2')).toEqual([]);
      expect(recordsOf('req-limit-3')).toEqual([]);

      limitGate.open();
      for (const res of await Promise.all(admitted)) expect(res.statusCode).toBe(200);
      expect(await inFlight()).toBe(0);
      const again = await Promise.all([
        callLimited('mlflow', 'req-limit-4'),
        callLimited('v2', 'req-limit-5'),
      ]);
      expect(again.map((res) => res.statusCode)).toEqual([200, 200]);
      expect(await inFlight()).toBe(0);

      const rejected = { deployment: 'limited', reason: 'concurrency' };
      expect(await metricValue(app, 'keel_deployment_rejected_requests_total', rejected)).toBe(2);
      for (const protocol of ['mlflow', 'oip']) {
        const labels = { deployment: 'limited', arm: '', protocol, status: '429' };
        expect(await metricValue(app, 'keel_serving_requests_total', labels)).toBe(1);
      }
    });

    it('keeps the slot of a call whose client disconnected until the model answered, then frees it', async () => {
      const server = Fastify();
      installErrorHandler(server);
      registerDeploymentServingRoutes(server, { runtime, recorder, metrics: new DeploymentMetrics() });
      await server.listen({ port: 0, host: '127.0.0.1' });
      try {
        limitGate = new Gate();
        const address = server.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : 0;
        const calls = blocking.calls.length;
        const client = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/deployments/limited/invocations',
          headers: { 'content-type': 'application/json' },
        });
        client.on('error', () => undefined);
        client.end(JSON.stringify({ inputs: [[1, 2]] }));
        while (blocking.calls.length === calls) await new Promise((r) => setTimeout(r, 2));
        client.destroy();
        await new Promise((r) => setTimeout(r, 50));
        // The model still works on the abandoned call: it keeps its slot.
        expect(await inFlight(server)).toBe(1);

        limitGate.open();
        await until(async () => (await inFlight(server)) === 0);
        // Released exactly once: two calls are admitted again, and a third is not.
        limitGate = new Gate();
        const two = [
          callLimited('mlflow', 'req-after-abort-0', server),
          callLimited('v2', 'req-after-abort-1', server),
        ];
        await until(async () => (await inFlight(server)) === 2);
        expect((await callLimited('mlflow', 'req-after-abort-2', server)).statusCode).toBe(429);
        limitGate.open();
        expect((await Promise.all(two)).map((res) => res.statusCode)).toEqual([200, 200]);
        expect(await inFlight(server)).toBe(0);
      } finally {
        await server.close();
      }
    });
  });

  it('serves /metrics labelled by deployment, arm and model version', async () => {
    await invoke('fraud', SCORING_BODY, { 'x-keel-route': 'canary' });
    await invoke('nope');
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = res.body.split('\n');
    const has = (name: string, labels: Record<string, string>) =>
      lines.some(
        (line) =>
          line.startsWith(`${name}{`) &&
          Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)),
      );
    const canary = { deployment: 'fraud', arm: 'canary', model: 'fraud', version: '2' };
    expect(has('keel_serving_requests_total', { ...canary, status: '200', protocol: 'mlflow' })).toBe(true);
    expect(has('keel_serving_request_errors_total', { deployment: 'fraud', status: '400' })).toBe(true);
    expect(has('keel_serving_request_duration_seconds_bucket', canary)).toBe(true);
    expect(has('keel_serving_batch_rows_bucket', canary)).toBe(true);
    expect(has('keel_serving_queue_rows', canary)).toBe(true);
    expect(
      has('keel_serving_requests_total', {
        deployment: '',
        arm: '',
        route: '/deployments/:name/invocations',
        status: '404',
      }),
    ).toBe(true);
    expect(has('keel_serving_requests_total', { deployment: 'warming', status: '503' })).toBe(true);
  });

  it('stores one record per answered call and per shadow copy through the real recorder (SQLite)', async () => {
    const testStore = await createTestStore('sqlite');
    const store = new PredictionStore(testStore.store);
    const real = new PredictionRecorder({ store, spillDir: join(dir, 'spill') });
    const server = Fastify();
    installErrorHandler(server);
    registerDeploymentServingRoutes(server, { runtime, recorder: real, metrics: new DeploymentMetrics() });
    await server.ready();
    try {
      const responses = await Promise.all(
        Array.from({ length: 300 }, (_, i) => {
          const headers = { 'x-request-id': `stored-${i}`, 'x-keel-user': 'carol' };
          if (i % 3 === 0)
            return server.inject({
              method: 'POST',
              url: '/deployments/shadowed/invocations',
              headers: { ...headers, 'content-type': 'application/json' },
              payload: SCORING_BODY,
            });
          if (i % 3 === 1)
            return server.inject({
              method: 'POST',
              url: '/v2/models/fraud/infer',
              headers,
              payload: INFER_BODY,
            });
          return server.inject({
            method: 'POST',
            url: '/deployments/fraud/invocations',
            headers: { ...headers, 'content-type': 'text/plain' },
            payload: 'x',
          });
        }),
      );
      expect(responses.filter((res) => res.statusCode === 200)).toHaveLength(200);
      expect(responses.filter((res) => res.statusCode === 415)).toHaveLength(100);
      // 300 answered calls + 100 shadow copies.
      while (real.stats().recorded < 400) await new Promise((r) => setTimeout(r, 5));
      await real.flush();
      expect(await store.count()).toBe(400);
      const shadowed = await store.search({ deployment: 'shadowed', caller: 'carol' }, undefined, 1000);
      expect(shadowed).toHaveLength(200);
      const copy = shadowed.find((row) => row.request_id === 'stored-0' && row.arm === 'shadow');
      expect(copy).toMatchObject({
        model_name: 'fraud-challenger',
        model_version: '9',
        status: 200,
        recorded: 'full',
      });
      expect(JSON.parse(String(copy?.input))).toEqual(SCORING_BODY);
      expect(await store.search({ status: 415 }, undefined, 1000)).toHaveLength(100);
    } finally {
      await server.close();
      await real.close();
      await testStore.dispose();
    }
  });

  it('serves a real socket: headers and the record of the call', async () => {
    const server = Fastify();
    installErrorHandler(server);
    registerDeploymentServingRoutes(server, { runtime, recorder, metrics: new DeploymentMetrics() });
    await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = server.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const res = await fetch(`http://127.0.0.1:${port}/deployments/fraud/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-socket', 'x-keel-route': 'main' },
        body: JSON.stringify(SCORING_BODY),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('req-socket');
      expect(res.headers.get('x-keel-route')).toBe('main');
      const text = await res.text();
      expectForward((JSON.parse(text) as { predictions: unknown }).predictions, LAYERS_A);
      // The record keeps the very bytes the client got.
      expect(recordsOf('req-socket')).toEqual([expect.objectContaining({ status: 200, outputJson: text })]);
    } finally {
      await server.close();
    }
  });
});
