import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

describe.each(dialects)('experiments API on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('has the Default experiment with id 0', async () => {
    const res = await t.get('experiments/get', { experiment_id: '0' });
    expect(res.status).toBe(200);
    expect(res.body.experiment).toMatchObject({
      experiment_id: '0',
      name: 'Default',
      lifecycle_stage: 'active',
      artifact_location: 'mlflow-artifacts:/0',
    });
    expect(typeof res.body.experiment.creation_time).toBe('number');
  });

  it('creates, reads by id and by name, with tags', async () => {
    const created = await t.post('experiments/create', {
      name: 'churn',
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(created.status).toBe(200);
    const id = created.body.experiment_id;
    expect(id).toMatch(/^\d+$/);
    const byName = await t.get('experiments/get-by-name', { experiment_name: 'churn' });
    expect(byName.body.experiment).toMatchObject({
      experiment_id: id,
      name: 'churn',
      artifact_location: `mlflow-artifacts:/${id}`,
      tags: [{ key: 'team', value: 'growth' }],
    });
  });

  it('rejects a duplicate name with RESOURCE_ALREADY_EXISTS (400)', async () => {
    await t.post('experiments/create', { name: 'dup' });
    const again = await t.post('experiments/create', { name: 'dup' });
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
  });

  it('answers RESOURCE_DOES_NOT_EXIST (404) for unknown ids and names', async () => {
    const byId = await t.get('experiments/get', { experiment_id: '987654' });
    expect(byId.status).toBe(404);
    expect(byId.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const byName = await t.get('experiments/get-by-name', { experiment_name: 'nope' });
    expect(byName.status).toBe(404);
    expect(byName.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('validates input and names the field', async () => {
    const missing = await t.post('experiments/create', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(missing.body.message).toContain("'name'");
    const wrongType = await t.post('experiments/create', { name: ['x'] });
    expect(wrongType.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(wrongType.body.message).toContain("'name'");
    const long = await t.post('experiments/create', { name: 'x'.repeat(501) });
    expect(long.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const runsUri = await t.post('experiments/create', { name: 'bad-loc', artifact_location: 'runs:/abc' });
    expect(runsUri.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badTag = await t.post('experiments/create', {
      name: 'bad-tag',
      tags: [{ key: '../x', value: 'v' }],
    });
    expect(badTag.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const search = await t.get('experiments/get-by-name', { experiment_name: 'bad-tag' });
    expect(search.status).toBe(404);
  });

  it('renames, tags, deletes (runs follow) and restores', async () => {
    const { body } = await t.post('experiments/create', { name: 'lifecycle' });
    const id = body.experiment_id as string;
    const run = await t.post('runs/create', { experiment_id: id });
    const runId = run.body.run.info.run_id as string;

    expect((await t.post('experiments/update', { experiment_id: id, new_name: 'lifecycle-2' })).status).toBe(
      200,
    );
    expect((await t.get('experiments/get', { experiment_id: id })).body.experiment.name).toBe('lifecycle-2');
    const clash = await t.post('experiments/update', { experiment_id: id, new_name: 'churn' });
    expect(clash.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');

    await t.post('experiments/set-experiment-tag', { experiment_id: id, key: 'k', value: 'v1' });
    await t.post('experiments/set-experiment-tag', { experiment_id: id, key: 'k', value: 'v2' });
    expect((await t.get('experiments/get', { experiment_id: id })).body.experiment.tags).toEqual([
      { key: 'k', value: 'v2' },
    ]);
    await t.post('experiments/delete-experiment-tag', { experiment_id: id, key: 'k' });
    expect((await t.get('experiments/get', { experiment_id: id })).body.experiment.tags).toBeUndefined();
    const noTag = await t.post('experiments/delete-experiment-tag', { experiment_id: id, key: 'k' });
    expect(noTag.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    expect((await t.post('experiments/delete', { experiment_id: id })).status).toBe(200);
    const deleted = await t.get('experiments/get', { experiment_id: id });
    expect(deleted.body.experiment.lifecycle_stage).toBe('deleted');
    expect((await t.get('runs/get', { run_id: runId })).body.run.info.lifecycle_stage).toBe('deleted');
    const renameDeleted = await t.post('experiments/update', { experiment_id: id, new_name: 'zzz' });
    expect(renameDeleted.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const runInDeleted = await t.post('runs/create', { experiment_id: id });
    expect(runInDeleted.body.error_code).toBe('INVALID_PARAMETER_VALUE');

    expect((await t.post('experiments/restore', { experiment_id: id })).status).toBe(200);
    expect((await t.get('experiments/get', { experiment_id: id })).body.experiment.lifecycle_stage).toBe(
      'active',
    );
    expect((await t.get('runs/get', { run_id: runId })).body.run.info.lifecycle_stage).toBe('active');
  });

  it('searches with filter, order_by, view_type and page tokens (POST and GET)', async () => {
    for (const name of ['search-a', 'search-b', 'search-c']) {
      await t.post('experiments/create', {
        name,
        tags: [{ key: 'group', value: name === 'search-b' ? 'x' : 'y' }],
      });
    }
    const page1 = await t.post('experiments/search', {
      filter: "name LIKE 'search-%'",
      order_by: ['name DESC'],
      max_results: 2,
    });
    expect(page1.body.experiments.map((e: { name: string }) => e.name)).toEqual(['search-c', 'search-b']);
    expect(page1.body.next_page_token).toBeTypeOf('string');
    const page2 = await t.post('experiments/search', {
      filter: "name LIKE 'search-%'",
      order_by: ['name DESC'],
      max_results: 2,
      page_token: page1.body.next_page_token,
    });
    expect(page2.body.experiments.map((e: { name: string }) => e.name)).toEqual(['search-a']);
    expect(page2.body.next_page_token).toBeUndefined();

    const byTag = await t.get('experiments/search', { filter: "tags.group = 'x'", max_results: 10 });
    expect(byTag.body.experiments.map((e: { name: string }) => e.name)).toEqual(['search-b']);
    const orFilter = await t.post('experiments/search', {
      filter: "name = 'search-a' OR (tags.group = 'x' AND name ILIKE 'SEARCH-%')",
      order_by: ['name'],
    });
    expect(orFilter.body.experiments.map((e: { name: string }) => e.name)).toEqual(['search-a', 'search-b']);

    const { body } = await t.post('experiments/create', { name: 'search-deleted' });
    await t.post('experiments/delete', { experiment_id: body.experiment_id });
    const deletedOnly = await t.post('experiments/search', {
      view_type: 'DELETED_ONLY',
      filter: "name = 'search-deleted'",
    });
    expect(deletedOnly.body.experiments).toHaveLength(1);
    const activeOnly = await t.post('experiments/search', { filter: "name = 'search-deleted'" });
    expect(activeOnly.body).toEqual({});

    const legacy = await t.get('experiments/list', { view_type: 'ALL' });
    expect(legacy.body.experiments.length).toBeGreaterThan(3);

    const badFilter = await t.post('experiments/search', { filter: 'name === 1' });
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badToken = await t.post('experiments/search', { page_token: 'garbage!' });
    expect(badToken.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const tooMany = await t.post('experiments/search', { max_results: 50_001 });
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});
