import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  EndpointNotFoundError,
  InvalidParameterError,
  KeelApiError,
  KeelClient,
  KeelConnectionError,
  NotFoundError,
  UnavailableError,
} from './index.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

let server: TestServer;
let keel: KeelClient;

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({ trackingUri: server.uri });
});

afterAll(async () => {
  await server?.close();
});

const tagsOf = (list: { key: string; value: string }[] | undefined) =>
  Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

describe('KeelClient options', () => {
  const saved = { keel: process.env.KEEL_TRACKING_URI, mlflow: process.env.MLFLOW_TRACKING_URI };
  afterEach(() => {
    for (const [name, value] of [
      ['KEEL_TRACKING_URI', saved.keel],
      ['MLFLOW_TRACKING_URI', saved.mlflow],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('takes trackingUri from options, then KEEL_TRACKING_URI, then MLFLOW_TRACKING_URI, then the default', () => {
    process.env.KEEL_TRACKING_URI = 'http://keel.example:1/';
    process.env.MLFLOW_TRACKING_URI = 'http://mlflow.example:2';
    expect(new KeelClient({ trackingUri: 'http://explicit:3' }).trackingUri).toBe('http://explicit:3');
    expect(new KeelClient().trackingUri).toBe('http://keel.example:1');
    delete process.env.KEEL_TRACKING_URI;
    expect(new KeelClient().trackingUri).toBe('http://mlflow.example:2');
    delete process.env.MLFLOW_TRACKING_URI;
    expect(new KeelClient().trackingUri).toBe('http://127.0.0.1:5000');
  });

  it('passes retries, timeoutMs and headers to the REST client', () => {
    const client = new KeelClient({
      trackingUri: 'http://x',
      retries: 0,
      timeoutMs: 10,
      headers: { a: 'b' },
    });
    expect(client.rest.options).toMatchObject({ maxRetries: 0, timeoutMs: 10, headers: { a: 'b' } });
  });
});

describe('experiments', () => {
  it('creates an experiment with tags and an artifact location, and reads it back by id and by name', async () => {
    const id = await keel.createExperiment('exp-create', {
      artifactLocation: 'mlflow-artifacts:/custom-root',
      tags: { team: 'growth' },
    });
    const byId = await keel.getExperiment(id);
    expect(byId).toMatchObject({
      experiment_id: id,
      name: 'exp-create',
      artifact_location: 'mlflow-artifacts:/custom-root',
      lifecycle_stage: 'active',
    });
    expect(tagsOf(byId.tags)).toEqual({ team: 'growth' });
    expect(await keel.getExperimentByName('exp-create')).toEqual(byId);
  });

  it('answers undefined for an unknown name and NotFoundError for an unknown id', async () => {
    expect(await keel.getExperimentByName('no-such-experiment')).toBeUndefined();
    const error = await keel.getExperiment('987654').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST', status: 404 });
  });

  it('throws AlreadyExistsError (400) for a duplicate name', async () => {
    await keel.createExperiment('exp-dup');
    const error = await keel.createExperiment('exp-dup').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(error).toMatchObject({ code: 'RESOURCE_ALREADY_EXISTS', status: 400, name: 'AlreadyExistsError' });
  });

  it('getOrCreateExperiment creates once, then returns the same id; refuses a deleted one', async () => {
    const first = await keel.getOrCreateExperiment('exp-goc');
    expect(await keel.getOrCreateExperiment('exp-goc')).toBe(first);
    await keel.deleteExperiment(first);
    const error = await keel.getOrCreateExperiment('exp-goc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterError);
  });

  it('renames, deletes and restores', async () => {
    const id = await keel.createExperiment('exp-life');
    await keel.renameExperiment(id, 'exp-life-renamed');
    expect((await keel.getExperiment(id)).name).toBe('exp-life-renamed');
    await keel.deleteExperiment(id);
    expect((await keel.getExperiment(id)).lifecycle_stage).toBe('deleted');
    await keel.restoreExperiment(id);
    expect((await keel.getExperiment(id)).lifecycle_stage).toBe('active');
  });

  it('sets and deletes experiment tags', async () => {
    const id = await keel.createExperiment('exp-tags');
    await keel.setExperimentTag(id, 'owner', 'ana');
    await keel.setExperimentTag(id, 'owner', 'bo');
    expect(tagsOf((await keel.getExperiment(id)).tags)).toEqual({ owner: 'bo' });
    await keel.deleteExperimentTag(id, 'owner');
    expect(tagsOf((await keel.getExperiment(id)).tags)).toEqual({});
  });

  it('searches one page at a time and iterates across all pages', async () => {
    for (let i = 0; i < 5; i += 1) await keel.createExperiment(`paged-exp-${i}`);
    const filter = "name LIKE 'paged-exp-%'";
    const first = await keel.searchExperiments({ filter, maxResults: 2, orderBy: ['name ASC'] });
    expect(first.experiments.map((e) => e.name)).toEqual(['paged-exp-0', 'paged-exp-1']);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const second = await keel.searchExperiments({
      filter,
      maxResults: 2,
      orderBy: ['name ASC'],
      pageToken: first.nextPageToken as string,
    });
    expect(second.experiments.map((e) => e.name)).toEqual(['paged-exp-2', 'paged-exp-3']);

    const before = server.count('experiments/search');
    const names: string[] = [];
    for await (const experiment of keel.iterateExperiments({
      filter,
      maxResults: 2,
      orderBy: ['name DESC'],
    })) {
      names.push(experiment.name);
    }
    expect(names).toEqual(['paged-exp-4', 'paged-exp-3', 'paged-exp-2', 'paged-exp-1', 'paged-exp-0']);
    expect(server.count('experiments/search') - before).toBe(3);
    const last = await keel.searchExperiments({ filter, maxResults: 10 });
    expect(last.nextPageToken).toBeUndefined();
  });

  it('searches deleted experiments with viewType', async () => {
    const id = await keel.createExperiment('view-type-exp');
    await keel.deleteExperiment(id);
    const filter = "name = 'view-type-exp'";
    expect((await keel.searchExperiments({ filter })).experiments).toEqual([]);
    const deleted = await keel.searchExperiments({ filter, viewType: 'DELETED_ONLY' });
    expect(deleted.experiments.map((e) => e.experiment_id)).toEqual([id]);
  });
});

describe('runs', () => {
  let experimentId: string;
  beforeAll(async () => {
    experimentId = await keel.createExperiment('runs-exp');
  });

  it('creates a run with name, start time and tags, and reads it back', async () => {
    const created = await keel.createRun({
      experimentId,
      runName: 'first',
      startTime: 1_700_000_000_000,
      tags: { team: 'growth' },
    });
    expect(created.info).toMatchObject({
      experiment_id: experimentId,
      run_name: 'first',
      start_time: 1_700_000_000_000,
      status: 'RUNNING',
      lifecycle_stage: 'active',
    });
    expect(created.info.artifact_uri).toBe(
      `mlflow-artifacts:/${experimentId}/${created.info.run_id}/artifacts`,
    );
    const fetched = await keel.getRun(created.info.run_id);
    expect(tagsOf(fetched.data.tags)).toMatchObject({ team: 'growth', 'mlflow.runName': 'first' });
  });

  it('throws NotFoundError for an unknown run', async () => {
    const error = await keel.getRun('0'.repeat(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST', status: 404 });
  });

  it('updates status, end time and name', async () => {
    const { info } = await keel.createRun({ experimentId });
    const updated = await keel.updateRun(info.run_id, {
      status: 'FINISHED',
      endTime: 1234,
      runName: 'renamed',
    });
    expect(updated).toMatchObject({ status: 'FINISHED', end_time: 1234, run_name: 'renamed' });
    expect((await keel.getRun(info.run_id)).info).toMatchObject({ status: 'FINISHED', run_name: 'renamed' });
  });

  it('deletes and restores a run', async () => {
    const { info } = await keel.createRun({ experimentId });
    await keel.deleteRun(info.run_id);
    expect((await keel.getRun(info.run_id)).info.lifecycle_stage).toBe('deleted');
    await keel.restoreRun(info.run_id);
    expect((await keel.getRun(info.run_id)).info.lifecycle_stage).toBe('active');
  });

  it('logs metrics (with NaN), params and tags one by one', async () => {
    const { info } = await keel.createRun({ experimentId });
    const runId = info.run_id;
    await keel.logMetric(runId, 'loss', 0.5, { step: 1, timestamp: 10 });
    await keel.logMetric(runId, 'loss', Number.NaN, { step: 2, timestamp: 20 });
    await keel.logParam(runId, 'lr', 0.01);
    await keel.logParam(runId, 'shuffle', true);
    await keel.setTag(runId, 'stage', 'dev');
    await keel.setTag(runId, 'gone', 'soon');
    await keel.deleteTag(runId, 'gone');
    const run = await keel.getRun(runId);
    expect(tagsOf(run.data.params)).toEqual({ lr: '0.01', shuffle: 'true' });
    expect(tagsOf(run.data.tags)).toMatchObject({ stage: 'dev' });
    expect(tagsOf(run.data.tags)).not.toHaveProperty('gone');
    expect(await keel.getMetricHistory(runId, 'loss')).toEqual([
      { key: 'loss', value: 0.5, timestamp: 10, step: 1 },
      { key: 'loss', value: 'NaN', timestamp: 20, step: 2 },
    ]);
  });

  it('rejects a changed param value with InvalidParameterError and a missing tag with NotFoundError', async () => {
    const { info } = await keel.createRun({ experimentId });
    await keel.logParam(info.run_id, 'lr', '0.1');
    const changed = await keel.logParam(info.run_id, 'lr', '0.2').catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(InvalidParameterError);
    expect(changed).toMatchObject({ code: 'INVALID_PARAMETER_VALUE', status: 400 });
    const missing = await keel.deleteTag(info.run_id, 'never-set').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });

  it('splits a large logBatch to MLflow limits, in order', async () => {
    const { info } = await keel.createRun({ experimentId });
    const runId = info.run_id;
    const metrics = Array.from({ length: 2500 }, (_, step) => ({
      key: 'm',
      value: step / 10,
      step,
      timestamp: 1,
    }));
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i]));
    const tags = Array.from({ length: 250 }, (_, i) => ({ key: `t${i}`, value: `v${i}` }));
    const before = server.count('runs/log-batch');
    await keel.logBatch(runId, { metrics, params, tags });
    // params 100+50, tags 100+100+50 → three calls, each topped up with metrics (800, 850, 850).
    expect(server.count('runs/log-batch') - before).toBe(3);
    const run = await keel.getRun(runId);
    expect(run.data.params).toHaveLength(150);
    expect(tagsOf(run.data.tags)).toMatchObject({ t0: 'v0', t249: 'v249' });
    const history = await keel.getMetricHistory(runId, 'm');
    expect(history.map((m) => m.step)).toEqual(metrics.map((m) => m.step));
  });

  it('reads a metric history longer than one page (25 000 points) in pages', async () => {
    const { info } = await keel.createRun({ experimentId });
    const points = Array.from({ length: 25_003 }, (_, step) => ({
      key: 'long',
      value: step,
      step,
      timestamp: 5,
    }));
    await keel.logBatch(info.run_id, { metrics: points });
    const before = server.count('metrics/get-history');
    const history = await keel.getMetricHistory(info.run_id, 'long');
    expect(server.count('metrics/get-history') - before).toBe(2);
    expect(history).toHaveLength(25_003);
    expect(history.at(-1)).toEqual({ key: 'long', value: 25_002, step: 25_002, timestamp: 5 });
  });

  it('samples histories of several runs with getMetricHistoryBulkInterval', async () => {
    const a = (await keel.createRun({ experimentId })).info.run_id;
    const b = (await keel.createRun({ experimentId })).info.run_id;
    for (const runId of [a, b]) {
      await keel.logBatch(runId, {
        metrics: Array.from({ length: 50 }, (_, step) => ({
          key: 'acc',
          value: step,
          step,
          timestamp: step,
        })),
      });
    }
    const all = await keel.getMetricHistoryBulkInterval([a, b], 'acc');
    expect(all.filter((m) => m.run_id === a)).toHaveLength(50);
    expect(all.filter((m) => m.run_id === b)).toHaveLength(50);
    const window = await keel.getMetricHistoryBulkInterval([a], 'acc', { startStep: 10, endStep: 19 });
    expect(window.map((m) => m.step)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    const sampled = await keel.getMetricHistoryBulkInterval([a], 'acc', { maxResults: 5 });
    expect(sampled.length).toBeLessThan(50);
    expect(sampled[0]).toMatchObject({ run_id: a, key: 'acc', step: 0 });
  });

  it('asks for more than 100 runs of bulk-interval history, and more than 20 experiments of datasets, in parts', async () => {
    const runIds: string[] = [];
    for (let i = 0; i < 101; i += 1) {
      const { info } = await keel.createRun({ experimentId });
      await keel.logMetric(info.run_id, 'wide', i, { step: 0 });
      runIds.push(info.run_id);
    }
    const before = server.count('metrics/get-history-bulk-interval');
    const points = await keel.getMetricHistoryBulkInterval(runIds, 'wide');
    expect(server.count('metrics/get-history-bulk-interval') - before).toBe(2);
    expect(new Set(points.map((p) => p.run_id)).size).toBe(101);

    const experiments: string[] = [];
    for (let i = 0; i < 21; i += 1) experiments.push(await keel.createExperiment(`ds-many-${i}`));
    const last = (await keel.createRun({ experimentId: experiments[20] as string })).info.run_id;
    await keel.logInputs(last, [{ dataset: { name: 'd', digest: 'x1', source_type: 'code', source: '{}' } }]);
    const beforeDatasets = server.count('experiments/search-datasets');
    const summaries = await keel.searchDatasets(experiments);
    expect(server.count('experiments/search-datasets') - beforeDatasets).toBe(2);
    expect(summaries).toEqual([{ experiment_id: experiments[20], name: 'd', digest: 'x1' }]);
  });

  it('searches runs with filter and order, one page or all pages', async () => {
    const exp = await keel.createExperiment('runs-search-exp');
    for (let i = 0; i < 5; i += 1) {
      const { info } = await keel.createRun({ experimentId: exp, runName: `r${i}` });
      await keel.logMetric(info.run_id, 'score', i);
    }
    const page = await keel.searchRuns({
      experimentIds: [exp],
      filter: 'metrics.score >= 1',
      orderBy: ['metrics.score DESC'],
      maxResults: 3,
    });
    expect(page.runs.map((r) => r.info.run_name)).toEqual(['r4', 'r3', 'r2']);
    expect(page.nextPageToken).toEqual(expect.any(String));
    const before = server.count('runs/search');
    const names: string[] = [];
    for await (const run of keel.iterateRuns({
      experimentIds: [exp],
      orderBy: ['metrics.score ASC'],
      maxResults: 2,
    })) {
      names.push(run.info.run_name);
    }
    expect(names).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(server.count('runs/search') - before).toBe(3);
  });

  it('finds deleted runs with runViewType', async () => {
    const exp = await keel.createExperiment('runs-view-exp');
    const { info } = await keel.createRun({ experimentId: exp });
    await keel.deleteRun(info.run_id);
    expect((await keel.searchRuns({ experimentIds: [exp] })).runs).toEqual([]);
    const deleted = await keel.searchRuns({ experimentIds: [exp], runViewType: 'DELETED_ONLY' });
    expect(deleted.runs.map((r) => r.info.run_id)).toEqual([info.run_id]);
  });

  it('logs dataset inputs and finds them with searchDatasets', async () => {
    const exp = await keel.createExperiment('datasets-exp');
    const { info } = await keel.createRun({ experimentId: exp });
    await keel.logInputs(info.run_id, [
      {
        dataset: {
          name: 'train',
          digest: 'abc123',
          source_type: 'local',
          source: '{"uri":"/tmp/train.csv"}',
        },
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
      },
    ]);
    const run = await keel.getRun(info.run_id);
    expect(run.inputs.dataset_inputs?.[0]?.dataset).toMatchObject({ name: 'train', digest: 'abc123' });
    expect(await keel.searchDatasets([exp])).toEqual([
      { experiment_id: exp, name: 'train', digest: 'abc123', context: 'training' },
    ]);
  });

  it('logs a model into mlflow.log-model.history and rejects an incomplete one', async () => {
    const { info } = await keel.createRun({ experimentId });
    const model = {
      run_id: info.run_id,
      artifact_path: 'model',
      utc_time_created: '2024-01-01 00:00:00.000000',
      flavors: { onnx: { onnx_version: '1.16' } },
    };
    await keel.logModel(info.run_id, model);
    const history = tagsOf((await keel.getRun(info.run_id)).data.tags)['mlflow.log-model.history'];
    expect(JSON.parse(history ?? '[]')).toEqual([model]);
    const error = await keel.logModel(info.run_id, { flavors: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterError);
  });
});

describe('typed errors', () => {
  it('gives EndpointNotFoundError for a route the server does not have', async () => {
    const error = await keel.rest.get('no/such/endpoint').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointNotFoundError);
    expect(error).toBeInstanceOf(KeelApiError);
    expect(error).toMatchObject({ code: 'ENDPOINT_NOT_FOUND', status: 404 });
  });

  it('gives KeelConnectionError, not an API error, when nothing listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const client = new KeelClient({ trackingUri: `http://127.0.0.1:${port}`, retries: 1 });
    const error = await client.getExperiment('0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConnectionError);
    expect(error).not.toBeInstanceOf(KeelApiError);
    expect((error as Error).message).toContain('after 2 attempts');
  });
});

describe('retry policy', () => {
  /** A real HTTP server that answers as the test scripts, counting attempts. */
  async function scripted(
    handler: (response: ServerResponse, attempt: number, request: IncomingMessage) => void,
  ) {
    let attempts = 0;
    const http: Server = createServer((request, response) => {
      attempts += 1;
      handler(response, attempts, request);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    return {
      uri: `http://127.0.0.1:${port}`,
      attempts: () => attempts,
      close: () => new Promise<void>((resolve) => http.close(() => resolve())),
    };
  }

  it('retries 503 twice, then succeeds', async () => {
    const fake = await scripted((response, attempt) => {
      if (attempt <= 2) {
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
        response.end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"experiments":[{"experiment_id":"7","name":"x"}]}');
      }
    });
    try {
      const client = new KeelClient({ trackingUri: fake.uri });
      const page = await client.searchExperiments();
      expect(page.experiments.map((e) => e.experiment_id)).toEqual(['7']);
      expect(fake.attempts()).toBe(3);
    } finally {
      await fake.close();
    }
  });

  it('does not retry a 400', async () => {
    const fake = await scripted((response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end('{"error_code":"INVALID_PARAMETER_VALUE","message":"bad name"}');
    });
    try {
      const client = new KeelClient({ trackingUri: fake.uri });
      const error = await client.createExperiment('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidParameterError);
      expect(error).toMatchObject({ code: 'INVALID_PARAMETER_VALUE', status: 400, message: 'bad name' });
      expect(fake.attempts()).toBe(1);
    } finally {
      await fake.close();
    }
  });

  it('stops after `retries` and surfaces the last 429 as UnavailableError', async () => {
    const fake = await scripted((response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
      response.end('{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}');
    });
    try {
      const client = new KeelClient({ trackingUri: fake.uri, retries: 1 });
      const error = await client.getRun('abc').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: 'REQUEST_LIMIT_EXCEEDED', status: 429 });
      expect(fake.attempts()).toBe(2);
    } finally {
      await fake.close();
    }
  });

  it('sends the configured headers on every call', async () => {
    const seen: (string | undefined)[] = [];
    const fake = await scripted((response, _attempt, request) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    try {
      const client = new KeelClient({ trackingUri: fake.uri, headers: { authorization: 'Bearer t0k' } });
      await client.searchExperiments();
      await client.setTag('abc', 'k', 'v');
      expect(seen).toEqual(['Bearer t0k', 'Bearer t0k']);
    } finally {
      await fake.close();
    }
  });
});
