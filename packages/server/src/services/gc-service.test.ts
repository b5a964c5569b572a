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
import { createServices, type Services } from './services.js';

const actor = systemActor('gc-test');

const dialects = await testDialects();

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
    // A real S3 client pointed at a port where nothing listens: every delete fails.
    const unreachable = new S3ArtifactStore({
      bucket: 'nowhere',
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
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
});
