import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { systemActor } from '../changes/change.js';
import type { PredictionRecordInput } from '../predictions/prediction-record.js';
import { createServices, type Services } from '../services/services.js';
import { parseCsv } from '../testing/parse-csv.js';
import type { JsonBody } from '../testing/test-app.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

/** Epoch ms of the first call; call `i` is received `i` seconds later. */
const T0 = 1_750_000_000_000;

function call(i: number, overrides: Partial<PredictionRecordInput> = {}): PredictionRecordInput {
  return {
    requestId: `req-${i}`,
    deployment: i % 2 === 0 ? 'fraud' : 'churn',
    deploymentRevision: 1,
    modelName: i % 2 === 0 ? 'fraud-model' : 'churn-model',
    modelVersion: i % 4 < 2 ? '1' : '2',
    arm: 'route-0',
    caller: i % 3 === 0 ? 'alice' : 'bob',
    protocol: 'mlflow',
    receivedAt: T0 + i * 1000,
    completedAt: T0 + i * 1000 + 2.5,
    status: i % 5 === 4 ? 503 : 200,
    inputJson: JSON.stringify({ inputs: [[i, null, 'a,"b"\nc']], empty: [] }),
    ...(i % 5 === 4
      ? { errorCode: 'TEMPORARILY_UNAVAILABLE' }
      : { outputJson: JSON.stringify({ predictions: [i / 2] }) }),
    recording: { mode: 'full' },
    ...overrides,
  };
}

