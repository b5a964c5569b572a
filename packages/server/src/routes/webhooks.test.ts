import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';
import {
  closedPortUrl,
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
} from '../testing/webhook-receiver.js';

const dialects = await testDialects();

describe.each(dialects)('webhooks API on %s', (dialect) => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp(dialect, { webhooks: { pollIntervalMs: 20 } });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await t?.dispose();
    await receiver?.close();
  });
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.answer = () => ({ status: 200, body: 'ok' });
  });

  const call = async (method: 'GET' | 'PATCH' | 'DELETE' | 'POST', url: string, payload?: object) => {
    const res = await t.app.inject({ method, url, ...(payload ? { payload } : {}) });
    return {
      status: res.statusCode,
      body: (res.payload === '' ? undefined : JSON.parse(res.payload)) as JsonBody,
    };
  };
  const create = (body: object) => t.post('webhooks', body);
  const validHook = (name: string) => ({
    name,
    url: receiver.url,
    events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
    secret: 'whsec_1',
  });

  it('creates a webhook and never returns its secret', async () => {
    const res = await create({ ...validHook('ci'), description: 'kick CI' });
    expect(res.status).toBe(200);
    const hook = res.body.webhook;
    expect(hook).toEqual({
      webhook_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      name: 'ci',
      description: 'kick CI',
      url: receiver.url,
      events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }],
      status: 'ACTIVE',
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: hook.creation_timestamp,
    });
    const got = await call('GET', `/api/2.0/mlflow/webhooks/${hook.webhook_id}`);
    expect(got.status).toBe(200);
    expect(got.body.webhook).toEqual(hook);
    expect(JSON.stringify(got.body)).not.toContain('whsec_1');
  });

  it('accepts events by lower-case name and proto number, and a DISABLED status by number', async () => {
    const res = await create({
      name: 'mixed',
      url: receiver.url,
      events: [
        { entity: 'model_version_tag', action: 'set' },
        { entity: 4, action: 3 },
      ],
      status: 2,
    });
    expect(res.status).toBe(200);
    expect(res.body.webhook.events).toEqual([
      { entity: 'MODEL_VERSION_TAG', action: 'SET' },
      { entity: 'MODEL_VERSION_ALIAS', action: 'DELETED' },
    ]);
    expect(res.body.webhook.status).toBe('DISABLED');
  });

  it('rejects bad input with INVALID_PARAMETER_VALUE naming the field', async () => {
    const cases: [object, string][] = [
      [{ url: receiver.url, events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }] }, "'name'"],
      [{ name: 'x', events: [{ entity: 'MODEL_VERSION', action: 'CREATED' }] }, "'url'"],
      [{ name: 'x', url: receiver.url }, "'events'"],
      [{ name: 'x', url: receiver.url, events: [] }, "'events'"],
      [{ ...validHook('x'), url: 'ftp://example.com/hook' }, "'url'"],
      [{ ...validHook('x'), url: 'not a url' }, "'url'"],
      [{ ...validHook('x'), url: 'file:///etc/passwd' }, "'url'"],
      [{ ...validHook('x'), events: [{ entity: 'RUN', action: 'CREATED' }] }, "'events[0].entity'"],
      [
        { ...validHook('x'), events: [{ entity: 'MODEL_VERSION', action: 'EXPLODED' }] },
        "'events[0].action'",
      ],
      // A valid entity and a valid action that MLflow does not allow together.
      [{ ...validHook('x'), events: [{ entity: 'REGISTERED_MODEL', action: 'DELETED' }] }, "'events[0]'"],
      [{ ...validHook('x'), status: 'PAUSED' }, "'status'"],
    ];
    for (const [body, field] of cases) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(res.body.message).toContain(field);
    }
  });

  it('answers RESOURCE_DOES_NOT_EXIST (404) for unknown ids on get, update, delete, test and deliveries', async () => {
    for (const [method, url] of [
      ['GET', '/api/2.0/mlflow/webhooks/nope'],
      ['PATCH', '/api/2.0/mlflow/webhooks/nope'],
      ['DELETE', '/api/2.0/mlflow/webhooks/nope'],
      ['POST', '/api/2.0/mlflow/webhooks/nope/test'],
      ['GET', '/api/2.0/keel/webhooks/nope/deliveries'],
    ] as const) {
      const res = await call(method, url, method === 'PATCH' || method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    }
  });

  it('updates with PATCH: only the given fields change, and the URL is validated', async () => {
    const hook = (await create(validHook('to-update'))).body.webhook;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await call('PATCH', `/api/2.0/mlflow/webhooks/${hook.webhook_id}`, {
      name: 'renamed',
      events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
      status: 'DISABLED',
    });
    expect(res.status).toBe(200);
    expect(res.body.webhook).toMatchObject({
      webhook_id: hook.webhook_id,
      name: 'renamed',
      url: receiver.url,
      events: [{ entity: 'REGISTERED_MODEL', action: 'CREATED' }],
      status: 'DISABLED',
      creation_timestamp: hook.creation_timestamp,
    });
    expect(res.body.webhook.last_updated_timestamp).toBeGreaterThan(hook.last_updated_timestamp);
    const bad = await call('PATCH', `/api/2.0/mlflow/webhooks/${hook.webhook_id}`, { url: 'gopher://x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(bad.body.message).toContain("'url'");
    const after = await call('GET', `/api/2.0/mlflow/webhooks/${hook.webhook_id}`);
    expect(after.body.webhook.url).toBe(receiver.url);
    expect(after.body.webhook.name).toBe('renamed');
  });

  it('deletes a webhook', async () => {
    const hook = (await create(validHook('to-delete'))).body.webhook;
    const res = await call('DELETE', `/api/2.0/mlflow/webhooks/${hook.webhook_id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect((await call('GET', `/api/2.0/mlflow/webhooks/${hook.webhook_id}`)).status).toBe(404);
  });

  it('lists webhooks in pages', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await create(validHook(name));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await t.get('webhooks', { max_results: 2, ...(token ? { page_token: token } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.webhooks.length).toBeLessThanOrEqual(2);
      for (const w of res.body.webhooks) {
        expect(w.secret).toBeUndefined();
        seen.push(w.name);
      }
      token = res.body.next_page_token;
      pages += 1;
    } while (token);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await t.get('webhooks', { page_token: 'garbage' });
    expect(bad.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(bad.body.message).toContain('page_token');
    const tooMany = await t.get('webhooks', { max_results: 100000 });
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(tooMany.body.message).toContain('max_results');
  });

  it('tests a webhook synchronously with a signed example payload', async () => {
    const hook = (
      await create({
        ...validHook('tested'),
        events: [
          { entity: 'MODEL_VERSION_TAG', action: 'SET' },
          { entity: 'MODEL_VERSION', action: 'CREATED' },
          { entity: 'PROMPT_VERSION', action: 'CREATED' },
        ],
      })
    ).body.webhook;
    receiver.answer = () => ({ status: 200, body: 'thanks' });
    const res = await call('POST', `/api/2.0/mlflow/webhooks/${hook.webhook_id}/test`, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ result: { success: true, response_status: 200, response_body: 'thanks' } });
    expect(receiver.requests).toHaveLength(1);
    const request = receiver.requests[0];
    const body = JSON.parse(request?.body ?? '');
    // Defaults to the webhook's first event.
    expect(body).toEqual({
      entity: 'model_version_tag',
      action: 'set',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: { name: 'example_model', version: '1', key: 'example_key', value: 'example_value' },
    });
    const id = String(request?.headers['x-mlflow-delivery-id']);
    const ts = String(request?.headers['x-mlflow-timestamp']);
    const mac = createHmac('sha256', 'whsec_1').update(`${id}.${ts}.${request?.body}`).digest('base64');
    expect(request?.headers['x-mlflow-signature']).toBe(`v1,${mac}`);

    const chosen = await call('POST', `/api/2.0/mlflow/webhooks/${hook.webhook_id}/test`, {
      event: { entity: 'MODEL_VERSION', action: 'CREATED' },
    });
    expect(chosen.body.result.success).toBe(true);
    expect(JSON.parse(receiver.requests[1]?.body ?? '')).toMatchObject({
      entity: 'model_version',
      action: 'created',
    });
    // A prompt version's example carries its template, not a source.
    await call('POST', `/api/2.0/mlflow/webhooks/${hook.webhook_id}/test`, {
      event: { entity: 'PROMPT_VERSION', action: 'CREATED' },
    });
    expect(JSON.parse(receiver.requests[2]?.body ?? '').data).toEqual({
      name: 'example_prompt',
      version: '1',
      template: 'Hello {{name}}!',
      tags: { example_key: 'example_value' },
      description: 'An example prompt version',
    });

    receiver.answer = () => ({ status: 503, body: 'down for maintenance' });
    const failed = await call('POST', `/api/2.0/mlflow/webhooks/${hook.webhook_id}/test`, {});
    expect(failed.body.result).toMatchObject({
      success: false,
      response_status: 503,
      response_body: 'down for maintenance',
    });
  });

  it('reports a test against an unreachable URL as a failed result, not an error', async () => {
    const hook = (await create({ ...validHook('unreachable'), url: await closedPortUrl() })).body.webhook;
    const res = await call('POST', `/api/2.0/mlflow/webhooks/${hook.webhook_id}/test`, {});
    expect(res.status).toBe(200);
    expect(res.body.result.success).toBe(false);
    expect(res.body.result.response_status).toBeUndefined();
    expect(res.body.result.error_message).toMatch(/ECONNREFUSED/);
  });

  it('serves the same API under the ajax prefix', async () => {
    const res = await call('GET', '/ajax-api/2.0/mlflow/webhooks');
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body.webhooks)).toBe(true);
  });
});

describe.each(dialects)('webhooks end to end through the registry API on %s', (dialect) => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await createTestApp(dialect, { webhooks: { pollIntervalMs: 10, backoffBaseMs: 20 } });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await t?.dispose();
    await receiver?.close();
  });

  it('delivers signed MLflow events for model, version, tag and alias changes, and none for a failed change', async () => {
    const hook = (
      await t.post('webhooks', {
        name: 'e2e',
        url: receiver.url,
        secret: 'e2e-secret',
        events: [
          { entity: 'REGISTERED_MODEL', action: 'CREATED' },
          { entity: 'MODEL_VERSION', action: 'CREATED' },
          { entity: 'MODEL_VERSION_TAG', action: 'SET' },
          { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
        ],
      })
    ).body.webhook;
    const run = (await t.post('runs/create', {})).body.run;
    const root = String(run.info.artifact_uri).replace('mlflow-artifacts:/', '');
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/MLmodel`,
      payload: 'flavors: {}\n',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode).toBe(200);

    expect((await t.post('registered-models/create', { name: 'e2e-model', description: 'd' })).status).toBe(
      200,
    );
    // A failed change (duplicate name) commits nothing, so it sends nothing.
    expect((await t.post('registered-models/create', { name: 'e2e-model' })).status).toBe(400);
    const version = await t.post('model-versions/create', {
      name: 'e2e-model',
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    expect(version.status).toBe(200);
    const v = String(version.body.model_version.version);
    expect(
      (await t.post('model-versions/set-tag', { name: 'e2e-model', version: v, key: 'qa', value: 'passed' }))
        .status,
    ).toBe(200);
    expect(
      (await t.post('registered-models/alias', { name: 'e2e-model', alias: 'champion', version: v })).status,
    ).toBe(200);

    await waitFor(() => receiver.requests.length >= 4, 10_000, 'four deliveries');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.requests).toHaveLength(4);
    const bodies = receiver.requests.map((r) => {
      const id = String(r.headers['x-mlflow-delivery-id']);
      const ts = String(r.headers['x-mlflow-timestamp']);
      const mac = createHmac('sha256', 'e2e-secret').update(`${id}.${ts}.${r.body}`).digest('base64');
      expect(r.headers['x-mlflow-signature']).toBe(`v1,${mac}`);
      const { entity, action, data } = JSON.parse(r.body);
      return { entity, action, data };
    });
    expect(bodies).toEqual(
      expect.arrayContaining([
        {
          entity: 'registered_model',
          action: 'created',
          data: { name: 'e2e-model', tags: {}, description: 'd' },
        },
        {
          entity: 'model_version',
          action: 'created',
          data: {
            name: 'e2e-model',
            version: v,
            source: `runs:/${run.info.run_id}/model`,
            run_id: run.info.run_id,
            tags: {},
            description: null,
          },
        },
        {
          entity: 'model_version_tag',
          action: 'set',
          data: { name: 'e2e-model', version: v, key: 'qa', value: 'passed' },
        },
        {
          entity: 'model_version_alias',
          action: 'created',
          data: { name: 'e2e-model', alias: 'champion', version: v },
        },
      ]),
    );

    const log = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/keel/webhooks/${hook.webhook_id}/deliveries`,
    });
    const deliveries = JSON.parse(log.payload).deliveries as JsonBody[];
    expect(deliveries).toHaveLength(4);
    for (const d of deliveries) {
      expect(d).toMatchObject({ state: 'delivered', attempts: 1 });
      expect(d.attempt_log).toEqual([
        { attempt: 1, time: expect.any(Number), status_code: 200, duration_ms: expect.any(Number) },
      ]);
    }
  });
});
