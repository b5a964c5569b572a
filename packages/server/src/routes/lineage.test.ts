import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { createServices } from '../services/services.js';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

describe.each(dialects)('lineage and model URIs (%s)', (dialect) => {
  let t: TestApp;
  let run: JsonBody;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    const experimentId = (await t.post('experiments/create', { name: 'lin' })).body.experiment_id;
    const created = (await t.post('runs/create', { experiment_id: experimentId, run_name: 'train' })).body
      .run;
    await t.post('runs/log-batch', {
      run_id: created.info.run_id,
      params: [{ key: 'lr', value: '0.1' }],
      tags: [
        { key: 'mlflow.source.git.commit', value: 'abc123' },
        { key: 'mlflow.source.name', value: 'train.py' },
      ],
    });
    await t.post('runs/log-inputs', {
      run_id: created.info.run_id,
      datasets: [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: { name: 'iris', digest: 'd1g3st', source_type: 'local', source: '{}' },
        },
      ],
    });
    run = created;
    const root = String(run.info.artifact_uri).replace('mlflow-artifacts:/', '');
    await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/MLmodel`,
      payload: 'x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    await t.post('registered-models/create', { name: 'iris' });
    await t.post('registered-models/create', { name: 'iris-small' });
    for (const name of ['iris', 'iris', 'iris-small']) {
      await t.post('model-versions/create', { name, source: `runs:/${run.info.run_id}/model` });
    }
    await t.post('registered-models/alias', { name: 'iris', alias: 'champion', version: '2' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const lineage = async (query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/2.0/keel/lineage?${query}` });
    return { status: res.statusCode, body: res.json() as JsonBody };
  };

  it('returns the graph around a model version', async () => {
    const { status, body } = await lineage('model=iris&version=2');
    expect(status).toBe(200);
    expect(body.root).toBe('model_version:iris/2');
    const node = (id: string) => body.nodes.find((n: JsonBody) => n.id === id);
    expect(node('model_version:iris/2')).toMatchObject({
      kind: 'model_version',
      version: '2',
      aliases: ['champion'],
    });
    expect(node(`run:${run.info.run_id}`)).toMatchObject({
      kind: 'run',
      run_name: 'train',
      params: [{ key: 'lr', value: '0.1' }],
      code_version: { git_commit: 'abc123', source_name: 'train.py' },
    });
    expect(node(`experiment:${run.info.experiment_id}`)).toMatchObject({ kind: 'experiment', name: 'lin' });
    expect(node('dataset:iris@d1g3st')).toMatchObject({
      kind: 'dataset',
      digest: 'd1g3st',
      context: 'training',
    });
    expect(node('registered_model:iris')).toMatchObject({ kind: 'registered_model' });
    const edges = body.edges.map((e: JsonBody) => `${e.from} -${e.kind}-> ${e.to}`).sort();
    expect(edges).toEqual(
      [
        `model_version:iris/2 -produced_by-> run:${run.info.run_id}`,
        `model_version:iris/1 -produced_by-> run:${run.info.run_id}`,
        `model_version:iris-small/1 -produced_by-> run:${run.info.run_id}`,
        'model_version:iris/2 -sibling_version-> model_version:iris/1',
        'model_version:iris/2 -sibling_version-> model_version:iris-small/1',
        'model_version:iris/2 -version_of-> registered_model:iris',
        'model_version:iris/1 -version_of-> registered_model:iris',
        'model_version:iris-small/1 -version_of-> registered_model:iris-small',
        `run:${run.info.run_id} -in_experiment-> experiment:${run.info.experiment_id}`,
        `run:${run.info.run_id} -consumed-> dataset:iris@d1g3st`,
      ].sort(),
    );
  });

  it('returns the graph around a run', async () => {
    const { body } = await lineage(`run_id=${run.info.run_id}`);
    expect(body.root).toBe(`run:${run.info.run_id}`);
    expect(body.nodes.filter((n: JsonBody) => n.kind === 'model_version')).toHaveLength(3);
  });

  it('refuses ambiguous or unknown roots', async () => {
    expect((await lineage('model=iris')).body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect((await lineage(`model=iris&version=1&run_id=${run.info.run_id}`)).status).toBe(400);
    expect((await lineage('model=iris&version=9')).status).toBe(404);
    expect((await lineage('run_id=ffffffff')).status).toBe(404);
  });

  it('resolves models:/ and runs:/ URIs with the registry service', async () => {
    const artifacts = new LocalArtifactStore(t.artifactsDir);
    const { registry } = createServices(t.store.store, { artifacts });
    const v2 = await registry.resolveModelUri('models:/iris/2');
    expect(v2).toMatchObject({ name: 'iris', version: 2, runId: run.info.run_id });
    expect(v2.storageLocation).toMatch(/^registry\/[0-9a-f]{32}$/);
    expect(v2.artifactUri).toBe(`mlflow-artifacts:/${v2.storageLocation}`);
    expect(await registry.resolveModelUri('models:/iris@champion')).toEqual(v2);
    expect(await registry.resolveModelUri('models:/iris/latest')).toEqual(v2);
    expect(await registry.resolveModelUri('models:/iris/none')).toEqual(v2);
    await t.post('model-versions/transition-stage', { name: 'iris', version: '1', stage: 'Production' });
    expect((await registry.resolveModelUri('models:/iris/PRODUCTION')).version).toBe(1);
    expect(await registry.resolveModelUri(`runs:/${run.info.run_id}/model`)).toEqual({
      runId: run.info.run_id,
      artifactUri: `${run.info.artifact_uri}/model`,
    });
    for (const [uri, code] of [
      ['models:/iris/Staging', 'RESOURCE_DOES_NOT_EXIST'],
      ['models:/iris@nobody', 'RESOURCE_DOES_NOT_EXIST'],
      ['models:/nobody/1', 'RESOURCE_DOES_NOT_EXIST'],
      ['models:/iris/gold', 'INVALID_PARAMETER_VALUE'],
      ['s3://x/y', 'INVALID_PARAMETER_VALUE'],
    ] as const) {
      await expect(registry.resolveModelUri(uri), uri).rejects.toMatchObject({ code });
    }
    // A models:/ source registers a new version from that version's copy.
    const copy = await t.post('model-versions/create', {
      name: 'iris-small',
      source: 'models:/iris@champion',
    });
    expect(copy.body.model_version.version).toBe('2');
    await artifacts.close();
  });
});