describe.each(dialects)('prediction records API (%s)', (dialect) => {
  let store: TestStore;
  let services: Services;
  let app: FastifyInstance;
  let artifactsDir: string;

  const get = async (path: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/2.0/keel/${path}` });
    return { status: res.statusCode, body: res.json() as JsonBody, headers: res.headers };
  };
  const feedback = async (body: object, user = 'carol') => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/2.0/keel/predictions/feedback',
      payload: body,
      headers: { 'x-keel-user': user },
    });
    return { status: res.statusCode, body: res.json() as JsonBody };
  };

  beforeAll(async () => {
    store = await createTestStore(dialect);
    artifactsDir = mkdtempSync(join(tmpdir(), 'keel-predictions-artifacts-'));
    services = createServices(store.store, {
      artifacts: new LocalArtifactStore(artifactsDir),
      predictionSpillDir: join(artifactsDir, 'spill'),
    });
    app = await buildApp({
      store: store.store,
      config: { artifactsDestination: pathToFileURL(artifactsDir).href, logLevel: 'silent' },
      logger: false,
      services,
    });
    for (let i = 0; i < 40; i++) services.predictionRecorder.record(call(i));
    // The shadow of call 0: same request id, its own record (a millisecond later, for a stable order).
    services.predictionRecorder.record(
      call(0, { arm: 'shadow', modelVersion: '3', receivedAt: T0 + 1, completedAt: T0 + 3.5 }),
    );
    await services.predictionRecorder.flush();
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
    rmSync(artifactsDir, { recursive: true, force: true });
  });

  it('lists records newest first with their payloads exactly as recorded', async () => {
    const { status, body } = await get('predictions?max_results=3');
    expect(status).toBe(200);
    expect(body.predictions.map((p: JsonBody) => p.request_id)).toEqual(['req-39', 'req-38', 'req-37']);
    const newest = body.predictions[0];
    expect(newest).toEqual({
      record_id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      request_id: 'req-39',
      deployment: 'churn',
      deployment_revision: 1,
      model_name: 'churn-model',
      model_version: '2',
      arm: 'route-0',
      caller: 'alice',
      protocol: 'mlflow',
      received_at: T0 + 39_000,
      completed_at: T0 + 39_003,
      latency_ms: 2.5,
      status: 503,
      error_code: 'TEMPORARILY_UNAVAILABLE',
      recorded: 'full',
      input: { empty: [], inputs: [[39, null, 'a,"b"\nc']] },
      input_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(body.predictions[1].output).toEqual({ predictions: [19] });
    expect(body.next_page_token).toEqual(expect.any(String));
  });

  it('filters by deployment, model version, caller, status and time, and pages through every match', async () => {
    const ids = async (query: string) => {
      const all: string[] = [];
      let token: string | undefined;
      do {
        const page = await get(
          `predictions?max_results=4&${query}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
        );
        expect(page.status).toBe(200);
        all.push(
          ...page.body.predictions.map((p: JsonBody) => `${p.request_id}${p.arm === 'shadow' ? '*' : ''}`),
        );
        token = page.body.next_page_token;
      } while (token !== undefined);
      return all;
    };
    const expected = (keep: (i: number) => boolean) =>
      Array.from({ length: 40 }, (_, i) => 39 - i)
        .filter(keep)
        .map((i) => `req-${i}`);
    expect(await ids('deployment=fraud&model_name=fraud-model&model_version=1')).toEqual(
      expected((i) => i % 2 === 0 && i % 4 < 2),
    );
    expect(await ids('caller=alice&status=200')).toEqual([
      ...expected((i) => i > 0 && i % 3 === 0 && i % 5 !== 4),
      'req-0*',
      'req-0',
    ]);
    expect(await ids(`from=${T0 + 10_000}&to=${T0 + 12_000}`)).toEqual(['req-12', 'req-11', 'req-10']);
    expect(await ids('model_version=3')).toEqual(['req-0*']);
    expect(await ids('deployment=none')).toEqual([]);
    expect((await ids('')).length).toBe(41);
  });

  it('rejects bad paging and filter values with INVALID_PARAMETER_VALUE', async () => {
    for (const query of [
      'max_results=0',
      'max_results=1001',
      'page_token=garbage',
      'status=abc',
      'from=yesterday',
    ]) {
      const { status, body } = await get(`predictions?${query}`);
      expect(status, query).toBe(400);
      expect(body.error_code, query).toBe('INVALID_PARAMETER_VALUE');
    }
    const bad = await get('predictions/export?format=xml');
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('exports JSON lines, streamed with the filters applied', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/2.0/keel/predictions/export?deployment=churn' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="predictions.jsonl"');
    const lines = res.payload.trimEnd().split('\n');
    expect(lines).toHaveLength(20);
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({ request_id: 'req-39', deployment: 'churn', status: 503 });
    expect(lines.map((line) => JSON.parse(line).request_id)).toEqual(
      Array.from({ length: 20 }, (_, k) => `req-${39 - 2 * k}`),
    );
    const capped = await app.inject({ method: 'GET', url: '/api/2.0/keel/predictions/export?max_results=5' });
    expect(capped.payload.trimEnd().split('\n')).toHaveLength(5);
  });

  it('exports CSV with a header and quoted fields', async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/2.0/keel/predictions/export?format=csv&from=${T0 + 38_000}`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, ...rows] = parseCsv(res.payload);
    expect(header).toEqual([
      'record_id',
      'request_id',
      'deployment',
      'deployment_revision',
      'model_name',
      'model_version',
      'model_digest',
      'arm',
      'caller',
      'protocol',
      'received_at',
      'completed_at',
      'latency_ms',
      'status',
      'error_code',
      'error_message',
      'recorded',
      'input_hash',
      'output_hash',
      'input',
      'output',
      'label',
      'label_timestamp',
      'label_actor',
    ]);
    expect(rows).toHaveLength(2);
    const row = Object.fromEntries((header as string[]).map((name, k) => [name, rows[1]?.[k]]));
    expect(row).toMatchObject({
      request_id: 'req-38',
      deployment: 'fraud',
      received_at: String(T0 + 38_000),
      latency_ms: '2.5',
      status: '200',
      error_code: '',
      input: '{"inputs":[[38,null,"a,\\"b\\"\\nc"]],"empty":[]}',
      output: '{"predictions":[19]}',
      label: '',
    });
  });

  it('labels every record of a request id, overwriting an earlier label', async () => {
    expect(await feedback({ request_id: 'req-0', label: { fraud: true } })).toEqual({
      status: 200,
      body: {},
    });
    const labelled = async () =>
      (await get(`predictions?from=${T0}&to=${T0 + 1}`)).body.predictions.map((p: JsonBody) => [
        p.arm,
        p.label,
        p.label_actor,
        p.label_timestamp,
      ]);
    const first = await labelled();
    expect(first).toEqual([
      ['shadow', { fraud: true }, 'carol', expect.any(Number)],
      ['route-0', { fraud: true }, 'carol', expect.any(Number)],
    ]);
    await new Promise((r) => setTimeout(r, 5));
    expect((await feedback({ request_id: 'req-0', label: 0 }, 'dave')).status).toBe(200);
    const second = await labelled();
    expect(second.map((entry: unknown[]) => entry.slice(0, 3))).toEqual([
      ['shadow', 0, 'dave'],
      ['route-0', 0, 'dave'],
    ]);
    expect(second[0][3]).toBeGreaterThan(first[0][3]);
  });

  it('answers 404 for an unknown request id and 400 without a label', async () => {
    const unknown = await feedback({ request_id: 'no-such-request', label: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const missing = await feedback({ request_id: 'req-1' });
    expect(missing.status).toBe(400);
    expect(missing.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('finds a record still in the recorder buffer when its label arrives', async () => {
    services.predictionRecorder.record(call(100, { requestId: 'just-answered', modelName: 'other-model' }));
    expect((await feedback({ request_id: 'just-answered', label: 'spam' })).status).toBe(200);
    const { body } = await get('predictions?max_results=1');
    expect(body.predictions[0]).toMatchObject({ request_id: 'just-answered', label: 'spam' });
  });

  it('counts records per deployment of a model version', async () => {
    expect(await services.predictions.countsByModelVersion('fraud-model', '1')).toEqual([
      { deployment: 'fraud', count: 10 },
    ]);
    expect(await services.predictions.countsByModelVersion('fraud-model', '3')).toEqual([
      { deployment: 'fraud', count: 1 },
    ]);
    expect(await services.predictions.countsByModelVersion('nope', '1')).toEqual([]);
  });

  it('reads an export lazily, one page at a time', async () => {
    const { PredictionService } = await import('../predictions/prediction-service.js');
    const { PredictionStore } = await import('../predictions/prediction-store.js');
    const predictionStore = new PredictionStore(store.store);
    let queries = 0;
    const counting = Object.assign(Object.create(predictionStore) as typeof predictionStore, {
      search: (...args: Parameters<typeof predictionStore.search>) => {
        queries += 1;
        return predictionStore.search(...args);
      },
    });
    const service = new PredictionService({ store: counting, exportPageSize: 10 });
    const lines = await service.exportLines({ format: 'jsonl', deployment: 'fraud' });
    expect(queries).toBe(1);
    const seen: string[] = [];
    for await (const line of lines) {
      seen.push(JSON.parse(line).request_id);
      if (seen.length === 10) expect(queries).toBe(1);
    }
    expect(seen.length).toBe(22); // 20 calls, the shadow of req-0, and 'just-answered' (call 100)
    expect(queries).toBe(3);
    await expect(service.feedback(systemActor(), { requestId: '', label: 1 })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER_VALUE',
    });
  });
});
