import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import type { ChangeSink } from '../changes/change.js';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

const basic = (user: string) => `Basic ${Buffer.from(`${user}:secret`).toString('base64')}`;

describe.each(dialects)('audit events on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/2.0/mlflow/${path}`,
      payload: body as object,
      headers,
    });
    return { status: res.statusCode, body: JSON.parse(res.payload || '{}') as JsonBody };
  };

  const events = async (query: Record<string, string | number> = {}, prefix = '/api/2.0/keel') => {
    const qs = new URLSearchParams(
      Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    const res = await t.app.inject({ method: 'GET', url: `${prefix}/audit/events${qs ? `?${qs}` : ''}` });
    return { status: res.statusCode, body: JSON.parse(res.payload) as JsonBody };
  };

  const allEvents = async (): Promise<JsonBody[]> => {
    const out: JsonBody[] = [];
    let token: string | undefined;
    do {
      const page = await events({ max_results: 1000, ...(token ? { page_token: token } : {}) });
      out.push(...(page.body.events ?? []));
      token = page.body.next_page_token;
    } while (token);
    return out;
  };

  /** Runs one call and returns the events it appended. */
  const audited = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const before = (await allEvents()).length;
    const res = await post(path, body, headers);
    const added = (await allEvents()).slice(before);
    return { ...res, added };
  };

  const alice = { 'x-keel-user': 'alice', 'x-request-id': 'req-alice' };

  it('records registry changes in the same chain, and the chain verifies', async () => {
    const created = await audited('registered-models/create', { name: 'audited-model' }, alice);
    expect(created.status).toBe(200);
    expect(created.added).toHaveLength(1);
    expect(created.added[0]).toMatchObject({
      action: 'registered_model.created',
      entity: 'registered_model',
      entity_id: 'audited-model',
      actor: 'alice',
      request_id: 'req-alice',
    });
    const tagged = await audited(
      'registered-models/set-tag',
      { name: 'audited-model', key: 'team', value: 'fraud' },
      alice,
    );
    expect(tagged.added.map((e) => e.action)).toEqual(['registered_model_tag.set']);
    const duplicate = await audited('registered-models/create', { name: 'audited-model' }, alice);
    expect(duplicate.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    expect(duplicate.added).toHaveLength(0);
    const log = new AuditLog({ db: t.store.store.db, dialect });
    expect(await log.verify()).toMatchObject({ ok: true });
  });

  it('records each experiment change once, with actor, request id and before/after', async () => {
    const created = await audited(
      'experiments/create',
      { name: 'audited', tags: [{ key: 't', value: '1' }] },
      alice,
    );
    expect(created.status).toBe(200);
    const id = created.body.experiment_id as string;
    expect(created.added).toHaveLength(1);
    expect(created.added[0]).toMatchObject({
      actor: 'alice',
      request_id: 'req-alice',
      action: 'experiment.created',
      entity: 'experiment',
      entity_id: id,
      after: {
        name: 'audited',
        artifact_location: `mlflow-artifacts:/${id}`,
        tags: [{ key: 't', value: '1' }],
      },
    });
    expect(created.added[0].before).toBeUndefined();
    expect(created.added[0].hash).toMatch(/^[0-9a-f]{64}$/);

    const bob = { authorization: basic('bob') };
    const steps: [string, object, object][] = [
      [
        'experiments/update',
        { experiment_id: id, new_name: 'renamed' },
        {
          action: 'experiment.renamed',
          before: { name: 'audited' },
          after: { name: 'renamed' },
        },
      ],
      [
        'experiments/set-experiment-tag',
        { experiment_id: id, key: 'k', value: 'v1' },
        {
          action: 'experiment_tag.set',
          after: { key: 'k', value: 'v1' },
        },
      ],
      [
        'experiments/set-experiment-tag',
        { experiment_id: id, key: 'k', value: 'v2' },
        {
          action: 'experiment_tag.set',
          before: { key: 'k', value: 'v1' },
          after: { key: 'k', value: 'v2' },
        },
      ],
      [
        'experiments/delete-experiment-tag',
        { experiment_id: id, key: 'k' },
        {
          action: 'experiment_tag.deleted',
          before: { key: 'k', value: 'v2' },
        },
      ],
      [
        'experiments/delete',
        { experiment_id: id },
        {
          action: 'experiment.deleted',
          before: { lifecycle_stage: 'active' },
          after: { lifecycle_stage: 'deleted' },
        },
      ],
      [
        'experiments/restore',
        { experiment_id: id },
        {
          action: 'experiment.restored',
          before: { lifecycle_stage: 'deleted' },
          after: { lifecycle_stage: 'active' },
        },
      ],
    ];
    for (const [path, body, expected] of steps) {
      const step = await audited(path, body, bob);
      expect(step.status, path).toBe(200);
      expect(step.added, path).toHaveLength(1);
      expect(step.added[0], path).toEqual({
        seq: expect.any(Number),
        event_id: expect.any(String),
        time: expect.any(Number),
        actor: 'bob',
        request_id: expect.any(String),
        entity: 'experiment',
        entity_id: id,
        prev_hash: expect.any(String),
        hash: expect.any(String),
        ...expected,
      });
    }
    await expect(new AuditLog({ db: t.store.store.db, dialect }).verify()).resolves.toMatchObject({
      ok: true,
    });
  });

  it('records each run change once and metrics and params not at all', async () => {
    const created = await audited(
      'runs/create',
      { experiment_id: '0', run_name: 'r1', start_time: 5 },
      alice,
    );
    const runId = created.body.run.info.run_id as string;
    expect(created.added).toMatchObject([
      {
        action: 'run.created',
        entity: 'run',
        entity_id: runId,
        actor: 'alice',
        after: { experiment_id: '0', run_name: 'r1', status: 'RUNNING', start_time: 5 },
      },
    ]);

    const none = [
      ['runs/log-metric', { run_id: runId, key: 'loss', value: 1, timestamp: 1, step: 0 }],
      ['runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' }],
      [
        'runs/log-batch',
        {
          run_id: runId,
          metrics: [{ key: 'm', value: 2, timestamp: 2 }],
          params: [{ key: 'p', value: 'x' }],
        },
      ],
    ] as const;
    for (const [path, body] of none) {
      const step = await audited(path, body, alice);
      expect(step.status, path).toBe(200);
      expect(step.added, path).toEqual([]);
    }

    const model = {
      artifact_path: 'model',
      flavors: { onnx: {}, python_function: {} },
      utc_time_created: 'now',
      run_id: runId,
    };
    const steps: [string, object, object][] = [
      [
        'runs/update',
        { run_id: runId, status: 'FINISHED', end_time: 9 },
        {
          action: 'run.updated',
          before: { status: 'RUNNING' },
          after: { status: 'FINISHED', end_time: 9 },
        },
      ],
      [
        'runs/update',
        { run_id: runId, run_name: 'r2' },
        {
          action: 'run.updated',
          before: { run_name: 'r1' },
          after: { run_name: 'r2' },
        },
      ],
      [
        'runs/set-tag',
        { run_id: runId, key: 'team', value: 'a' },
        {
          action: 'run_tag.set',
          after: { key: 'team', value: 'a' },
        },
      ],
      [
        'runs/log-batch',
        {
          run_id: runId,
          metrics: [{ key: 'm', value: 3, timestamp: 3 }],
          tags: [{ key: 'team', value: 'b' }],
        },
        {
          action: 'run_tag.set',
          before: { key: 'team', value: 'a' },
          after: { key: 'team', value: 'b' },
        },
      ],
      [
        'runs/delete-tag',
        { run_id: runId, key: 'team' },
        {
          action: 'run_tag.deleted',
          before: { key: 'team', value: 'b' },
        },
      ],
      [
        'runs/log-model',
        { run_id: runId, model_json: JSON.stringify(model) },
        {
          action: 'run.model_logged',
          after: { artifact_path: 'model', flavors: ['onnx', 'python_function'] },
        },
      ],
      [
        'runs/log-inputs',
        {
          run_id: runId,
          datasets: [
            {
              dataset: { name: 'iris', digest: 'd1', source_type: 'local', source: '/x' },
              tags: [{ key: 'mlflow.data.context', value: 'train' }],
            },
          ],
        },
        {
          action: 'run.inputs_logged',
          after: {
            datasets: [
              { name: 'iris', digest: 'd1', tags: [{ key: 'mlflow.data.context', value: 'train' }] },
            ],
          },
        },
      ],
      [
        'runs/outputs',
        { run_id: runId, models: [{ model_id: 'm-1', step: 3 }] },
        {
          action: 'run.outputs_logged',
          after: { models: [{ model_id: 'm-1', step: 3 }] },
        },
      ],
      [
        'runs/delete',
        { run_id: runId },
        {
          action: 'run.deleted',
          before: { lifecycle_stage: 'active' },
          after: { lifecycle_stage: 'deleted' },
        },
      ],
      [
        'runs/restore',
        { run_id: runId },
        {
          action: 'run.restored',
          before: { lifecycle_stage: 'deleted' },
          after: { lifecycle_stage: 'active' },
        },
      ],
    ];
    for (const [path, body, expected] of steps) {
      const step = await audited(path, body);
      expect(step.status, path).toBe(200);
      expect(step.added, path).toHaveLength(1);
      expect(step.added[0], path).toMatchObject({
        entity: 'run',
        entity_id: runId,
        actor: 'anonymous',
        ...expected,
      });
      const { before } = expected as { before?: unknown };
      if (before === undefined) expect(step.added[0].before, path).toBeUndefined();
    }

    const twoTags = await audited('runs/log-batch', {
      run_id: runId,
      tags: [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
    });
    expect(twoTags.added.map((e: JsonBody) => [e.action, e.after])).toEqual([
      ['run_tag.set', { key: 'a', value: '1' }],
      ['run_tag.set', { key: 'b', value: '2' }],
    ]);
  });

  it('records nothing for a change that fails', async () => {
    await post('experiments/create', { name: 'taken' });
    const duplicate = await audited('experiments/create', { name: 'taken' }, alice);
    expect(duplicate.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    expect(duplicate.added).toEqual([]);
    const run = await post('runs/create', { experiment_id: '0' });
    const missingTag = await audited('runs/delete-tag', { run_id: run.body.run.info.run_id, key: 'nope' });
    expect(missingTag.status).toBe(404);
    expect(missingTag.added).toEqual([]);
    const conflict = await audited('runs/log-batch', {
      run_id: run.body.run.info.run_id,
      params: [
        { key: 'p', value: '1' },
        { key: 'p', value: '2' },
      ],
      tags: [{ key: 'x', value: 'y' }],
    });
    expect(conflict.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(conflict.added).toEqual([]);
  });

  it('filters by entity, actor, action and time, and pages', async () => {
    const exp = await post('experiments/create', { name: 'filters' }, { 'x-keel-user': 'carol' });
    const id = exp.body.experiment_id as string;
    for (const value of ['1', '2', '3']) {
      await post(
        'experiments/set-experiment-tag',
        { experiment_id: id, key: 'k', value },
        { 'x-keel-user': 'carol' },
      );
    }
    const byEntity = await events({ entity: 'experiment', entity_id: id });
    expect(byEntity.body.events.map((e: JsonBody) => e.action)).toEqual([
      'experiment.created',
      'experiment_tag.set',
      'experiment_tag.set',
      'experiment_tag.set',
    ]);
    const byActor = await events({ actor: 'carol', action: 'experiment_tag.set' });
    expect(byActor.body.events.map((e: JsonBody) => e.after.value)).toEqual(['1', '2', '3']);

    const first = await events({ actor: 'carol', max_results: 3 });
    expect(first.body.events).toHaveLength(3);
    const second = await events({ actor: 'carol', max_results: 3, page_token: first.body.next_page_token });
    expect(second.body.events).toHaveLength(1);
    expect(second.body.next_page_token).toBeUndefined();
    expect(second.body.events[0].seq).toBeGreaterThan(first.body.events[2].seq);

    const all = byEntity.body.events as JsonBody[];
    const window = await events({ entity_id: id, entity: 'experiment', from: all[1].time, to: all[2].time });
    expect(window.body.events.map((e: JsonBody) => e.seq)).toEqual(
      all.filter((e) => e.time >= all[1].time && e.time <= all[2].time).map((e) => e.seq),
    );
    expect((await events({ entity_id: id }, '/ajax-api/2.0/keel')).body.events).toHaveLength(4);

    const tooMany = await events({ max_results: 1001 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect((await events({ page_token: 'garbage' })).body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe.each(dialects)('concurrent audited calls on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('leave one unbroken chain with one event per call', async () => {
    const run = (await t.post('runs/create', { experiment_id: '0' })).body.run.info.run_id;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? t.post('runs/set-tag', { run_id: run, key: `k${i}`, value: String(i) })
          : t.post('experiments/set-experiment-tag', { experiment_id: '0', key: `k${i}`, value: String(i) }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    await expect(new AuditLog({ db: t.store.store.db, dialect }).verify()).resolves.toMatchObject({
      ok: true,
      events: 51,
    });
  });
});

describe.each(dialects)('a change whose record fails on %s', (dialect) => {
  let t: TestApp;
  let failing = false;
  const sink: ChangeSink = {
    async record() {
      if (failing) throw new Error('sink down');
    },
  };
  beforeAll(async () => {
    t = await createTestApp(dialect, { changeSinks: [sink] });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('is not applied, and neither is its audit event', async () => {
    const run = (await t.post('runs/create', { experiment_id: '0', run_name: 'kept' })).body.run.info.run_id;
    const exp = (await t.post('experiments/create', { name: 'before' })).body.experiment_id;
    const count = async () =>
      Number(
        (
          await t.store.store.db
            .selectFrom('audit_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const events = await count();
    failing = true;
    expect((await t.post('experiments/create', { name: 'never' })).status).toBe(500);
    expect((await t.post('experiments/update', { experiment_id: exp, new_name: 'after' })).status).toBe(500);
    expect((await t.post('runs/update', { run_id: run, run_name: 'changed' })).status).toBe(500);
    expect((await t.post('runs/delete', { run_id: run })).status).toBe(500);
    failing = false;
    expect((await t.get('experiments/get-by-name', { experiment_name: 'never' })).status).toBe(404);
    expect((await t.get('experiments/get', { experiment_id: exp })).body.experiment.name).toBe('before');
    const info = (await t.get('runs/get', { run_id: run })).body.run.info;
    expect(info).toMatchObject({ run_name: 'kept', lifecycle_stage: 'active' });
    expect(await count()).toBe(events);
  });

  it('rolls back a log-batch whose tags cannot be recorded, while metric-only batches skip the audit log', async () => {
    const run = (await t.post('runs/create', { experiment_id: '0' })).body.run.info.run_id;
    // Without the audit table every append fails, on SQLite's synchronous path as well.
    await sql`alter table audit_events rename to audit_events_away`.execute(t.store.store.db);
    try {
      const tagged = await t.post('runs/log-batch', {
        run_id: run,
        metrics: [{ key: 'm', value: 1, timestamp: 1 }],
        tags: [{ key: 'x', value: 'y' }],
      });
      expect(tagged.status).toBe(500);
      const metricsOnly = await t.post('runs/log-batch', {
        run_id: run,
        metrics: [{ key: 'n', value: 2, timestamp: 2 }],
        params: [{ key: 'p', value: 'v' }],
      });
      expect(metricsOnly.status).toBe(200);
    } finally {
      await sql`alter table audit_events_away rename to audit_events`.execute(t.store.store.db);
    }
    const data = (await t.get('runs/get', { run_id: run })).body.run.data;
    expect(data.tags.find((tag: JsonBody) => tag.key === 'x')).toBeUndefined();
    expect(data.metrics.map((m: JsonBody) => m.key)).toEqual(['n']);
    expect(data.params).toEqual([{ key: 'p', value: 'v' }]);
  });
});
