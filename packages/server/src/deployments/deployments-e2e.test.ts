// End-to-end: deployments through `buildApp` as clients see them, on SQLite and PostgreSQL — real ONNX
// versions registered over the MLflow API, deployments managed over Keel's API, calls over both
// serving protocols, and the prediction records, audit events and lineage they leave behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLinearModel } from '../../../sdk/src/onnx/index.js';
import { buildApp } from '../app.js';
import { parseCsv } from '../testing/parse-csv.js';
import { onnxModelFiles } from '../testing/registered-models.js';
import { float32Tensors } from '../testing/serving-fixtures.js';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

const SIGNATURE = {
  inputs: float32Tensors({ input: [-1, 2] }),
  outputs: float32Tensors({ output: [-1, 1] }),
};
/** Version `v` of model `m` answers `x0 + x1 + 100·v`: every answer names the version that gave it. */
const versionBytes = (v: number) =>
  exportLinearModel({ weights: [[1, 1]], bias: [100 * v], activation: 'none' });
const EXAMPLE = { inputs: { input: [[1, 2]] } };

/** An MLflow scoring body for one row `[x, 0]`. */
const scoring = (x: number) => ({ inputs: { input: [[x, 0]] } });
/** An Open Inference Protocol body for one row `[x, 0]`. */
const inference = (x: number) => ({
  inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [x, 0] }],
});

/**
 * POSTs JSON on a connection of its own (no keep-alive, so a closing server is not held open by idle
 * sockets); resolves with the status and the `x-keel-route` header.
 */
