import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActiveRun } from './active-run.js';
import {
  AlreadyExistsError,
  InvalidParameterError,
  KeelClient,
  type ModelVersion,
  NotFoundError,
} from './index.js';
import { startTestServer, type TestServer } from './testing/test-server.js';

let server: TestServer;
let keel: KeelClient;
let modelDir: string;

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({ trackingUri: server.uri, retries: 0 });
  modelDir = mkdtempSync(join(tmpdir(), 'keel-sdk-model-'));
  writeFileSync(join(modelDir, 'MLmodel'), 'flavors: {}\n');
  writeFileSync(join(modelDir, 'model.bin'), 'weights');
});

afterAll(async () => {
  await server?.close();
  if (modelDir) rmSync(modelDir, { recursive: true, force: true });
});

const tagsOf = (list: { key: string; value: string }[] | undefined) =>
  Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));

/** A run whose artifacts hold a model folder at `model/`. */
async function runWithModel(experiment: string): Promise<ActiveRun> {
  const run = await keel.startRun({ experiment });
  await run.logArtifacts(modelDir, 'model');
  return run;
}

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => error,
  );
}

describe('registered models', () => {
  it('creates, reads, updates, tags, renames and deletes a registered model', async () => {
    const created = await keel.registry.createRegisteredModel('rm-crud', {
      description: 'first',
      tags: { team: 'growth' },
    });
    expect(created).toMatchObject({ name: 'rm-crud', description: 'first' });
    expect(tagsOf(created.tags)).toEqual({ team: 'growth' });
    expect(typeof created.creation_timestamp).toBe('number');

    const duplicate = await rejection(keel.registry.createRegisteredModel('rm-crud'));
    expect(duplicate).toBeInstanceOf(AlreadyExistsError);
    expect((duplicate as AlreadyExistsError).code).toBe('RESOURCE_ALREADY_EXISTS');

    expect(
      (await keel.registry.updateRegisteredModel('rm-crud', { description: 'second' })).description,
    ).toBe('second');
    await keel.registry.setRegisteredModelTag('rm-crud', 'owner', 'ana');
    await keel.registry.deleteRegisteredModelTag('rm-crud', 'team');
    expect(tagsOf((await keel.registry.getRegisteredModel('rm-crud')).tags)).toEqual({ owner: 'ana' });

    const renamed = await keel.registry.renameRegisteredModel('rm-crud', 'rm-crud-2');
    expect(renamed.name).toBe('rm-crud-2');
    expect(await rejection(keel.registry.getRegisteredModel('rm-crud'))).toBeInstanceOf(NotFoundError);

    await keel.registry.deleteRegisteredModel('rm-crud-2');
    const gone = await rejection(keel.registry.getRegisteredModel('rm-crud-2'));
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone as NotFoundError).code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('sends PATCH for updates and DELETE (with a JSON body) for deletions, as MLflow defines them', async () => {
    await keel.registry.createRegisteredModel('rm-methods');
    const before = server.requests.length;
    await keel.registry.updateRegisteredModel('rm-methods', { description: 'x' });
    await keel.registry.deleteRegisteredModel('rm-methods');
    expect(server.requests.slice(before)).toEqual([
      { method: 'PATCH', url: '/api/2.0/mlflow/registered-models/update' },
      { method: 'DELETE', url: '/api/2.0/mlflow/registered-models/delete' },
    ]);
  });

  it('searches with a filter and pages through every model', async () => {
    for (const name of ['search-a', 'search-b', 'search-c']) await keel.registry.createRegisteredModel(name);
    const first = await keel.registry.searchRegisteredModels({
      filter: "name LIKE 'search-%'",
      orderBy: ['name DESC'],
      maxResults: 2,
    });
    expect(first.registeredModels.map((m) => m.name)).toEqual(['search-c', 'search-b']);
    expect(first.nextPageToken).toEqual(expect.any(String));

    const names: string[] = [];
    for await (const model of keel.registry.iterateRegisteredModels({
      filter: "name LIKE 'search-%'",
      maxResults: 1,
    })) {
      names.push(model.name);
    }
    expect(names).toEqual(['search-a', 'search-b', 'search-c']);
  });
});

describe('model versions', () => {
  it('run.registerModel creates the model when missing, then adds sequential versions from runs:/ sources', async () => {
    const run = await runWithModel('reg-register');
    const v1 = await run.registerModel('model', 'reg-register', {
      tags: { stage: 'dev' },
      description: 'one',
    });
    expect(v1).toMatchObject({
      name: 'reg-register',
      version: '1',
      source: `runs:/${run.runId}/model`,
      run_id: run.runId,
      current_stage: 'None',
      status: 'READY',
      description: 'one',
    });
    expect(tagsOf(v1.tags)).toEqual({ stage: 'dev' });
    // The model already exists now: the second call must not fail on RESOURCE_ALREADY_EXISTS.
    const v2 = await run.registerModel('/model/', 'reg-register');
    expect(v2).toMatchObject({ version: '2', source: `runs:/${run.runId}/model` });
    await run.end();

    expect(await keel.registry.getModelVersion('reg-register', 2)).toEqual(v2);
    const model = await keel.registry.getRegisteredModel('reg-register');
    expect(model.latest_versions?.map((v) => v.version)).toEqual(['2']);
  });

  it('registerModel surfaces errors other than RESOURCE_ALREADY_EXISTS', async () => {
    const run = await keel.startRun({ experiment: 'reg-register-errors' });
    const error = await rejection(run.registerModel('no-such-folder', 'reg-register-errors'));
    expect(error).toBeInstanceOf(InvalidParameterError);
    await run.end();
  });

  it('updates, tags, transitions, searches, gives the download URI of and deletes versions', async () => {
    const run = await runWithModel('reg-versions');
    for (let i = 0; i < 3; i += 1) await run.registerModel('model', 'reg-versions');
    await run.end();

    expect(
      (await keel.registry.updateModelVersion('reg-versions', '1', { description: 'd' })).description,
    ).toBe('d');
    await keel.registry.setModelVersionTag('reg-versions', 1, 'validated', 'true');
    await keel.registry.setModelVersionTag('reg-versions', 1, 'temp', 'x');
    await keel.registry.deleteModelVersionTag('reg-versions', 1, 'temp');
    expect(tagsOf((await keel.registry.getModelVersion('reg-versions', 1)).tags)).toEqual({
      validated: 'true',
    });

    expect((await keel.registry.transitionStage('reg-versions', 1, 'production')).current_stage).toBe(
      'Production',
    );
    const promoted = await keel.registry.transitionStage('reg-versions', 2, 'Production', {
      archiveExistingVersions: true,
    });
    expect(promoted.current_stage).toBe('Production');
    expect((await keel.registry.getModelVersion('reg-versions', 1)).current_stage).toBe('Archived');
    expect(
      (await keel.registry.getLatestVersions('reg-versions', ['Production'])).map((v) => v.version),
    ).toEqual(['2']);
    const latest = await keel.registry.getLatestVersions('reg-versions');
    expect(Object.fromEntries(latest.map((v) => [v.current_stage, v.version]))).toEqual({
      None: '3',
      Production: '2',
      Archived: '1',
    });

    const versions: ModelVersion[] = [];
    for await (const v of keel.registry.iterateModelVersions({
      filter: "name = 'reg-versions'",
      maxResults: 2,
    })) {
      versions.push(v);
    }
    expect(versions.map((v) => v.version).sort()).toEqual(['1', '2', '3']);

    expect(await keel.registry.getModelVersionDownloadUri('reg-versions', 3)).toMatch(/^mlflow-artifacts:\//);

    await keel.registry.deleteModelVersion('reg-versions', 3);
    expect(await rejection(keel.registry.getModelVersion('reg-versions', 3))).toBeInstanceOf(NotFoundError);
    const invalidStage = await rejection(keel.registry.transitionStage('reg-versions', 1, 'gold'));
    expect((invalidStage as InvalidParameterError).code).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe('aliases and models:/ URIs', () => {
  let run: ActiveRun;
  beforeAll(async () => {
    run = await runWithModel('reg-uris');
    for (let i = 0; i < 3; i += 1) await run.registerModel('model', 'reg-uris');
    await run.end();
    await keel.registry.transitionStage('reg-uris', 2, 'Staging');
  });

  it('sets, reads, moves and deletes an alias', async () => {
    await keel.registry.setAlias('reg-uris', 'champion', 1);
    expect((await keel.registry.getVersionByAlias('reg-uris', 'champion')).version).toBe('1');
    await keel.registry.setAlias('reg-uris', 'champion', '2');
    const byAlias = await keel.registry.getVersionByAlias('reg-uris', 'champion');
    expect(byAlias).toMatchObject({ version: '2', aliases: ['champion'] });
    expect((await keel.registry.getRegisteredModel('reg-uris')).aliases).toEqual([
      { alias: 'champion', version: '2' },
    ]);

    const reserved = await rejection(keel.registry.setAlias('reg-uris', 'latest', 1));
    expect((reserved as InvalidParameterError).code).toBe('INVALID_PARAMETER_VALUE');

    await keel.registry.setAlias('reg-uris', 'temp', 3);
    await keel.registry.deleteAlias('reg-uris', 'temp');
    expect(await rejection(keel.registry.getVersionByAlias('reg-uris', 'temp'))).toBeInstanceOf(
      NotFoundError,
    );
  });

  it('resolves models:/name/<version>, @alias, /<stage> and /latest to a version', async () => {
    await keel.registry.setAlias('reg-uris', 'resolver', 1);
    const resolve = async (uri: string) => {
      const { name, version } = await keel.registry.resolveModelUri(uri);
      return { name, version };
    };
    expect(await resolve('models:/reg-uris/1')).toEqual({ name: 'reg-uris', version: '1' });
    expect(await resolve('models:/reg-uris@resolver')).toEqual({ name: 'reg-uris', version: '1' });
    expect(await resolve('models:/reg-uris/staging')).toEqual({ name: 'reg-uris', version: '2' });
    expect(await resolve('models:/reg-uris/latest')).toEqual({ name: 'reg-uris', version: '3' });
  });

  it('fails with typed errors for missing versions, empty stages and malformed URIs', async () => {
    for (const uri of ['models:/reg-uris/99', 'models:/reg-uris@nobody', 'models:/reg-uris/Production']) {
      const error = await rejection(keel.registry.resolveModelUri(uri));
      expect(error, uri).toBeInstanceOf(NotFoundError);
    }
    expect(await rejection(keel.registry.resolveModelUri('models:/no-such-model/latest'))).toBeInstanceOf(
      NotFoundError,
    );
    for (const uri of ['models:/reg-uris', 's3://bucket/model', `runs:/${run.runId}/model`]) {
      const error = await rejection(keel.registry.resolveModelUri(uri));
      expect(error, uri).toBeInstanceOf(InvalidParameterError);
      expect((error as InvalidParameterError).code).toBe('INVALID_PARAMETER_VALUE');
    }
  });
});
