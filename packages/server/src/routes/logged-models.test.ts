import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

describe.each(dialects)('logged models API on %s', (dialect) => {
  let t: TestApp;
  let experimentId: string;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    experimentId = (await t.post('experiments/create', { name: 'logged-models' })).body.experiment_id;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const create = async (body: Record<string, unknown> = {}, experiment = experimentId) => {
    const res = await t.post('logged-models', { experiment_id: experiment, ...body });
    expect(res.status).toBe(200);
    return res.body.model as JsonBody;
  };
  const search = (body: Record<string, unknown>) =>
    t.post('logged-models/search', { experiment_ids: [experimentId], ...body });

  it('creates a PENDING model with an m- id, a generated name and its artifact location', async () => {
    const model = await create({
      model_type: 'sklearn',
      params: [{ key: 'alpha', value: '0.5' }],
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(model.info.model_id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(model.info).toMatchObject({
      experiment_id: experimentId,
      status: 'LOGGED_MODEL_PENDING',
      model_type: 'sklearn',
      artifact_uri: `mlflow-artifacts:/${experimentId}/models/${model.info.model_id}/artifacts`,
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(model.info.name).toMatch(/\S+/);
    expect(model.info.creation_timestamp_ms).toBe(model.info.last_updated_timestamp_ms);
    expect(model.data).toEqual({ params: [{ key: 'alpha', value: '0.5' }] });

    const got = await t.get(`logged-models/${model.info.model_id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ model });
    const viaAjax = await t.app.inject({
      method: 'GET',
      url: `/ajax-api/2.0/mlflow/logged-models/${model.info.model_id}`,
    });
    expect(JSON.parse(viaAjax.payload)).toEqual({ model });
  });

  it('answers MLflow errors naming the field or the missing model', async () => {
    const missing = await t.post('logged-models', { name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(missing.body.message).toContain('experiment_id');

    const noExperiment = await t.post('logged-models', { experiment_id: '99999' });
    expect(noExperiment.status).toBe(404);
    expect(noExperiment.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    const unknown = await t.get(`logged-models/m-${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: expect.stringContaining(`m-${'0'.repeat(32)}`),
    });

    const model = await create();
    const badStatus = await t.call('PATCH', `logged-models/${model.info.model_id}`, { status: 'DONE' });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(badStatus.body.message).toContain('status');
  });

  it('finalizes, sets and deletes tags, logs params', async () => {
    const model = await create({ name: 'finalize-me' });
    const id = model.info.model_id as string;
    const ready = await t.call('PATCH', `logged-models/${id}`, { status: 'LOGGED_MODEL_READY' });
    expect(ready.status).toBe(200);
    expect(ready.body.model.info.status).toBe('LOGGED_MODEL_READY');
    // By proto number too: UPLOAD_FAILED = 3.
    const failed = await t.call('PATCH', `logged-models/${id}`, { status: 3 });
    expect(failed.body.model.info.status).toBe('LOGGED_MODEL_UPLOAD_FAILED');

    const tagged = await t.call('PATCH', `logged-models/${id}/tags`, {
      // The last value of a key given twice wins.
      tags: [
        { key: 'a', value: '0' },
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
    });
    expect(tagged.status).toBe(200);
    expect(tagged.body.model.info.tags).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    const untagged = await t.call('DELETE', `logged-models/${id}/tags/a`, {});
    expect(untagged).toEqual({ status: 200, body: {} });
    const noTag = await t.call('DELETE', `logged-models/${id}/tags/a`, {});
    expect(noTag.status).toBe(404);
    expect(noTag.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    const params = await t.post(`logged-models/${id}/params`, {
      params: [
        { key: 'lr', value: '0.1' },
        { key: 'depth', value: '3' },
      ],
    });
    expect(params).toEqual({ status: 200, body: {} });
    const got = (await t.get(`logged-models/${id}`)).body.model;
    expect(got.info.tags).toEqual([{ key: 'b', value: '2' }]);
    expect(got.data.params).toEqual([
      { key: 'depth', value: '3' },
      { key: 'lr', value: '0.1' },
    ]);

    const unknown = `m-${'f'.repeat(32)}`;
    expect((await t.call('PATCH', `logged-models/${unknown}/tags`, { tags: [] })).status).toBe(404);
    expect((await t.post(`logged-models/${unknown}/params`, { params: [] })).status).toBe(404);
  });

  it('soft-deletes: the model then 404s and is left out of searches', async () => {
    const model = await create({ name: 'doomed' });
    const id = model.info.model_id as string;
    expect(await t.call('DELETE', `logged-models/${id}`, {})).toEqual({ status: 200, body: {} });
    const gone = await t.get(`logged-models/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await t.call('DELETE', `logged-models/${id}`, {})).status).toBe(404);
    const found = await search({ filter: "name = 'doomed'" });
    expect(found).toEqual({ status: 200, body: {} });
  });

  it('records changes in the audit log', async () => {
    const model = await create({ name: 'audited' });
    const id = model.info.model_id as string;
    await t.call('PATCH', `logged-models/${id}`, { status: 'LOGGED_MODEL_READY' });
    await t.call('PATCH', `logged-models/${id}/tags`, { tags: [{ key: 'k', value: 'v' }] });
    await t.call('DELETE', `logged-models/${id}/tags/k`, {});
    // Failed calls record nothing.
    expect((await t.call('DELETE', `logged-models/${id}/tags/k`, {})).status).toBe(404);
    await t.post(`logged-models/${id}/params`, { params: [{ key: 'p', value: '1' }] });
    await t.call('DELETE', `logged-models/${id}`, {});
    const res = await t.app.inject({ method: 'GET', url: '/api/2.0/keel/audit/events?max_results=1000' });
    const actions = (JSON.parse(res.payload).events as JsonBody[])
      .filter((e) => e.entity_id === model.info.model_id)
      .map((e) => e.action);
    expect(actions).toEqual([
      'logged_model.created',
      'logged_model.finalized',
      'logged_model_tag.set',
      'logged_model_tag.deleted',
      'logged_model_param.logged',
      'logged_model.deleted',
    ]);
  });

  it('lists and serves files uploaded through the artifact proxy under the model', async () => {
    const model = await create({ name: 'with-files' });
    const id = model.info.model_id as string;
    const root = `${experimentId}/models/${id}/artifacts`;
    for (const [path, body] of [
      ['MLmodel', 'flavors: {}'],
      ['data/model.pkl', 'pickle!'],
    ]) {
      const put = await t.app.inject({
        method: 'PUT',
        url: `/api/2.0/mlflow-artifacts/artifacts/${root}/${path}`,
        payload: body,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(put.statusCode).toBe(200);
    }
    const top = await t.get(`logged-models/${id}/artifacts/directories`);
    expect(top.status).toBe(200);
    expect(top.body).toEqual({
      root_uri: model.info.artifact_uri,
      files: [
        { path: 'MLmodel', is_dir: false, file_size: 11 },
        { path: 'data', is_dir: true },
      ],
    });
    const sub = await t.get(`logged-models/${id}/artifacts/directories`, { artifact_directory_path: 'data' });
    expect(sub.body.files).toEqual([{ path: 'data/model.pkl', is_dir: false, file_size: 7 }]);

    const file = await t.app.inject({
      method: 'GET',
      url: `/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=data/model.pkl`,
    });
    expect(file.statusCode).toBe(200);
    expect(file.payload).toBe('pickle!');
    const traversal = await t.app.inject({
      method: 'GET',
      url: `/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=../../x`,
    });
    expect(traversal.statusCode).toBe(400);
    expect(JSON.parse(traversal.payload).message).toContain('artifact_file_path');
  });

  describe('search', () => {
    let exp: string;
    const ids: string[] = [];
    beforeAll(async () => {
      exp = (await t.post('experiments/create', { name: 'logged-model-search' })).body.experiment_id;
      for (const [i, name] of ['alpha', 'beta', 'gamma'].entries()) {
        const model = await create(
          {
            name,
            model_type: i === 2 ? 'pytorch' : 'sklearn',
            source_run_id: `run-${i}`,
            params: [{ key: 'lr', value: `0.${i}` }],
            tags: [{ key: 'stage', value: i === 0 ? 'dev' : 'prod' }],
          },
          exp,
        );
        ids.push(model.info.model_id);
        // Distinct creation times, so the default order is defined.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await t.call('PATCH', `logged-models/${ids[1]}`, { status: 'LOGGED_MODEL_READY' });
    });
    const names = (body: JsonBody) => (body.models ?? []).map((m: JsonBody) => m.info.name);
    const searchExp = (body: Record<string, unknown>) =>
      t.post('logged-models/search', { experiment_ids: [exp], ...body });

    it('lists newest first by default, and orders by field_name/ascending', async () => {
      expect(names((await searchExp({})).body)).toEqual(['gamma', 'beta', 'alpha']);
      expect(names((await searchExp({ order_by: [{ field_name: 'name' }] })).body)).toEqual([
        'alpha',
        'beta',
        'gamma',
      ]);
      expect(names((await searchExp({ order_by: [{ field_name: 'name', ascending: false }] })).body)).toEqual(
        ['gamma', 'beta', 'alpha'],
      );
    });

    it('filters on attributes, params and tags', async () => {
      const cases: [string, string[]][] = [
        ["name = 'beta'", ['beta']],
        ["model_type = 'sklearn'", ['beta', 'alpha']],
        ["status = 'LOGGED_MODEL_READY'", ['beta']],
        ["source_run_id = 'run-2'", ['gamma']],
        ["params.lr = '0.0'", ['alpha']],
        ["tags.stage = 'prod' AND name LIKE 'g%'", ['gamma']],
        [`creation_timestamp > 0`, ['gamma', 'beta', 'alpha']],
      ];
      for (const [filter, expected] of cases) {
        const res = await searchExp({ filter });
        expect(res.status, filter).toBe(200);
        expect(names(res.body), filter).toEqual(expected);
      }
    });

    it('pages with max_results and page_token', async () => {
      const first = await searchExp({ max_results: 2 });
      expect(names(first.body)).toEqual(['gamma', 'beta']);
      expect(first.body.next_page_token).toEqual(expect.any(String));
      const second = await searchExp({ max_results: 2, page_token: first.body.next_page_token });
      expect(names(second.body)).toEqual(['alpha']);
      expect(second.body.next_page_token).toBeUndefined();
    });

    it('rejects bad filters, metrics filters and out-of-range max_results', async () => {
      for (const body of [
        { filter: "name = 'x' AND" },
        { filter: 'metrics.acc > 0.9' },
        { filter: "name = 'x'; drop table logged_models" },
        { max_results: 51 },
        { page_token: 'nope' },
      ]) {
        const res = await searchExp(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      }
      expect(names((await searchExp({})).body)).toHaveLength(3);
    });

    it('only looks in the given experiments', async () => {
      expect(names((await search({ filter: "name = 'alpha'" })).body)).toEqual([]);
    });
  });
});

describe.each(dialects)('models:/<model_id> on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('registers a version from a logged model, copying its files', async () => {
    const experimentId = (await t.post('experiments/create', { name: 'register' })).body.experiment_id;
    const model = (await t.post('logged-models', { experiment_id: experimentId, name: 'clf' })).body.model;
    const id = model.info.model_id as string;
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${experimentId}/models/${id}/artifacts/MLmodel`,
      payload: 'model_id: x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode).toBe(200);
    expect((await t.post('registered-models/create', { name: 'clf' })).status).toBe(200);

    const created = await t.post('model-versions/create', {
      name: 'clf',
      source: `models:/${id}`,
      model_id: id,
    });
    expect(created.status).toBe(200);
    expect(created.body.model_version).toMatchObject({ name: 'clf', version: '1', source: `models:/${id}` });
    const uri = (await t.get('model-versions/get-download-uri', { name: 'clf', version: '1' })).body
      .artifact_uri as string;
    expect(uri).toMatch(/^mlflow-artifacts:\/registry\//);
    const file = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow-artifacts/artifacts/${uri.slice('mlflow-artifacts:/'.length)}/MLmodel`,
    });
    expect(file.statusCode).toBe(200);
    expect(file.payload).toBe('model_id: x');

    // What clients send with model_id: the logged model's artifact location; a missing model is a bad source.
    const run = (await t.post('runs/create', { experiment_id: experimentId })).body.run.info.run_id;
    const fromLocation = await t.post('model-versions/create', {
      name: 'clf',
      source: model.info.artifact_uri,
      run_id: run,
      model_id: id,
    });
    expect(fromLocation.status).toBe(200);
    expect(fromLocation.body.model_version).toMatchObject({ version: '2', run_id: run });
    const outside = await t.post('model-versions/create', {
      name: 'clf',
      source: `mlflow-artifacts:/${experimentId}/models/m-${'1'.repeat(32)}/artifacts`,
    });
    expect(outside.status).toBe(400);
    expect(outside.body.error_code).toBe('INVALID_PARAMETER_VALUE');

    const unknown = await t.post('model-versions/create', {
      name: 'clf',
      source: `models:/m-${'0'.repeat(32)}`,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});
