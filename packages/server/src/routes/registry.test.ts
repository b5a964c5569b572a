import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithArtifacts } from '../testing/registry-fixtures.js';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

describe.each(dialects)('model registry API on %s', (dialect) => {
  let t: TestApp;
  let run: JsonBody;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    run = await runWithArtifacts(t, { 'model/MLmodel': 'flavors: {}\n', 'model/model.onnx': 'weights' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const version = (name: string, extra: object = {}) =>
    t.post('model-versions/create', { name, source: `runs:/${run.info.run_id}/model`, ...extra });

  it('creates, gets, renames, updates and deletes a registered model', async () => {
    const created = await t.post('registered-models/create', {
      name: 'churn',
      description: 'first',
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(created.status).toBe(200);
    expect(created.body.registered_model).toMatchObject({
      name: 'churn',
      description: 'first',
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(typeof created.body.registered_model.creation_timestamp).toBe('number');
    expect(created.body.registered_model.latest_versions).toBeUndefined();

    const dup = await t.post('registered-models/create', { name: 'churn' });
    expect(dup.status).toBe(400);
    expect(dup.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');

    const updated = await t.call('PATCH', 'registered-models/update', {
      name: 'churn',
      description: 'second',
    });
    expect(updated.body.registered_model.description).toBe('second');

    expect((await version('churn')).status).toBe(200);
    const renamed = await t.post('registered-models/rename', { name: 'churn', new_name: 'churn2' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.registered_model.name).toBe('churn2');
    expect(renamed.body.registered_model.latest_versions).toEqual([
      expect.objectContaining({ name: 'churn2', version: '1', current_stage: 'None' }),
    ]);
    expect((await t.get('registered-models/get', { name: 'churn' })).status).toBe(404);
    const got = await t.get('registered-models/get', { name: 'churn2' });
    expect(got.body.registered_model.tags).toEqual([{ key: 'team', value: 'growth' }]);
    expect((await t.get('model-versions/get', { name: 'churn2', version: '1' })).status).toBe(200);

    await t.post('registered-models/create', { name: 'taken' });
    const clash = await t.post('registered-models/rename', { name: 'churn2', new_name: 'taken' });
    expect(clash.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');

    expect((await t.call('DELETE', 'registered-models/delete', { name: 'churn2' })).body).toEqual({});
    const gone = await t.get('registered-models/get', { name: 'churn2' });
    expect(gone.status).toBe(404);
    expect(gone.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await t.get('model-versions/get', { name: 'churn2', version: '1' })).status).toBe(404);
  });

  it('validates input and names the field', async () => {
    const missing = await t.post('registered-models/create', {});
    expect(missing.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(missing.body.message).toContain("'name'");
    const long = await t.post('registered-models/create', { name: 'x'.repeat(300) });
    expect(long.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badTag = await t.post('registered-models/create', {
      name: 'bad',
      tags: [{ key: '../x', value: '' }],
    });
    expect(badTag.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badVersion = await t.get('model-versions/get', { name: 'bad', version: 'one' });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.message).toContain("'version'");
    const unknownModel = await version('no-such-model');
    expect(unknownModel.status).toBe(404);
  });

  it('numbers versions per model and never reuses a number, even after deletes', async () => {
    await t.post('registered-models/create', { name: 'seq' });
    const v1 = await version('seq', {
      description: 'd',
      tags: [{ key: 'k', value: 'v' }],
      run_link: 'http://x',
    });
    expect(v1.body.model_version).toMatchObject({
      name: 'seq',
      version: '1',
      current_stage: 'None',
      status: 'READY',
      description: 'd',
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
      run_link: 'http://x',
      tags: [{ key: 'k', value: 'v' }],
    });
    expect((await version('seq')).body.model_version.version).toBe('2');
    expect((await t.call('DELETE', 'model-versions/delete', { name: 'seq', version: '2' })).status).toBe(200);
    expect((await t.get('model-versions/get', { name: 'seq', version: '2' })).status).toBe(404);
    expect((await version('seq')).body.model_version.version).toBe('3');
    const updated = await t.call('PATCH', 'model-versions/update', {
      name: 'seq',
      version: '3',
      description: 'new',
    });
    expect(updated.body.model_version.description).toBe('new');
    const missing = await t.call('DELETE', 'model-versions/delete', { name: 'seq', version: '2' });
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('transitions stages, archiving existing versions only for Staging/Production', async () => {
    await t.post('registered-models/create', { name: 'stages' });
    for (let i = 0; i < 3; i += 1) await version('stages');
    const toProd = (v: string, archive: boolean) =>
      t.post('model-versions/transition-stage', {
        name: 'stages',
        version: v,
        stage: 'production',
        archive_existing_versions: archive,
      });
    expect((await toProd('1', false)).body.model_version.current_stage).toBe('Production');
    expect((await toProd('2', false)).body.model_version.current_stage).toBe('Production');
    await toProd('3', true);
    const stageOf = async (v: string) =>
      (await t.get('model-versions/get', { name: 'stages', version: v })).body.model_version.current_stage;
    expect([await stageOf('1'), await stageOf('2'), await stageOf('3')]).toEqual([
      'Archived',
      'Archived',
      'Production',
    ]);
    const bad = await t.post('model-versions/transition-stage', {
      name: 'stages',
      version: '1',
      stage: 'Archived',
      archive_existing_versions: true,
    });
    expect(bad.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badStage = await t.post('model-versions/transition-stage', {
      name: 'stages',
      version: '1',
      stage: 'gold',
    });
    expect(badStage.body.error_code).toBe('INVALID_PARAMETER_VALUE');

    const latest = await t.post('registered-models/get-latest-versions', { name: 'stages' });
    expect(latest.body.model_versions.map((v: JsonBody) => [v.version, v.current_stage])).toEqual([
      ['2', 'Archived'],
      ['3', 'Production'],
    ]);
    const onlyProd = await t.get('registered-models/get-latest-versions', {
      name: 'stages',
      stages: 'PRODUCTION',
    });
    expect(onlyProd.body.model_versions.map((v: JsonBody) => v.version)).toEqual(['3']);
    const none = await t.get('registered-models/get-latest-versions', { name: 'stages', stages: ['None'] });
    expect(none.body).toEqual({});
    const model = await t.get('registered-models/get', { name: 'stages' });
    expect(model.body.registered_model.latest_versions.map((v: JsonBody) => v.version)).toEqual(['2', '3']);
  });

  it('sets, moves, reads and deletes aliases with MLflow rules', async () => {
    await t.post('registered-models/create', { name: 'aliased' });
    await version('aliased');
    await version('aliased');
    const set = await t.post('registered-models/alias', { name: 'aliased', alias: 'champion', version: '1' });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({});
    let got = await t.get('registered-models/alias', { name: 'aliased', alias: 'champion' });
    expect(got.body.model_version).toMatchObject({ version: '1', aliases: ['champion'] });
    await t.post('registered-models/alias', { name: 'aliased', alias: 'champion', version: '2' });
    got = await t.get('registered-models/alias', { name: 'aliased', alias: 'champion' });
    expect(got.body.model_version.version).toBe('2');
    const model = await t.get('registered-models/get', { name: 'aliased' });
    expect(model.body.registered_model.aliases).toEqual([{ alias: 'champion', version: '2' }]);

    for (const alias of ['latest', 'LATEST', 'v1', 'V12', 'bad alias', 'x'.repeat(256)]) {
      const res = await t.post('registered-models/alias', { name: 'aliased', alias, version: '1' });
      expect(res.body.error_code, alias).toBe('INVALID_PARAMETER_VALUE');
    }
    const okName = await t.post('registered-models/alias', {
      name: 'aliased',
      alias: 'v1beta',
      version: '1',
    });
    expect(okName.status).toBe(200);
    const noVersion = await t.post('registered-models/alias', { name: 'aliased', alias: 'x', version: '9' });
    expect(noVersion.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    // Deleting a version drops its aliases.
    await t.call('DELETE', 'model-versions/delete', { name: 'aliased', version: '2' });
    const dropped = await t.get('registered-models/alias', { name: 'aliased', alias: 'champion' });
    expect(dropped.status).toBe(404);
    expect(dropped.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');

    await t.call('DELETE', 'registered-models/alias', { name: 'aliased', alias: 'v1beta' });
    expect((await t.get('registered-models/alias', { name: 'aliased', alias: 'v1beta' })).status).toBe(404);
  });

  it('sets and deletes tags on models and versions', async () => {
    await t.post('registered-models/create', { name: 'tagged' });
    await version('tagged');
    await t.post('registered-models/set-tag', { name: 'tagged', key: 'owner', value: 'ann' });
    await t.post('model-versions/set-tag', { name: 'tagged', version: '1', key: 'validated', value: 'yes' });
    expect((await t.get('registered-models/get', { name: 'tagged' })).body.registered_model.tags).toEqual([
      { key: 'owner', value: 'ann' },
    ]);
    expect(
      (await t.get('model-versions/get', { name: 'tagged', version: '1' })).body.model_version.tags,
    ).toEqual([{ key: 'validated', value: 'yes' }]);
    await t.call('DELETE', 'registered-models/delete-tag', { name: 'tagged', key: 'owner' });
    await t.call('DELETE', 'model-versions/delete-tag', { name: 'tagged', version: '1', key: 'validated' });
    expect(
      (await t.get('registered-models/get', { name: 'tagged' })).body.registered_model.tags,
    ).toBeUndefined();
    const again = await t.call('DELETE', 'registered-models/delete-tag', { name: 'tagged', key: 'owner' });
    expect(again.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const againV = await t.call('DELETE', 'model-versions/delete-tag', {
      name: 'tagged',
      version: '1',
      key: 'x',
    });
    expect(againV.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const noModel = await t.post('registered-models/set-tag', { name: 'nope', key: 'k', value: 'v' });
    expect(noModel.status).toBe(404);
  });

  it('searches registered models with filters (incl. OR), order_by and pagination', async () => {
    for (const name of ['s-alpha', 's-beta', 's-Gamma']) {
      await t.post('registered-models/create', {
        name,
        tags: [{ key: 'team', value: name === 's-beta' ? 'b' : 'a' }],
      });
    }
    const names = async (query: Record<string, string | string[] | number>) =>
      ((await t.get('registered-models/search', query)).body.registered_models ?? []).map(
        (m: JsonBody) => m.name,
      );
    expect(await names({ filter: "name LIKE 's-%'" })).toEqual(['s-Gamma', 's-alpha', 's-beta']);
    expect(await names({ filter: "name ILIKE 's-g%'" })).toEqual(['s-Gamma']);
    expect(await names({ filter: "name LIKE 's-g%'" })).toEqual([]);
    expect(await names({ filter: "name = 's-alpha' OR tags.team = 'b'" })).toEqual(['s-alpha', 's-beta']);
    expect(await names({ filter: "name LIKE 's-%' AND tags.team != 'b'" })).toEqual(['s-Gamma', 's-alpha']);
    expect(await names({ filter: "name LIKE 's-%'", order_by: 'name DESC' })).toEqual([
      's-beta',
      's-alpha',
      's-Gamma',
    ]);
    expect(await names({ filter: "name LIKE 's-%'", order_by: 'creation_timestamp DESC' })).toHaveLength(3);

    const page1 = await t.get('registered-models/search', { filter: "name LIKE 's-%'", max_results: 2 });
    expect(page1.body.registered_models).toHaveLength(2);
    expect(page1.body.next_page_token).toBeTruthy();
    const page2 = await t.get('registered-models/search', {
      filter: "name LIKE 's-%'",
      max_results: 2,
      page_token: page1.body.next_page_token,
    });
    expect(page2.body.registered_models.map((m: JsonBody) => m.name)).toEqual(['s-beta']);
    expect(page2.body.next_page_token).toBeUndefined();

    const invalid: Record<string, string | number>[] = [
      { max_results: 1001 },
      { max_results: 0 },
      { filter: "run_id = 'x'" },
      { filter: 'name = ' },
      { order_by: 'source' },
      { page_token: 'garbage' },
    ];
    for (const query of invalid) {
      const res = await t.get('registered-models/search', query);
      expect(res.body.error_code, JSON.stringify(query)).toBe('INVALID_PARAMETER_VALUE');
    }
  });

  it('serves the legacy registered-models/list and the /preview/ prefix', async () => {
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/2.0/preview/mlflow/registered-models/list?max_results=1',
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().registered_models).toHaveLength(1);
    expect(list.json().next_page_token).toBeTruthy();
    const tooMany = await t.get('registered-models/list', { max_results: 1001 });
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const preview = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/preview/mlflow/registered-models/create',
      payload: { name: 'via-preview' },
    });
    expect(preview.statusCode).toBe(200);
    const ajax = await t.app.inject({
      method: 'GET',
      url: '/ajax-api/2.0/mlflow/registered-models/get?name=via-preview',
    });
    expect(ajax.json().registered_model.name).toBe('via-preview');
  });

  it('searches model versions by name, run_id (= and IN), source_path, version_number and tags', async () => {
    await t.post('registered-models/create', { name: 'mv-a' });
    await t.post('registered-models/create', { name: 'mv-b' });
    const other = await runWithArtifacts(t, { 'm/MLmodel': 'x' });
    await version('mv-a', { tags: [{ key: 'q', value: 'good' }] });
    await version('mv-a');
    await t.post('model-versions/create', { name: 'mv-b', source: `runs:/${other.info.run_id}/m` });
    const ids = async (filter: string, extra: Record<string, string | number> = {}) =>
      ((await t.get('model-versions/search', { filter, ...extra })).body.model_versions ?? []).map(
        (v: JsonBody) => `${v.name}/${v.version}`,
      );
    expect(await ids("name = 'mv-a'")).toEqual(['mv-a/2', 'mv-a/1']);
    expect(await ids("name LIKE 'mv-%' AND version_number >= 2")).toEqual(['mv-a/2']);
    expect(await ids(`run_id = '${other.info.run_id}'`)).toEqual(['mv-b/1']);
    expect(
      await ids(`name LIKE 'mv-%' AND run_id IN ('${other.info.run_id}', '${run.info.run_id}')`),
    ).toEqual(['mv-a/2', 'mv-a/1', 'mv-b/1']);
    expect(await ids("source_path LIKE '%/m'")).toEqual(['mv-b/1']);
    expect(await ids("tags.q = 'good' OR name = 'mv-b'")).toEqual(['mv-a/1', 'mv-b/1']);
    expect(await ids("name LIKE 'mv-%'", { order_by: 'version_number ASC', max_results: 2 })).toEqual([
      'mv-a/1',
      'mv-b/1',
    ]);
    const tooMany = await t.get('model-versions/search', { max_results: 200_001 });
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badOp = await t.get('model-versions/search', { filter: "source_path IN ('a')" });
    expect(badOp.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('returns the download URI of the registry copy and validates sources', async () => {
    await t.post('registered-models/create', { name: 'src' });
    const v = (await version('src')).body.model_version;
    const uri = await t.get('model-versions/get-download-uri', { name: 'src', version: v.version });
    expect(uri.body.artifact_uri).toMatch(/^mlflow-artifacts:\/registry\/[0-9a-f]{32}$/);
    const viaUri = await t.post('model-versions/create', {
      name: 'src',
      source: `${run.info.artifact_uri}/model`,
      run_id: run.info.run_id,
    });
    expect(viaUri.body.model_version.version).toBe('2');
    const external = await t.post('model-versions/create', { name: 'src', source: 's3://bucket/models/x' });
    expect(external.status).toBe(200);
    const externalUri = await t.get('model-versions/get-download-uri', { name: 'src', version: '3' });
    expect(externalUri.body.artifact_uri).toBe('s3://bucket/models/x');

    const bad = [
      { source: `runs:/${run.info.run_id}/../other` },
      { source: `runs:/${run.info.run_id}/%2e%2e/other` },
      { source: `runs:/${run.info.run_id}/%252e%252e/other` },
      { source: 's3://bucket/a/../b' },
      { source: '/etc/passwd' },
      { source: '/etc/passwd', run_id: run.info.run_id },
      { source: 'file:///etc/passwd', run_id: run.info.run_id },
      { source: `mlflow-artifacts:/0/${run.info.run_id}/artifacts/nothing-here` },
      { source: 'mlflow-artifacts:/0/some/where' },
      { source: `runs:/${run.info.run_id}/model`, run_id: 'abcdef' },
    ];
    for (const body of bad) {
      const res = await t.post('model-versions/create', { name: 'src', ...body });
      expect(res.body.error_code, JSON.stringify(body)).toBe('INVALID_PARAMETER_VALUE');
    }
    const unknownRun = await t.post('model-versions/create', { name: 'src', source: 'runs:/abcdef/model' });
    expect(unknownRun.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    // Nothing above created a version: the next number is 4.
    expect((await version('src')).body.model_version.version).toBe('4');
  });
});
