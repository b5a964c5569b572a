import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

const alice = { 'x-keel-user': 'alice', 'x-request-id': 'req-alice' };
const bob = { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` };

const canary = {
  routes: [
    { name: 'stable', model: 'models:/fraud@champion', weight: 90 },
    { name: 'canary', model: 'models:/fraud/8', weight: 10 },
  ],
};

describe.each(dialects)('deployment RPCs on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Calls `/api/2.0/keel/deployments/<path>`: GET with a query string, other methods with a JSON body. */
  const call = async (
    method: Method,
    path: string,
    message: Record<string, unknown> = {},
    headers: Record<string, string> = {},
    prefix = '/api/2.0/keel',
  ) => {
    const url = `${prefix}/deployments/${path}`;
    const res =
      method === 'GET'
        ? await t.app.inject({
            method,
            url: `${url}?${new URLSearchParams(Object.entries(message).map(([k, v]): [string, string] => [k, String(v)]))}`,
            headers,
          })
        : await t.app.inject({ method, url, payload: message, headers });
    return { status: res.statusCode, body: JSON.parse(res.payload || '{}') as JsonBody };
  };

  it('creates, gets, lists, updates and deletes a deployment', async () => {
    const created = await call(
      'POST',
      'create',
      { name: 'fraud', spec: canary, description: 'Fraud scoring' },
      alice,
    );
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      deployment: {
        name: 'fraud',
        revision: 1,
        spec: {
          routes: canary.routes,
          batching: { maxBatchSize: 64, maxDelayMs: 0 },
          recording: { mode: 'full' },
        },
        description: 'Fraud scoring',
        creation_timestamp: expect.any(Number),
        last_updated_timestamp: expect.any(Number),
        created_by: 'alice',
        last_updated_by: 'alice',
      },
    });

    expect(await call('GET', 'get', { name: 'fraud' })).toEqual({ status: 200, body: created.body });
    const listed = await call('GET', 'list');
    expect(listed).toEqual({ status: 200, body: { deployments: [created.body.deployment] } });

    const patched = await call(
      'PATCH',
      'update',
      { name: 'fraud', spec: { ...canary, shadow: { model: 'models:/fraud/9' } } },
      bob,
    );
    expect(patched.status).toBe(200);
    expect(patched.body.deployment).toMatchObject({
      revision: 2,
      description: 'Fraud scoring',
      created_by: 'alice',
      last_updated_by: 'bob',
      spec: { shadow: { model: 'models:/fraud/9' } },
    });
    // POST works for update too, and a description-only update keeps the spec.
    const posted = await call('POST', 'update', { name: 'fraud', description: 'v2' });
    expect(posted.body.deployment).toMatchObject({
      revision: 3,
      description: 'v2',
      last_updated_by: 'anonymous',
    });
    expect(posted.body.deployment.spec).toEqual(patched.body.deployment.spec);

    expect(await call('DELETE', 'delete', { name: 'fraud' }, alice)).toEqual({ status: 200, body: {} });
    expect((await call('GET', 'get', { name: 'fraud' })).status).toBe(404);
    expect(await call('GET', 'list')).toEqual({ status: 200, body: {} });
  });

  it('lists revisions newest first, gets one, and rolls back', async () => {
    await call('POST', 'create', { name: 'rb', spec: { routes: [{ model: 'models:/m/1' }] } });
    await call('PATCH', 'update', { name: 'rb', spec: { routes: [{ model: 'models:/m/2' }] } });
    const rolled = await call('POST', 'rollback', { name: 'rb', revision: '1' }, alice);
    expect(rolled.status).toBe(200);
    expect(rolled.body.deployment).toMatchObject({
      revision: 3,
      spec: { routes: [{ name: 'route-0', model: 'models:/m/1', weight: 1 }] },
    });

    const revisions = await call('GET', 'revisions', { name: 'rb' });
    expect(revisions.status).toBe(200);
    expect(
      revisions.body.revisions.map((r: JsonBody) => [
        r.revision,
        r.action,
        r.source_revision,
        r.spec.routes[0].model,
      ]),
    ).toEqual([
      [3, 'rolled_back', 1, 'models:/m/1'],
      [2, 'updated', undefined, 'models:/m/2'],
      [1, 'created', undefined, 'models:/m/1'],
    ]);

    const one = await call('GET', 'get-revision', { name: 'rb', revision: 2 });
    expect(one).toEqual({ status: 200, body: { revision: revisions.body.revisions[1] } });
  });

  it("answers MLflow's error shape: 404 for unknown names and revisions", async () => {
    const cases: [Method, string, Record<string, unknown>][] = [
      ['GET', 'get', { name: 'ghost' }],
      ['PATCH', 'update', { name: 'ghost', description: 'x' }],
      ['DELETE', 'delete', { name: 'ghost' }],
      ['GET', 'revisions', { name: 'ghost' }],
      ['GET', 'get-revision', { name: 'ghost', revision: 1 }],
      ['POST', 'rollback', { name: 'ghost', revision: 1 }],
    ];
    for (const [method, path, message] of cases) {
      const res = await call(method, path, message);
      expect(res, `${method} ${path}`).toEqual({
        status: 404,
        body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: expect.stringContaining('ghost') },
      });
    }
    await call('POST', 'create', { name: 'one-rev', spec: canary });
    expect(await call('POST', 'rollback', { name: 'one-rev', revision: 5 })).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Deployment 'one-rev' has no revision 5" },
    });
  });

  it('answers 400 INVALID_PARAMETER_VALUE naming the field of a bad request or spec', async () => {
    const cases: [Method, string, Record<string, unknown>, string][] = [
      ['POST', 'create', { spec: canary }, "Missing value for required parameter 'name'"],
      ['POST', 'create', { name: 'x' }, "Missing value for required parameter 'spec'"],
      ['POST', 'create', { name: 'bad name', spec: canary }, "for parameter 'name'"],
      ['POST', 'create', { name: 'x', spec: 'routes' }, 'spec must be an object'],
      ['POST', 'create', { name: 'x', spec: { routes: [] } }, 'spec.routes must be a non-empty list'],
      [
        'POST',
        'create',
        { name: 'x', spec: { routes: [{ model: 'models:/m/1' }, { model: 'models:/m/2', weight: -5 }] } },
        'spec.routes[1].weight must be a non-negative number',
      ],
      [
        'POST',
        'create',
        { name: 'x', spec: { routes: [{ model: 'runs:/abc/model' }] } },
        'spec.routes[0].model',
      ],
      [
        'POST',
        'create',
        {
          name: 'x',
          spec: {
            routes: [
              { model: 'models:/m/1', name: 'a' },
              { model: 'models:/m/2', name: 'a' },
            ],
          },
        },
        "spec.routes[1].name 'a' is already used",
      ],
      [
        'POST',
        'create',
        { name: 'x', spec: { ...canary, batching: { maxBatchSize: 0 } } },
        'spec.batching.maxBatchSize',
      ],
      [
        'POST',
        'create',
        { name: 'x', spec: { ...canary, recording: { mode: 'sample' } } },
        'spec.recording.sampleRate',
      ],
      ['POST', 'rollback', { name: 'x', revision: 'two' }, "parameter 'revision'"],
      ['PATCH', 'update', { name: 'x' }, 'Nothing to update'],
    ];
    for (const [method, path, message, text] of cases) {
      const res = await call(method, path, message);
      expect(res.status, JSON.stringify(message)).toBe(400);
      expect(res.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(res.body.message).toContain(text);
    }
    expect((await call('GET', 'get', { name: 'x' })).status).toBe(404);

    await call('POST', 'create', { name: 'dup', spec: canary });
    expect(await call('POST', 'create', { name: 'dup', spec: canary })).toEqual({
      status: 400,
      body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: "Deployment with name 'dup' already exists" },
    });
  });

  it('never answers 500 to hostile values in any field or spec position', async () => {
    const hostile: unknown[] = [
      null,
      true,
      -1,
      1e308,
      'NaN',
      '',
      'x'.repeat(70_000),
      "'; drop table deployments; --",
      'nul\u0000byte',
      '🚀',
      [],
      {},
      { model: 'nul\u0000' },
      'models:/a\u0000b/1',
      [{ model: 'models:/m/1', weight: 'x' }],
    ];
    const specs = hostile.flatMap((value) => [
      value,
      { routes: value },
      { routes: [value] },
      { routes: [{ model: value }] },
      { routes: [{ model: 'models:/m/1', name: value, weight: value }] },
      {
        routes: [{ model: 'models:/m/1' }],
        shadow: value,
        batching: value,
        resources: value,
        recording: value,
      },
      { routes: [{ model: 'models:/m/1' }], recording: { mode: 'sample', sampleRate: value } },
    ]);
    await call('POST', 'create', { name: 'target', spec: canary });
    for (const spec of specs) {
      for (const [method, path, message] of [
        ['POST', 'create', { name: 'h', spec }],
        ['PATCH', 'update', { name: 'target', spec }],
      ] as const) {
        const res = await call(method, path, message);
        expect(res.status, `${path} ${JSON.stringify(spec)?.slice(0, 200)}`).toBeLessThan(500);
      }
    }
    for (const value of hostile) {
      for (const [method, path, message] of [
        ['POST', 'create', { name: value, spec: canary, description: value }],
        ['PATCH', 'update', { name: 'target', description: value }],
        ['POST', 'rollback', { name: 'target', revision: value }],
        ['DELETE', 'delete', { name: value }],
      ] as const) {
        const res = await call(method, path, message);
        expect(res.status, `${path} ${JSON.stringify(message).slice(0, 200)}`).toBeLessThan(500);
      }
    }
  });

  it('is mounted under the UI prefix too, and not under MLflow’s', async () => {
    await call('POST', 'create', { name: 'ajax', spec: canary });
    const res = await call('GET', 'get', { name: 'ajax' }, {}, '/ajax-api/2.0/keel');
    expect(res.status).toBe(200);
    expect(res.body.deployment.name).toBe('ajax');
    expect((await call('GET', 'get', { name: 'ajax' }, {}, '/api/2.0/mlflow')).status).toBe(404);
  });

  it('leaves an audit trail searchable by entity, with who did what', async () => {
    await call('POST', 'create', { name: 'trail', spec: canary }, alice);
    await call('PATCH', 'update', { name: 'trail', description: 'd' }, bob);
    await call('POST', 'rollback', { name: 'trail', revision: 1 }, alice);
    await call('DELETE', 'delete', { name: 'trail' }, bob);
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/2.0/keel/audit/events?entity=deployment&entity_id=trail',
    });
    const events = (res.json() as JsonBody).events as JsonBody[];
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ['deployment.created', 'alice'],
      ['deployment.updated', 'bob'],
      ['deployment.rolled_back', 'alice'],
      ['deployment.deleted', 'bob'],
    ]);
    expect(events[0].request_id).toBe('req-alice');
    expect(events[2].after).toMatchObject({ revision: 3, source_revision: 1 });
  });

  it('serves 20 concurrent updates with revisions 2 to 21, each answered once', async () => {
    await call('POST', 'create', { name: 'busy', spec: canary });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('PATCH', 'update', {
          name: 'busy',
          spec: { routes: [{ name: 'stable', model: 'models:/fraud@champion', weight: i + 1 }] },
        }),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.map((a) => a.body.deployment.revision).sort((a: number, b: number) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    const revisions = (await call('GET', 'revisions', { name: 'busy' })).body.revisions as JsonBody[];
    expect(revisions.map((r) => r.revision)).toEqual(Array.from({ length: 21 }, (_, i) => 21 - i));
  });
});