function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; route: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (response) => {
        response.resume();
        response.on('end', () => {
          const route = response.headers['x-keel-route'];
          resolve({ status: response.statusCode ?? 0, route: typeof route === 'string' ? route : undefined });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** Every number in a JSON value, depth first. */
function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.flatMap(numbersIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(numbersIn);
  return [];
}

/** The model version that answered `[x, 0]` with `body` (MLflow `predictions` or OIP `outputs`). */
function versionAnswering(x: number, body: JsonBody): string {
  const [value] = numbersIn(body.predictions ?? body.outputs?.map((o: JsonBody) => o.data));
  if (value === undefined) throw new Error(`no answer in ${JSON.stringify(body)}`);
  return String(Math.round((value - x) / 100));
}

/** Runs `fn(0…count-1)` with at most `concurrency` calls in flight; results in index order. */
async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(dialects)('deployments end to end through buildApp (%s)', (dialect) => {
  let t: TestApp;
  let dir: string;

  const keel = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await t.app.inject({
      method,
      url: `/api/2.0/keel/${path}`,
      headers,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, body: res.payload === '' ? undefined : (res.json() as JsonBody) };
  };
  const invoke = (
    app: FastifyInstance,
    deployment: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> =>
    app.inject({
      method: 'POST',
      url: `/deployments/${deployment}/invocations`,
      payload: body as object,
      headers,
    });
  const infer = (deployment: string, body: unknown, version?: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/v2/models/${deployment}${version === undefined ? '' : `/versions/${version}`}/infer`,
      payload: body as object,
      headers,
    });
  const createDeployment = async (name: string, spec: unknown, user = 'alice') => {
    const res = await keel('POST', 'deployments/create', { name, spec }, { 'x-keel-user': user });
    expect(res.status).toBe(200);
    await waitUntil(async () => {
      const ready = await t.app.inject({ method: 'GET', url: `/deployments/${name}/ready` });
      return ready.statusCode === 200;
    }, `deployment ${name} to be ready`);
    return res.body.deployment;
  };
  const setAlias = async (alias: string, version: string) => {
    const res = await t.post('registered-models/alias', { name: 'm', alias, version });
    expect(res.status).toBe(200);
  };
  /** Every record matching `query`, through the JSON-lines export. */
  const records = async (query: Record<string, string | number>): Promise<JsonBody[]> => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await t.app.inject({ method: 'GET', url: `/api/2.0/keel/predictions/export?${qs}` });
    expect(res.statusCode).toBe(200);
    return res.payload
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as JsonBody);
  };
  /**
   * Waits until `count` records match `query` (records are written off the request path), then checks
   * that no more arrive.
   */
  const settledRecords = async (query: Record<string, string | number>, count: number) => {
    let found: JsonBody[] = [];
    await waitUntil(
      async () => {
        found = await records(query);
        return found.length >= count;
      },
      `${count} records of ${JSON.stringify(query)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    return records(query);
  };

  /** Registers the next version of `m` as an MLflow client does: run, artifacts, log-model, version. */
  const registerVersion = async (v: number) => {
    const run = (await t.post('runs/create', { experiment_id: '0' })).body.run;
    const runId = run.info.run_id as string;
    const root = String(run.info.artifact_uri).replace('mlflow-artifacts:/', '');
    const files = onnxModelFiles(versionBytes(v), { signature: SIGNATURE, servingInputExample: EXAMPLE });
    for (const [path, content] of Object.entries(files)) {
      const res = await t.app.inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/${path}`,
        payload: Buffer.from(content),
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(res.statusCode).toBe(200);
    }
    const logged = await t.post('runs/log-model', {
      run_id: runId,
      model_json: JSON.stringify({
        artifact_path: 'model',
        run_id: runId,
        utc_time_created: '2026-11-22 12:00:00.000000',
        flavors: { onnx: { data: 'model.onnx', onnx_version: '1.17.0' } },
      }),
    });
    expect(logged.status).toBe(200);
    if (v === 1) expect((await t.post('registered-models/create', { name: 'm' })).status).toBe(200);
    const version = await t.post('model-versions/create', {
      name: 'm',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(version.status).toBe(200);
    expect(version.body.model_version.version).toBe(String(v));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-deployments-e2e-'));
    t = await createTestApp(dialect, {
      modelCacheDir: join(dir, 'model-cache'),
      predictionSpillDir: join(dir, 'spill'),
      // Changes made through the app apply at once (its refresh after writes); no polling needed.
      deployments: { pollIntervalMs: 60_000, idleEvictMs: 0 },
    });
    await registerVersion(1);
    await registerVersion(2);
    await setAlias('champion', '1');
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits a canary 90/10 between an alias and a pinned version, keeps a caller on its arm, pins by version', async () => {
    await createDeployment('canary', {
      routes: [
        { name: 'stable', model: 'models:/m@champion', weight: 90 },
        { name: 'canary', model: 'models:/m/2', weight: 10 },
      ],
      resources: { workers: 1 },
    });
    const calls = await pool(1000, 32, async (i) => {
      const res = await invoke(t.app, 'canary', scoring(i));
      expect(res.statusCode).toBe(200);
      return { arm: res.headers['x-keel-route'], version: versionAnswering(i, res.json()) };
    });
    const canary = calls.filter((c) => c.arm === 'canary').length;
    // 100 expected; ±5 standard deviations (σ ≈ 9.5).
    expect(canary).toBeGreaterThan(52);
    expect(canary).toBeLessThan(148);
    expect(calls.filter((c) => c.arm === 'stable').length).toBe(1000 - canary);
    // Every answer came from the version of the arm the response names.
    for (const call of calls) expect(call.version).toBe(call.arm === 'canary' ? '2' : '1');

    // A caller sending x-keel-route back stays on that arm.
    for (const arm of ['canary', 'stable']) {
      const sticky = await pool(30, 10, async (i) => {
        const res = await invoke(t.app, 'canary', scoring(i), { 'x-keel-route': arm });
        return [res.statusCode, res.headers['x-keel-route'], versionAnswering(i, res.json())];
      });
      expect(new Set(sticky.map((s) => JSON.stringify(s)))).toEqual(
        new Set([JSON.stringify([200, arm, arm === 'canary' ? '2' : '1'])]),
      );
    }
    // An explicit version is served by the arm serving it, over the Open Inference Protocol.
    for (const version of ['1', '2']) {
      const pinned = await pool(30, 10, async (i) => {
        const res = await infer('canary', inference(i), version);
        expect(res.statusCode).toBe(200);
        const body = res.json() as JsonBody;
        return [body.model_name, body.model_version, versionAnswering(i, body)];
      });
      expect(new Set(pinned.map((p) => JSON.stringify(p)))).toEqual(
        new Set([JSON.stringify(['canary', version, version])]),
      );
    }
    const missing = await infer('canary', inference(1), '3');
    expect(missing.statusCode).toBe(404);
    // …and a weighted call answers with the version of the arm it landed on.
    const floating = await infer('canary', inference(5));
    expect(floating.json().model_version).toBe(floating.headers['x-keel-route'] === 'canary' ? '2' : '1');
  });

  it('answers from the primary while the shadow gets a copy of each call, recorded with arm shadow', async () => {
    await createDeployment('shadowed', {
      routes: [{ name: 'main', model: 'models:/m@champion', weight: 1 }],
      shadow: { model: 'models:/m/2' },
      resources: { workers: 1 },
    });
    const responses = await pool(50, 10, async (i) => {
      const res = await invoke(t.app, 'shadowed', scoring(i), { 'x-request-id': `shadow-${i}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-keel-route']).toBe('main');
      expect(res.headers['x-request-id']).toBe(`shadow-${i}`);
      return versionAnswering(i, res.json());
    });
    expect(new Set(responses)).toEqual(new Set(['1']));

    const stored = await settledRecords({ deployment: 'shadowed' }, 100);
    expect(stored).toHaveLength(100);
    const byArm = (arm: string) => stored.filter((r) => r.arm === arm);
    expect(byArm('main')).toHaveLength(50);
    expect(byArm('shadow')).toHaveLength(50);
    for (const record of byArm('shadow')) {
      const x = Number(String(record.request_id).slice('shadow-'.length));
      expect(record).toMatchObject({ model_name: 'm', model_version: '2', status: 200, recorded: 'full' });
      // The shadow's own answer is recorded (version 2's), never returned.
      expect(versionAnswering(x, record.output)).toBe('2');
      expect(record.input).toEqual(scoring(x));
    }
    for (const record of byArm('main')) expect(record.model_version).toBe('1');
    expect(new Set(byArm('shadow').map((r) => r.request_id))).toEqual(
      new Set(byArm('main').map((r) => r.request_id)),
    );
  });

  it('moves champion from v1 to v2 under continuous concurrent load without a failed request', async () => {
    await createDeployment('live', {
      routes: [{ name: 'main', model: 'models:/m@champion', weight: 1 }],
      resources: { workers: 1 },
    });
    let stop = false;
    let moved = false;
    let afterMove = 0;
    const failures: string[] = [];
    const seen: string[][] = [];
    const client = async (id: number) => {
      const versions: string[] = [];
      seen[id] = versions;
      for (let i = 0; !stop; i++) {
        const res = await invoke(t.app, 'live', scoring(i));
        if (res.statusCode !== 200) {
          failures.push(`${res.statusCode} ${res.payload}`);
          continue;
        }
        versions.push(versionAnswering(i, res.json()));
        if (moved) afterMove++;
      }
    };
    const clients = Array.from({ length: 16 }, (_, i) => client(i));
    await waitUntil(() => seen.flat().length > 300, '300 answers before the move');
    await setAlias('champion', '2');
    moved = true;
    // Every client ends up on v2 and keeps being answered.
    await waitUntil(
      () => afterMove > 300 && seen.every((versions) => versions[versions.length - 1] === '2'),
      'every client to be answered by v2',
    );
    stop = true;
    await Promise.all(clients);
    await setAlias('champion', '1');

    expect(failures).toEqual([]);
    for (const versions of seen) {
      // v1 first, then v2, never back: the switch is atomic per call.
      const firstV2 = versions.indexOf('2');
      expect(versions[0]).toBe('1');
      expect(firstV2).toBeGreaterThan(0);
      expect(versions.slice(firstV2).every((v) => v === '2')).toBe(true);
    }
  });

  describe('prediction records', () => {
    /** What the load sent: request id → [caller, status, arm]. */
    const sent = new Map<string, { caller: string; status: number; arm: string }>();
    const CALLS = 2000;
    let startedAt = 0;

    beforeAll(async () => {
      await createDeployment('audit', {
        routes: [
          { name: 'a', model: 'models:/m/1', weight: 1 },
          { name: 'b', model: 'models:/m/2', weight: 1 },
        ],
        resources: { workers: 1 },
      });
      startedAt = Date.now();
      await pool(CALLS, 32, async (i) => {
        // Four callers by header, one by Basic auth (whose password must never be recorded); every
        // 40th call does not fit the signature (400, still an answered and recorded call).
        const caller = i % 5 === 4 ? 'bob' : `client-${i % 5}`;
        const headers: Record<string, string> =
          caller === 'bob'
            ? { authorization: `Basic ${Buffer.from('bob:s3cr3t-pw').toString('base64')}` }
            : { 'x-keel-user': caller };
        const body = i % 40 === 0 ? { inputs: { input: [[1, 2, 3]] } } : scoring(i);
        const res = await invoke(t.app, 'audit', body, { ...headers, 'x-request-id': `audit-${i}` });
        sent.set(`audit-${i}`, {
          caller,
          status: res.statusCode,
          arm: String(res.headers['x-keel-route']),
        });
      });
    });

    it('stores exactly one record per answered call under load (2000 calls, 32 clients)', async () => {
      expect([...sent.values()].filter((s) => s.status === 400)).toHaveLength(CALLS / 40);
      expect([...sent.values()].filter((s) => s.status === 200)).toHaveLength(CALLS - CALLS / 40);
      const stored = await settledRecords({ deployment: 'audit' }, CALLS);
      expect(stored).toHaveLength(CALLS);
      expect(new Set(stored.map((r) => r.request_id))).toEqual(new Set(sent.keys()));
      for (const record of stored) {
        const call = sent.get(record.request_id);
        expect([record.caller, record.status, record.arm]).toEqual([call?.caller, call?.status, call?.arm]);
        expect(record.model_version).toBe(record.arm === 'a' ? '1' : '2');
        expect(record.deployment_revision).toBe(1);
        expect(record.model_digest).toMatch(/^[0-9a-f]{64}$/);
      }
      expect(JSON.stringify(stored)).not.toContain('s3cr3t');
    });

    it('pages through the search API to the same records, newest first', async () => {
      const ids: string[] = [];
      let pageToken: string | undefined;
      let previous = Number.POSITIVE_INFINITY;
      do {
        const page = await keel(
          'GET',
          `predictions?deployment=audit&max_results=700${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ''}`,
        );
        expect(page.status).toBe(200);
        for (const record of page.body.predictions) {
          expect(record.received_at).toBeLessThanOrEqual(previous);
          previous = record.received_at;
          ids.push(record.request_id);
        }
        pageToken = page.body.next_page_token;
      } while (pageToken !== undefined);
      expect(ids).toHaveLength(CALLS);
      expect(new Set(ids)).toEqual(new Set(sent.keys()));
    });

    it('filters by deployment, model version, caller, status and time', async () => {
      const count = (query: Record<string, string | number>) =>
        records({ deployment: 'audit', ...query }).then((found) => found.length);
      const expected = (keep: (s: { caller: string; status: number; arm: string }) => boolean) =>
        [...sent.values()].filter(keep).length;
      expect(await count({ model_name: 'm', model_version: '2' })).toBe(expected((s) => s.arm === 'b'));
      expect(await count({ model_version: '1' })).toBe(expected((s) => s.arm === 'a'));
      expect(await count({ caller: 'bob' })).toBe(CALLS / 5);
      expect(await count({ caller: 'client-2' })).toBe(CALLS / 5);
      expect(await count({ status: 400 })).toBe(CALLS / 40);
      expect(await count({ status: 200, caller: 'client-0', model_version: '1' })).toBe(
        expected((s) => s.status === 200 && s.caller === 'client-0' && s.arm === 'a'),
      );
      expect(await count({ from: startedAt - 1 })).toBe(CALLS);
      expect(await count({ to: startedAt - 1 })).toBe(0);
      expect(await count({ deployment: 'no-such-deployment' })).toBe(0);
      const failed = await records({ deployment: 'audit', status: 400, max_results: 1 });
      expect(failed[0]).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE', recorded: 'full' });
      expect(failed[0].output).toBeUndefined();
    });

    it('exports the same records as JSON lines and as CSV', async () => {
      const jsonl = await records({ deployment: 'audit', caller: 'client-1' });
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/2.0/keel/predictions/export?format=csv&deployment=audit&caller=client-1',
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const [header, ...rows] = parseCsv(res.payload);
      expect(rows).toHaveLength(jsonl.length);
      expect(jsonl).toHaveLength(CALLS / 5);
      const column = (name: string) => (header as string[]).indexOf(name);
      for (const [i, row] of rows.entries()) {
        const record = jsonl[i] as JsonBody;
        expect(row).toHaveLength((header as string[]).length);
        expect(row[column('record_id')]).toBe(record.record_id);
        expect(row[column('request_id')]).toBe(record.request_id);
        expect(Number(row[column('status')])).toBe(record.status);
        expect(row[column('model_version')]).toBe(record.model_version);
        expect(row[column('caller')]).toBe('client-1');
        expect(JSON.parse(row[column('input')] as string)).toEqual(record.input);
        if (record.output === undefined) expect(row[column('output')]).toBe('');
        else expect(JSON.parse(row[column('output')] as string)).toEqual(record.output);
      }
    });

    it('takes feedback by request id, visible in search', async () => {
      const label = { fraud: true, note: 'confirmed, "by hand"' };
      const res = await keel(
        'POST',
        'predictions/feedback',
        { request_id: 'audit-7', label },
        { 'x-keel-user': 'labeler' },
      );
      expect(res).toEqual({ status: 200, body: {} });
      const unknown = await keel('POST', 'predictions/feedback', { request_id: 'nope', label: 1 });
      expect([unknown.status, unknown.body.error_code]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);

      const page = await keel(
        'GET',
        `predictions?deployment=audit&caller=${sent.get('audit-7')?.caller}&max_results=1000`,
      );
      const labelled = (page.body.predictions as JsonBody[]).filter((r) => r.label !== undefined);
      expect(labelled).toEqual([
        expect.objectContaining({ request_id: 'audit-7', label, label_actor: 'labeler' }),
      ]);
      expect(labelled[0].label_timestamp).toBeGreaterThanOrEqual(startedAt);
    });

    it('stores every record of calls answered just before the app closes (close flushes)', async () => {
      // A second server process on the same store: its calls are answered, then it closes at once.
      const second = await buildApp({
        store: t.store.store,
        config: {
          artifactsDestination: pathToFileURL(t.artifactsDir).href,
          logLevel: 'silent',
          modelCacheDir: join(dir, 'model-cache-2'),
          predictionSpillDir: join(dir, 'spill-2'),
        },
        logger: false,
      });
      let answered = 0;
      try {
        await waitUntil(async () => {
          const ready = await second.inject({ method: 'GET', url: '/deployments/audit/ready' });
          return ready.statusCode === 200;
        }, 'the second app to load the deployment');
        const statuses = await pool(300, 32, async (i) => {
          const res = await invoke(second, 'audit', scoring(i), { 'x-keel-user': 'closer' });
          return res.statusCode;
        });
        answered = statuses.filter((s) => s === 200).length;
      } finally {
        await second.close();
      }
      expect(answered).toBe(300);
      // No waiting: close() has written them.
      expect(await records({ deployment: 'audit', caller: 'closer' })).toHaveLength(300);
    });

    it('stores a record for every call a listening app answered while it was closing under load', async () => {
      const third = await buildApp({
        store: t.store.store,
        config: {
          artifactsDestination: pathToFileURL(t.artifactsDir).href,
          logLevel: 'silent',
          modelCacheDir: join(dir, 'model-cache-3'),
          predictionSpillDir: join(dir, 'spill-3'),
        },
        logger: false,
      });
      const answered: string[] = [];
      const others: number[] = [];
      let closing: Promise<void> | undefined;
      try {
        await waitUntil(async () => {
          const ready = await third.inject({ method: 'GET', url: '/deployments/audit/ready' });
          return ready.statusCode === 200;
        }, 'the third app to load the deployment');
        const url = await third.listen({ port: 0, host: '127.0.0.1' });
        const client = async (k: number) => {
          // Until the close starts: each client's last call is in flight while the app closes.
          for (let i = 0; closing === undefined; i++) {
            const id = `closing-${k}-${i}`;
            let res: { status: number; route: string | undefined };
            try {
              res = await postJson(`${url}/deployments/audit/invocations`, scoring(i), {
                'x-request-id': id,
                'x-keel-user': 'closing',
              });
            } catch {
              return; // connection refused or reset: the server is gone or going
            }
            // Answered by an arm (it names itself), or refused while closing (Fastify's own 503).
            if (res.route !== undefined) answered.push(id);
            else others.push(res.status);
          }
        };
        const clients = Array.from({ length: 32 }, (_, k) => client(k));
        await waitUntil(() => answered.length >= 300, '300 answers before closing');
        closing = third.close();
        await Promise.all(clients);
      } finally {
        await (closing ?? third.close());
      }
      expect(others.every((status) => status === 503)).toBe(true);
      const stored = await records({ deployment: 'audit', caller: 'closing' });
      expect(stored.map((r) => r.request_id).sort()).toEqual(answered.sort());
    });
  });

  it('updates a deployment to a new route, rolls it back, and serving follows; revisions and audit events', async () => {
    await createDeployment(
      'rolling',
      { routes: [{ name: 'main', model: 'models:/m/1', weight: 1 }] },
      'alice',
    );
    const servedVersion = async () =>
      versionAnswering(3, (await invoke(t.app, 'rolling', scoring(3))).json());
    expect(await servedVersion()).toBe('1');

    const updated = await keel(
      'PATCH',
      'deployments/update',
      { name: 'rolling', spec: { routes: [{ name: 'next', model: 'models:/m/2', weight: 1 }] } },
      { 'x-keel-user': 'bob' },
    );
    expect(updated.status).toBe(200);
    expect(updated.body.deployment.revision).toBe(2);
    await waitUntil(async () => (await servedVersion()) === '2', 'serving to follow the update');
    const next = await invoke(t.app, 'rolling', scoring(3));
    expect(next.headers['x-keel-route']).toBe('next');

    const rolledBack = await keel(
      'POST',
      'deployments/rollback',
      { name: 'rolling', revision: 1 },
      { 'x-keel-user': 'carol' },
    );
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.deployment).toMatchObject({
      revision: 3,
      spec: { routes: [{ name: 'main', model: 'models:/m/1', weight: 1 }] },
    });
    await waitUntil(async () => (await servedVersion()) === '1', 'serving to follow the rollback');
    expect((await invoke(t.app, 'rolling', scoring(3))).headers['x-keel-route']).toBe('main');

    const revisions = await keel('GET', 'deployments/revisions?name=rolling');
    expect(revisions.status).toBe(200);
    expect((revisions.body.revisions as JsonBody[]).map((r) => [r.revision, r.spec.routes[0].model])).toEqual(
      [
        [3, 'models:/m/1'],
        [2, 'models:/m/2'],
        [1, 'models:/m/1'],
      ],
    );

    const audit = await keel('GET', 'audit/events?entity=deployment&entity_id=rolling');
    expect(audit.status).toBe(200);
    expect((audit.body.events as JsonBody[]).map((e) => [e.action, e.actor])).toEqual([
      ['deployment.created', 'alice'],
      ['deployment.updated', 'bob'],
      ['deployment.rolled_back', 'carol'],
    ]);

    // The records say which revision answered each call.
    const stored = await settledRecords({ deployment: 'rolling' }, 1);
    expect(new Set(stored.map((r) => `${r.deployment_revision}:${r.model_version}`))).toContain('3:1');
  });

  it('shows in the lineage of a version the deployments serving it and their prediction counts', async () => {
    // Serves v2 (the latest) without having been called.
    await createDeployment('idle', { routes: [{ name: 'only', model: 'models:/m/latest', weight: 1 }] });
    const lineage = await keel('GET', 'lineage?model=m&version=2');
    expect(lineage.status).toBe(200);
    const nodes = (lineage.body.nodes as JsonBody[]).filter((n) => n.kind === 'deployment');
    // The counts the records API gives for version 2, per deployment.
    const counts = new Map<string, number>();
    for (const record of await records({ model_name: 'm', model_version: '2' })) {
      counts.set(record.deployment, (counts.get(record.deployment) ?? 0) + 1);
    }
    expect(counts.get('audit')).toBeGreaterThan(0);
    expect(Object.fromEntries(nodes.map((n) => [n.name, n.prediction_count]))).toEqual({
      ...Object.fromEntries(counts),
      idle: 0,
    });
    expect(nodes.find((n) => n.name === 'idle')).toMatchObject({ serving: true, arms: ['only'] });
    expect(nodes.find((n) => n.name === 'canary')).toMatchObject({ serving: true, arms: ['canary'] });
    expect(nodes.find((n) => n.name === 'shadowed')).toMatchObject({ serving: true, arms: ['shadow'] });
    expect(nodes.find((n) => n.name === 'audit')).toMatchObject({ serving: true, arms: ['b'] });
    // 'live' served v2 while champion pointed there; champion is back on v1, so it no longer serves it.
    expect(nodes.find((n) => n.name === 'live')).toMatchObject({ serving: false });
    const edges = (lineage.body.edges as JsonBody[]).filter((e) => e.kind === 'serves');
    expect(edges.map((e) => e.from).sort()).toEqual(nodes.map((n) => n.id).sort());
  });

  it('answers 503 with Retry-After when a tiny queue overflows, and records those calls', async () => {
    await createDeployment('tiny', {
      routes: [{ name: 'main', model: 'models:/m/1', weight: 1 }],
      // The first row waits 200 ms for company; the queue holds one row, so a burst overflows it.
      batching: { maxBatchSize: 64, maxDelayMs: 200 },
      resources: { workers: 1, maxQueueRows: 1 },
    });
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        invoke(t.app, 'tiny', scoring(i), { 'x-request-id': `tiny-${i}` }),
      ),
    );
    const refused = responses.filter((r) => r.statusCode === 503);
    const answered = responses.filter((r) => r.statusCode === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(answered.length).toBeGreaterThan(0);
    expect(refused.length + answered.length).toBe(30);
    for (const res of refused) {
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json().error_code).toBe('TEMPORARILY_UNAVAILABLE');
    }
    const stored = await settledRecords({ deployment: 'tiny' }, 30);
    expect(stored).toHaveLength(30);
    expect(stored.filter((r) => r.status === 503)).toHaveLength(refused.length);
    expect(await records({ deployment: 'tiny', status: 503 })).toEqual(
      stored.filter((r) => r.status === 503),
    );
    for (const record of stored.filter((r) => r.status === 503)) {
      expect(record).toMatchObject({
        error_code: 'TEMPORARILY_UNAVAILABLE',
        model_version: '1',
        arm: 'main',
      });
    }
  });
});
