import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { S3ArtifactStore } from '../../artifacts/s3/s3-artifact-store.js';
import { runWithArtifacts } from '../../testing/registry-fixtures.js';
import { startS3TestServer } from '../../testing/s3-test-server.js';
import { createTestApp, type TestApp } from '../../testing/test-app.js';
import { testDialects } from '../../testing/test-stores.js';

const dialects = await testDialects();
const s3 = await startS3TestServer('keel-registry');
afterAll(async () => {
  await s3?.close();
});

/** Every dialect on the local store, and the copy path once more on S3. */
const backends = [
  ...dialects.map((dialect) => ({ label: `${dialect}, local store`, dialect, s3: false })),
  ...(s3 ? [{ label: 'sqlite, S3 store', dialect: 'sqlite' as const, s3: true }] : []),
];

describe.each(backends)('registered versions are immutable ($label)', ({ dialect, s3: onS3 }) => {
  let t: TestApp;
  let store: ArtifactStore | undefined;
  beforeAll(async () => {
    store = onS3 && s3 ? new S3ArtifactStore(s3.storeOptions('registry-immutability')) : undefined;
    t = await createTestApp(dialect, store ? { artifacts: store } : {});
  });
  afterAll(async () => {
    await t?.dispose();
    await store?.close();
  });

  const versionFile = (name: string, version: string, path: string) =>
    t.app.inject({
      method: 'GET',
      url: `/model-versions/get-artifact?name=${name}&version=${version}&path=${path}`,
    });

  it('keeps serving the registered files after the run artifacts are overwritten or deleted', async () => {
    const run = await runWithArtifacts(t, {
      'model/MLmodel': 'flavors: {onnx: {}}\n',
      'model/data/weights.bin': 'v1-weights',
    });
    const root = String(run.info.artifact_uri).replace('mlflow-artifacts:/', '');
    await t.post('registered-models/create', { name: 'frozen' });
    const created = await t.post('model-versions/create', {
      name: 'frozen',
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    expect(created.status).toBe(200);

    const before = await versionFile('frozen', '1', 'data/weights.bin');
    expect(before.statusCode).toBe(200);
    expect(before.payload).toBe('v1-weights');
    expect(before.headers['content-disposition']).toContain('weights.bin');

    // Overwrite one file and delete the other through the artifact proxy.
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/data/weights.bin`,
      payload: 'tampered',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode).toBe(200);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/2.0/mlflow-artifacts/artifacts/${root}/model/MLmodel`,
    });
    expect(del.statusCode).toBe(200);
    const runFile = await t.app.inject({
      method: 'GET',
      url: `/get-artifact?run_id=${run.info.run_id}&path=model/data/weights.bin`,
    });
    expect(runFile.payload).toBe('tampered');

    expect((await versionFile('frozen', '1', 'data/weights.bin')).payload).toBe('v1-weights');
    expect((await versionFile('frozen', '1', 'MLmodel')).payload).toBe('flavors: {onnx: {}}\n');

    // The copy itself cannot be changed through the proxy either.
    const uri = (await t.get('model-versions/get-download-uri', { name: 'frozen', version: '1' })).body
      .artifact_uri;
    const copyPath = String(uri).replace('mlflow-artifacts:/', '');
    const viaProxy = await t.app.inject({
      method: 'GET',
      url: `/api/2.0/mlflow-artifacts/artifacts/${copyPath}/data/weights.bin`,
    });
    expect(viaProxy.payload).toBe('v1-weights');
    for (const method of ['PUT', 'DELETE'] as const) {
      const res = await t.app.inject({
        method,
        url: `/api/2.0/mlflow-artifacts/artifacts/${copyPath}/data/weights.bin`,
        ...(method === 'PUT'
          ? { payload: 'x', headers: { 'content-type': 'application/octet-stream' } }
          : {}),
      });
      expect(res.statusCode, method).toBe(403);
      expect(res.json().error_code).toBe('PERMISSION_DENIED');
    }
    expect((await versionFile('frozen', '1', 'data/weights.bin')).payload).toBe('v1-weights');

    // A new version registered now sees the new files; the old one still does not.
    await t.post('model-versions/create', { name: 'frozen', source: `runs:/${run.info.run_id}/model` });
    expect((await versionFile('frozen', '2', 'data/weights.bin')).payload).toBe('tampered');
    expect((await versionFile('frozen', '2', 'MLmodel')).statusCode).toBe(404);
    expect((await versionFile('frozen', '1', 'data/weights.bin')).payload).toBe('v1-weights');
  });

  it('refuses traversal in get-artifact and answers 404 for unknown versions', async () => {
    const bad = await versionFile('frozen', '1', '../../etc/passwd');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error_code).toBe('INVALID_PARAMETER_VALUE');
    expect((await versionFile('frozen', '99', 'MLmodel')).statusCode).toBe(404);
  });

  it('removes the copy of a deleted version', async () => {
    const uri = (await t.get('model-versions/get-download-uri', { name: 'frozen', version: '2' })).body
      .artifact_uri;
    const copy = `/api/2.0/mlflow-artifacts/artifacts/${String(uri).replace('mlflow-artifacts:/', '')}/data/weights.bin`;
    expect((await t.app.inject({ method: 'GET', url: copy })).statusCode).toBe(200);
    await t.call('DELETE', 'model-versions/delete', { name: 'frozen', version: '2' });
    expect((await t.app.inject({ method: 'GET', url: copy })).statusCode).toBe(404);
  });
});
