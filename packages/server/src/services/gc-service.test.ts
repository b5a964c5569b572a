import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { S3ArtifactStore } from '../artifacts/s3/s3-artifact-store.js';
import { systemActor } from '../changes/change.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { REGISTRY_COPY_MIN_AGE_MS } from './gc-service.js';
import { registryCopyFolder, registryCopyTime } from './registry/registry-storage.js';
import { createServices, type Services } from './services.js';

const actor = systemActor('gc-test');

/** A real S3 client pointed at a port where nothing listens: every call fails. */
const unreachableStore = () =>
  new S3ArtifactStore({
    bucket: 'nowhere',
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });

const dialects = await testDialects();

describe('registry copy folder names', () => {
  it('carry the time they were made, and a random UUID carries none', () => {
    const at = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const folder = registryCopyFolder(at);
    expect(folder).toMatch(/^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(registryCopyTime(folder)).toBe(at);
    expect(registryCopyFolder(at)).not.toBe(folder);
    expect(registryCopyTime(randomUUID().replaceAll('-', ''))).toBeUndefined();
    expect(registryCopyTime('notes')).toBeUndefined();
  });
});

describe.each(dialects)('GcService on %s', (dialect) => {
  let t: TestStore;
  let now = 1_000_000;
  let services: Services;
  let artifactsDir: string;
  let artifacts: LocalArtifactStore;
  beforeAll(async () => {
    t = await createTestStore(dialect);
    artifactsDir = mkdtempSync(join(tmpdir(), 'keel-gc-artifacts-'));
    artifacts = new LocalArtifactStore(artifactsDir);
    services = createServices(t.store, { artifacts, clock: () => now });
  });
  afterAll(async () => {
    await t?.dispose();
    if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
  });

  /** Writes a file into a run's artifacts the way the proxy does; returns its path on disk. */
  const logArtifact = async (runId: string, name: string) => {
    const run = await services.runs.get(runId);
    const root = run.info.artifact_uri.replace('mlflow-artifacts:/', '');
    await artifacts.put(`${root}/${name}`, Readable.from([Buffer.from(name)]));
    return join(artifactsDir, root, name);
  };

  const text = async (stream: NodeJS.ReadableStream) => {
    let out = '';
    for await (const chunk of stream) out += String(chunk);
    return out;
  };

  const countRows = async (table: 'runs' | 'metrics' | 'params' | 'experiments', runOrExperiment: string) => {
    const column = table === 'experiments' ? 'experiment_id' : 'run_uuid';
    const value = table === 'experiments' ? Number(runOrExperiment) : runOrExperiment;
    const row = await t.store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(column as never, '=', value as never)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  const runWithData = async (experimentId = '0') => {
    const run = await services.runs.create({ experimentId }, actor);
    const runId = run.info.run_id;
    await services.runs.logBatch(
      {
        runId,
        metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }],
        params: [{ key: 'lr', value: '0.1' }],
      },
      actor,
    );
    return runId;
  };

  it('removes deleted runs with everything logged to them and keeps active ones', async () => {
    const deleted = await runWithData();
    const kept = await runWithData();
    await services.runs.delete(deleted, actor);
    const results = await services.gc.collect();
    expect(results).toContainEqual({ kind: 'run', id: deleted, status: 'removed' });
    expect(results.find((r) => r.id === kept)).toBeUndefined();
    expect(await countRows('runs', deleted)).toBe(0);
    expect(await countRows('metrics', deleted)).toBe(0);
    expect(await countRows('params', deleted)).toBe(0);
    expect(await countRows('metrics', kept)).toBe(1);
  });

  it('honours --older-than and reports per item instead of stopping', async () => {
    const old = await runWithData();
    await services.runs.delete(old, actor);
    now += 10_000;
    const recent = await runWithData();
    await services.runs.delete(recent, actor);
    const active = await runWithData();
    const results = await services.gc.collect({
      olderThanMs: 5_000,
      runIds: [old, recent, active, 'f'.repeat(32)],
    });
    expect(results).toEqual([
      { kind: 'run', id: old, status: 'removed' },
      { kind: 'run', id: recent, status: 'skipped', reason: 'deleted too recently' },
      { kind: 'run', id: active, status: 'skipped', reason: 'run is not deleted' },
      { kind: 'run', id: 'f'.repeat(32), status: 'skipped', reason: 'no such run' },
    ]);
    expect(await countRows('runs', recent)).toBe(1);
  });

  it('removes deleted experiments with their runs', async () => {
    const experimentId = await services.experiments.create({ name: `gc-${dialect}` }, actor);
    const runId = await runWithData(experimentId);
    await services.experiments.delete(experimentId, actor);
    const results = await services.gc.collect({ experimentIds: [experimentId] });
    expect(results).toEqual([{ kind: 'experiment', id: experimentId, status: 'removed' }]);
    expect(await countRows('experiments', experimentId)).toBe(0);
    expect(await countRows('runs', runId)).toBe(0);
    expect(await countRows('metrics', runId)).toBe(0);
    // The name is free again.
    expect(await services.experiments.create({ name: `gc-${dialect}` }, actor)).toMatch(/^\d+$/);
  });

  it('deletes the artifact folders of the runs it removes and keeps the others', async () => {
    const doomed = await runWithData();
    const kept = await runWithData();
    const doomedFiles = [
      await logArtifact(doomed, 'model/model.onnx'),
      await logArtifact(doomed, 'notes.txt'),
    ];
    const keptFile = await logArtifact(kept, 'model/model.onnx');
    expect(doomedFiles.every((file) => existsSync(file))).toBe(true);
    await services.runs.delete(doomed, actor);
    const results = await services.gc.collect({ runIds: [doomed] });
    expect(results).toEqual([{ kind: 'run', id: doomed, status: 'removed' }]);
    expect(doomedFiles.some((file) => existsSync(file))).toBe(false);
    expect(existsSync(join(artifactsDir, '0', doomed))).toBe(false);
    expect(existsSync(keptFile)).toBe(true);
  });

  it('deletes the artifacts of every run of an experiment it removes', async () => {
    const experimentId = await services.experiments.create({ name: `gc-artifacts-${dialect}` }, actor);
    const active = await runWithData(experimentId);
    const alreadyDeleted = await runWithData(experimentId);
    const files = [await logArtifact(active, 'a.txt'), await logArtifact(alreadyDeleted, 'b.txt')];
    const other = await logArtifact(await runWithData(), 'other.txt');
    await services.runs.delete(alreadyDeleted, actor);
    await services.experiments.delete(experimentId, actor);
    const results = await services.gc.collect({ experimentIds: [experimentId] });
    expect(results).toEqual([{ kind: 'experiment', id: experimentId, status: 'removed' }]);
    expect(files.some((file) => existsSync(file))).toBe(false);
    expect(existsSync(join(artifactsDir, experimentId))).toBe(false);
    expect(existsSync(other)).toBe(true);
  });

  it('reports a run whose artifacts cannot be deleted as failed, keeps it for the next gc, and carries on', async () => {
    const unreachable = unreachableStore();
    const broken = createServices(t.store, { artifacts: unreachable, clock: () => now });
    const first = await runWithData();
    const second = await runWithData();
    await services.runs.delete(first, actor);
    await services.runs.delete(second, actor);
    try {
      const results = await broken.gc.collect({ runIds: [first, second] });
      expect(results).toEqual([
        {
          kind: 'run',
          id: first,
          status: 'failed',
          reason: expect.stringMatching(/could not delete artifacts/),
        },
        {
          kind: 'run',
          id: second,
          status: 'failed',
          reason: expect.stringMatching(/could not delete artifacts/),
        },
      ]);
      expect(await countRows('runs', first)).toBe(1);
      expect(await countRows('metrics', first)).toBe(1);
    } finally {
      await unreachable.close();
    }
    // With the store back, the next gc removes them.
    expect(await services.gc.collect({ runIds: [first, second] })).toEqual([
      { kind: 'run', id: first, status: 'removed' },
      { kind: 'run', id: second, status: 'removed' },
    ]);
  });

  it('leaves artifacts under URIs Keel does not own alone', async () => {
    const external = mkdtempSync(join(tmpdir(), 'keel-gc-external-'));
    try {
      const experimentId = await services.experiments.create(
        {
          name: `gc-external-${dialect}`,
          artifactLocation: pathToFileURL(external).href,
        },
        actor,
      );
      const runId = await runWithData(experimentId);
      const file = join(external, runId, 'artifacts', 'kept.txt');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'not Keel’s to delete');
      await services.runs.delete(runId, actor);
      expect(await services.gc.collect({ runIds: [runId] })).toEqual([
        { kind: 'run', id: runId, status: 'removed' },
      ]);
      expect(existsSync(file)).toBe(true);
    } finally {
      rmSync(external, { recursive: true, force: true });
    }
  });
  describe('registry copies', () => {
    /** Registers run artifacts as a new version of `name`; returns the version's copy folder on disk. */
    const registerVersion = async (name: string) => {
      const runId = await runWithData();
      await logArtifact(runId, 'model/MLmodel');
      const version = await services.registry.createVersion({ name, source: `runs:/${runId}/model` }, actor);
      const stored = await services.registry.requireStoredVersion(name, version.version);
      return {
        version: version.version,
        dir: join(artifactsDir, (stored.storage_location ?? '').split('/').slice(0, 2).join('/')),
      };
    };
    // Copies are dated from the services' clock: start well past the epoch.
    beforeAll(() => {
      now += 10 * REGISTRY_COPY_MIN_AGE_MS;
    });
    /** Files in registry storage no version uses (as a server that stopped mid-creation leaves them). */
    const leaveCopy = async (folder: string) => {
      await artifacts.put(`registry/${folder}/MLmodel`, Readable.from([Buffer.from('flavors: {}')]));
      return join(artifactsDir, 'registry', folder);
    };

    it('deletes the copies no version uses once they are a day old, and keeps the rest', async () => {
      const name = `gc-registry-${dialect}`;
      await services.registry.createModel({ name }, actor);
      const used = await registerVersion(name);
      const oldFolder = registryCopyFolder(now - 1);
      const old = await leaveCopy(oldFolder);
      const legacyFolder = randomUUID().replaceAll('-', '');
      const legacy = await leaveCopy(legacyFolder);
      // Past the minimum age of every copy above, the used one included.
      now += REGISTRY_COPY_MIN_AGE_MS + 1;
      const results = await services.gc.collect();
      expect(results.filter((item) => item.kind === 'registry-copy')).toEqual([
        ...[
          { kind: 'registry-copy', id: `registry/${oldFolder}`, status: 'removed' },
          {
            kind: 'registry-copy',
            id: `registry/${legacyFolder}`,
            status: 'skipped',
            reason: expect.stringMatching(/does not say when it was made/),
          },
        ].sort((x, y) => (x.id < y.id ? -1 : 1)),
      ]);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(legacy)).toBe(true);
      // The version's copy, made as long ago, is used: kept, and still served.
      expect(existsSync(used.dir)).toBe(true);
      const file = await services.registry.openVersionArtifact(name, used.version, 'MLmodel');
      expect(await text(file.stream)).toBe('model/MLmodel');
      rmSync(legacy, { recursive: true, force: true });
    });

    it('leaves a copy younger than a day, or than --older-than, for the next gc', async () => {
      const young = await leaveCopy(registryCopyFolder(now - REGISTRY_COPY_MIN_AGE_MS + 60_000));
      const older = await leaveCopy(registryCopyFolder(now - 3 * REGISTRY_COPY_MIN_AGE_MS));
      const results = await services.gc.collect({ olderThanMs: 4 * REGISTRY_COPY_MIN_AGE_MS });
      expect(results.filter((item) => item.kind === 'registry-copy')).toEqual([]);
      expect(existsSync(young)).toBe(true);
      expect(existsSync(older)).toBe(true);
      // Named runs or experiments: registry storage is not looked at.
      now += REGISTRY_COPY_MIN_AGE_MS;
      const runId = await runWithData();
      await services.runs.delete(runId, actor);
      expect(await services.gc.collect({ runIds: [runId] })).toEqual([
        { kind: 'run', id: runId, status: 'removed' },
      ]);
      expect(existsSync(young)).toBe(true);
      expect((await services.gc.collect()).filter((item) => item.kind === 'registry-copy')).toEqual([
        expect.objectContaining({ status: 'removed' }),
        expect.objectContaining({ status: 'removed' }),
      ]);
      expect(existsSync(young)).toBe(false);
      expect(existsSync(older)).toBe(false);
    });

    it('reports registry storage it cannot list as failed', async () => {
      const unreachable = unreachableStore();
      try {
        const broken = createServices(t.store, { artifacts: unreachable, clock: () => now });
        const results = await broken.gc.collect();
        expect(results.filter((item) => item.kind === 'registry-copy')).toEqual([
          { kind: 'registry-copy', id: 'registry', status: 'failed', reason: expect.any(String) },
        ]);
      } finally {
        await unreachable.close();
      }
    });
  });
});
