import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandler } from '../../http/error-handler.js';
import { type InFlightLimit, installLoadShedding } from '../../http/load-shedding.js';
import { echo, Gate, ScriptedModel } from '../../testing/serving-fixtures.js';
import { DeploymentMetrics } from './deployment-metrics.js';
import { registerDeploymentServingRoutes } from './deployment-serving-routes.js';
import { DIRECT_CALL_ROUTES, directTarget } from './direct-calls.js';
import { MemoryDeployments, MemoryRecorder } from './testing/memory-deployments.js';

describe('directTarget', () => {
  it('names the three call routes, with a trailing slash, a query string and %-escapes', () => {
    expect(directTarget('/deployments/fraud/invocations')).toEqual({
      protocol: 'mlflow',
      deployment: 'fraud',
      route: DIRECT_CALL_ROUTES.invocations,
    });
    expect(directTarget('/deployments/fraud/invocations/?x=1')).toMatchObject({ deployment: 'fraud' });
    expect(directTarget('/deployments/fraud%20v2/invocations')).toMatchObject({ deployment: 'fraud v2' });
    expect(directTarget('/v2/models/fraud/infer')).toEqual({
      protocol: 'oip',
      deployment: 'fraud',
      route: DIRECT_CALL_ROUTES.infer,
    });
    expect(directTarget('/v2/models/fraud/versions/7/infer?debug')).toEqual({
      protocol: 'oip',
      deployment: 'fraud',
      version: '7',
      route: DIRECT_CALL_ROUTES.versionInfer,
    });
  });

  it('leaves everything else to the router', () => {
    for (const url of [
      '/deployments/fraud/ready',
      '/deployments//invocations',
      '/deployments/a/b/invocations',
      '//deployments/fraud/invocations',
      '/Deployments/fraud/invocations',
      '/v2/models/fraud',
      '/v2/models/fraud/versions//infer',
      '/v2/models/fraud/versions/7/ready',
      '/v2/fraud/infer',
      '/v2/models//infer',
      '/v2/models/infer',
      '/v2/models/a/b/infer',
      '/v2/models/fraud/versions/7/x/infer',
      '/deployments/fraud/invocationsx',
      '/deployments/fraud/invocations/x',
      '/deployments/fraud',
      '/deployments/%E0%A4%A/invocations',
      '/deployments/a%2Fb/invocations',
      `/deployments/${'x'.repeat(101)}/invocations`,
    ]) {
      expect(directTarget(url), url).toBeUndefined();
    }
  });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('deployment calls on the direct path', () => {
  let gate = new Gate();
  const held = new ScriptedModel({
    name: 'held',
    workerCount: 4,
    predict: async (input) => {
      await gate.opened;
      return echo(input);
    },
  });
  const quick = new ScriptedModel({ name: 'quick', predict: async (input) => echo(input) });
  const broken = new ScriptedModel({
    name: 'broken',
    predict: async () => {
      throw new Error('the model fell over');
    },
  });
  const metrics = new DeploymentMetrics();
  const runtime = new MemoryDeployments(metrics);
  const recorder = new MemoryRecorder();
  let inFlight: InFlightLimit;
  let app: FastifyInstance;
  let port: number;
  /** POSTs that reached Fastify's routes. */
  let routed = 0;

  beforeAll(async () => {
    runtime.set('quick', { arms: [{ name: 'main', model: quick, modelName: 'quick', modelVersion: '1' }] });
    runtime.set('held', { arms: [{ name: 'main', model: held, modelName: 'held', modelVersion: '1' }] });
    runtime.set('broken', {
      arms: [{ name: 'main', model: broken, modelName: 'broken', modelVersion: '1' }],
    });
    // A route name no spec would pass (`ROUTE_NAME`): Node refuses it as a header value.
    runtime.set('unsendable', {
      arms: [{ name: 'main\u0001', model: quick, modelName: 'quick', modelVersion: '1' }],
    });
    runtime.set('limited', {
      arms: [{ name: 'main', model: held, modelName: 'held', modelVersion: '1' }],
      resources: { maxConcurrentRequests: 1 },
    });
    app = Fastify();
    installErrorHandler(app);
    inFlight = installLoadShedding(app, 3);
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.method === 'POST') routed++;
      done();
    });
    registerDeploymentServingRoutes(app, { runtime, recorder, metrics, bodyLimit: 1024, inFlight });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    gate.open();
    const deadline = Date.now() + 10_000;
    while ((runtime.outstanding > 0 || inFlight.count > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(runtime.outstanding).toBe(0);
    expect(inFlight.count).toBe(0);
  });

  afterAll(async () => {
    await app?.close();
    await runtime.close();
  });

  /** Sends a request; `body` as a string is sent with Content-Length, as an array of chunks without (chunked). */
  function post(
    path: string,
    body: string | string[],
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path,
          headers: {
            'content-type': 'application/json',
            ...(typeof body === 'string' ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', reject);
      if (typeof body === 'string') req.end(body);
      else {
        for (const chunk of body) req.write(chunk);
        req.end();
      }
    });
  }

  const ROW = JSON.stringify({ inputs: [[1, 2]] });
  const inFlightOf = async (deployment: string) => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`keel_deployment_requests_in_flight{deployment="${deployment}"}`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('answers a call itself, and hands a chunked body, an oversized body and other methods to the routes', async () => {
    let before = routed;
    const direct = await post('/deployments/quick/invocations', ROW, { 'x-request-id': 'direct-1' });
    expect(direct.status).toBe(200);
    expect(JSON.parse(direct.body)).toEqual({ predictions: [[1, 2]] });
    expect(direct.headers['x-request-id']).toBe('direct-1');
    expect(direct.headers['x-keel-route']).toBe('main');
    expect(routed - before).toBe(0);
    expect(recorder.records.filter((r) => r.requestId === 'direct-1')).toEqual([
      expect.objectContaining({ status: 200, outputJson: direct.body, inputJson: ROW }),
    ]);

    before = routed;
    const chunked = await post('/deployments/quick/invocations', ['{"inputs": ', '[[3, 4]]}']);
    expect(chunked.status).toBe(200);
    expect(JSON.parse(chunked.body)).toEqual({ predictions: [[3, 4]] });
    expect(routed - before).toBe(1);

    before = routed;
    const large = await post(
      '/deployments/quick/invocations',
      JSON.stringify({ inputs: [[1, 'x'.repeat(2000)]] }),
    );
    expect(large.status).toBe(413);
    expect(JSON.parse(large.body).error_code).toBe('RESOURCE_EXHAUSTED');
    expect(routed - before).toBe(1);
  });

  it('decodes a body that arrives in pieces, a character split between them', async () => {
    const text = '{"inputs": [[1, 2]], "note": "café au lait"';
    const bytes = Buffer.from(text, 'utf8');
    const cut = bytes.indexOf(Buffer.from('é', 'utf8')) + 1;
    const answer = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/deployments/quick/invocations',
          headers: {
            'content-type': 'application/json',
            'content-length': String(bytes.length),
            'x-request-id': 'split-1',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(bytes.subarray(0, cut));
      setTimeout(() => req.end(bytes.subarray(cut)), 30);
    });
    expect(answer).toBe(400);
    // An unreadable body is recorded as the text received.
    expect(recorder.records.filter((r) => r.requestId === 'split-1')).toEqual([
      expect.objectContaining({ status: 400, inputJson: JSON.stringify(text) }),
    ]);
  });

  it("answers a model's failure 500 in each protocol's shape, naming the request id, recorded", async () => {
    const mlflow = await post('/deployments/broken/invocations', ROW, { 'x-request-id': 'broken-1' });
    expect(mlflow.status).toBe(500);
    expect(JSON.parse(mlflow.body)).toEqual({
      error_code: 'INTERNAL_ERROR',
      message: 'Internal error (request id broken-1)',
    });
    const v2 = await post(
      '/v2/models/broken/infer',
      JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }),
      { 'x-request-id': 'broken-2' },
    );
    expect(v2.status).toBe(500);
    expect(JSON.parse(v2.body)).toEqual({ error: 'Internal error (request id broken-2)' });
    for (const id of ['broken-1', 'broken-2']) {
      expect(recorder.records.filter((r) => r.requestId === id)).toEqual([
        expect.objectContaining({
          status: 500,
          errorCode: 'INTERNAL_ERROR',
          errorMessage: 'the model fell over',
        }),
      ]);
    }
  });

  it('drops the connection, and stays up, when an answer cannot be written', async () => {
    await expect(post('/deployments/unsendable/invocations', ROW)).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
    expect((await post('/deployments/quick/invocations', ROW)).status).toBe(200);
  });

  it("counts its calls against the process's in-flight limit: the routes shed what is past it", async () => {
    gate = new Gate();
    const calls = held.calls.length;
    const holding = [1, 2, 3].map((i) =>
      post('/deployments/held/invocations', ROW, { 'x-request-id': `held-${i}` }),
    );
    while (held.calls.length < calls + 3) await new Promise((r) => setTimeout(r, 2));
    expect(inFlight.count).toBe(3);
    const before = routed;
    const shed = await post('/deployments/quick/invocations', ROW);
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(JSON.parse(shed.body).error_code).toBe('TEMPORARILY_UNAVAILABLE');
    // Refused by the load-shedding hook: it never reached a route's handler.
    expect(routed - before).toBe(0);
    gate.open();
    for (const res of await Promise.all(holding)) expect(res.status).toBe(200);
    expect(inFlight.count).toBe(0);
  });

  it('leaves a call past its deployment’s limit to the routes (429), and frees the slot of a client gone mid-body', async () => {
    gate = new Gate();
    const first = post('/deployments/limited/invocations', ROW, { 'x-request-id': 'limited-1' });
    await expect.poll(() => inFlightOf('limited')).toBe(1);
    const refused = await post('/deployments/limited/invocations', ROW);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    gate.open();
    expect((await first).status).toBe(200);
    await expect.poll(() => inFlightOf('limited')).toBe(0);

    // Headers promise 100 bytes; 10 arrive, then the client goes.
    const client = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/deployments/limited/invocations',
      headers: { 'content-type': 'application/json', 'content-length': '100' },
    });
    client.on('error', () => undefined);
    client.write('{"inputs":');
    await expect.poll(() => inFlightOf('limited')).toBe(1);
    expect(inFlight.count).toBe(1);
    client.destroy();
    await expect.poll(() => inFlightOf('limited')).toBe(0);
    await expect.poll(() => inFlight.count).toBe(0);
    const after = await post('/deployments/limited/invocations', ROW);
    expect(after.status).toBe(200);
  });

  it('is left out when the app logs at debug: the routes answer every call (and log it)', async () => {
    const debug = Fastify({ logger: { level: 'debug', stream: { write: () => undefined } } });
    installErrorHandler(debug);
    let reached = 0;
    debug.addHook('onRequest', (_request, _reply, done) => {
      reached++;
      done();
    });
    registerDeploymentServingRoutes(debug, { runtime, recorder, metrics: new DeploymentMetrics() });
    await debug.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port: debugPort } = debug.server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${debugPort}/deployments/quick/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: ROW,
      });
      expect(res.status).toBe(200);
      expect(reached).toBe(1);
    } finally {
      await debug.close();
    }
  });
});
