import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Deployment, KeelError, type ModelInput, serializeMLmodel } from '@keel/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportLinearModel, exportMlp } from '../../../../sdk/src/onnx/index.js';
import { joinArtifactPath } from '../../artifacts/artifact-path.js';
import { LocalArtifactStore } from '../../artifacts/local/local-artifact-store.js';
import { systemActor } from '../../changes/change.js';
import type { ModelOutput } from '../../models/model.js';
import { createServices, type Services } from '../../services/services.js';
import type { BatchObserver } from '../../serving/batcher.js';
import { countingArtifactStore } from '../../testing/counting-artifact-store.js';
import { onnxModelFiles, registerModelVersion } from '../../testing/registered-models.js';
import { float32Tensors } from '../../testing/serving-fixtures.js';
import { createTestStore, type TestStore, testDialects } from '../../testing/test-stores.js';
import { DeploymentRuntime, type DeploymentRuntimeOptions } from './deployment-runtime.js';
import type { ArmLabels, DeploymentLease } from './deployment-snapshot.js';

const dialects = await testDialects();
const actor = systemActor('runtime-test');

const SIGNATURE = {
  inputs: float32Tensors({ input: [-1, 2] }),
  outputs: float32Tensors({ output: [-1, 1] }),
};
/** Version 1 answers `x0 + x1 + 100`, version 2 `x0 + x1 + 200` (an MLP), version 3 cannot load. */
const V1 = exportLinearModel({ weights: [[1, 1]], bias: [100], activation: 'none' });
const V2 = exportMlp({
  layers: [
    { weights: [[1, 1]], bias: [0], activation: 'none' },
    { weights: [[1]], bias: [200], activation: 'none' },
  ],
});
const EXAMPLE = { inputs: { input: [[1, 2]] } };

const input = (x0: number, x1: number): ModelInput => ({
  kind: 'tensors',
  tensors: { input: { data: [x0, x1], shape: [1, 2] } },
});
const value = (output: ModelOutput): number => {
  if (output.kind !== 'tensors') throw new Error('expected tensors');
  return Math.round(output.tensors.output?.data[0] ?? Number.NaN);
};
/** Which version answered, from the bias. */
const versionOf = (output: ModelOutput): string => String(Math.round((value(output) - 3) / 100));

async function predictOnce(lease: DeploymentLease, arm = 0): Promise<string> {
  const chosen = lease.arms[arm];
  if (chosen === undefined) throw new Error(`no arm ${arm}`);
  return versionOf(await chosen.predict(input(1, 2)));
}

function keelError(fn: () => unknown): KeelError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeelError);
    return error as KeelError;
  }
  throw new Error('expected a KeelError');
}

describe.each(dialects)('DeploymentRuntime (%s)', (dialect) => {
  let store: TestStore;
  let root: string;
  let artifacts: LocalArtifactStore;
  let services: Services;
  const runtimes: DeploymentRuntime[] = [];

  const newRuntime = (options: Partial<DeploymentRuntimeOptions> = {}) => {
    const runtime = new DeploymentRuntime({
      deployments: services.deployments,
      registry: services.registry,
      artifacts,
      cacheDir: join(root, 'cache'),
      pollIntervalMs: 60_000,
      idleEvictMs: 0,
      ...options,
    });
    runtimes.push(runtime);
    return runtime;
  };
  const deploy = (name: string, spec: unknown) => services.deployments.create(actor, { name, spec });
  const routes = (...models: string[]) => ({
    routes: models.map((model, i) => ({ name: `r${i}`, model, weight: 1 })),
  });
  const versionsLoaded = (runtime: DeploymentRuntime) =>
    runtime
      .loadedModels()
      .map((m) => `${m.name}/${m.version}:${m.users}`)
      .sort();

  beforeAll(async () => {
    store = await createTestStore(dialect);
    root = await mkdtemp(join(tmpdir(), 'keel-runtime-test-'));
    artifacts = new LocalArtifactStore(join(root, 'artifacts'));
    services = createServices(store.store, { artifacts });
    const files = (bytes: Uint8Array) =>
      onnxModelFiles(bytes, { signature: SIGNATURE, servingInputExample: EXAMPLE });
    await registerModelVersion(services, artifacts, 'fraud', files(V1));
    await registerModelVersion(services, artifacts, 'fraud', files(V2));
    await services.registry.setAlias('fraud', 'champion', '1', actor);
    await services.registry.transitionStage('fraud', '2', 'Production', false, actor);
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
    for (const d of await services.deployments.list()) await services.deployments.delete(actor, d.name);
    await services.registry.setAlias('fraud', 'champion', '1', actor);
  });
  afterAll(async () => {
    await store?.dispose();
    await artifacts?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves pinned and floating routes and a shadow, sharing loaded versions between deployments', async () => {
    await deploy('canary', {
      routes: [
        { name: 'stable', model: 'models:/fraud@champion', weight: 9 },
        { name: 'next', model: 'models:/fraud/2', weight: 1 },
      ],
      shadow: { model: 'models:/fraud/Production' },
    });
    await deploy('pinned', routes('models:/fraud/1'));
    const observed: { labels: ArmLabels; rows: number }[] = [];
    const runtime = newRuntime({
      batchObserver: (labels): BatchObserver => ({
        batch: (rows) => observed.push({ labels, rows }),
        queueDepth: () => undefined,
      }),
    });
    expect(runtime.ready('canary')).toBe(false);
    await runtime.start();
    expect(runtime.names()).toEqual(['canary', 'pinned']);
    expect(runtime.ready('canary')).toBe(true);
    expect(runtime.ready('pinned')).toBe(true);

    const lease = runtime.lease('canary');
    expect(lease.deployment).toBe('canary');
    expect(lease.revision).toBe(1);
    expect(lease.arms.map((a) => [a.name, a.weight, a.modelName, a.modelVersion])).toEqual([
      ['stable', 9, 'fraud', '1'],
      ['next', 1, 'fraud', '2'],
    ]);
    expect(lease.shadow?.name).toBe('shadow');
    expect(lease.shadow?.modelVersion).toBe('2');
    expect(lease.arms[0]?.modelDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(lease.arms[0]?.modelDigest).not.toBe(lease.arms[1]?.modelDigest);
    expect(await predictOnce(lease, 0)).toBe('1');
    expect(await predictOnce(lease, 1)).toBe('2');
    expect(versionOf(await (lease.shadow as NonNullable<typeof lease.shadow>).predict(input(1, 2)))).toBe(
      '2',
    );

    const other = runtime.lease('pinned');
    // One loaded model per version, however many arms and deployments use it.
    expect(other.arms[0]?.model).toBe(lease.arms[0]?.model);
    expect(lease.shadow?.model).toBe(lease.arms[1]?.model);
    expect(versionsLoaded(runtime)).toEqual(['fraud/1:2', 'fraud/2:2']);
    lease.release();
    other.release();

    expect(runtime.statusOf('canary')).toMatchObject({
      deployment: 'canary',
      state: 'serving',
      desired_revision: 1,
      serving_revision: 1,
    });
    expect(runtime.statusOf('canary')?.error).toBeUndefined();
    expect(runtime.statusOf('canary')?.arms[0]).toEqual({
      name: 'stable',
      model_name: 'fraud',
      model_version: '1',
      model_digest: lease.arms[0]?.modelDigest,
    });
    expect(runtime.statusOf('canary')?.arms.map((a) => `${a.name}=${a.model_version}`)).toEqual([
      'stable=1',
      'next=2',
      'shadow=2',
    ]);
    // Each arm's batcher reports under the arm's labels.
    expect(observed.map((o) => `${o.labels.deployment}/${o.labels.arm}=${o.labels.modelVersion}`)).toEqual([
      'canary/stable=1',
      'canary/next=2',
      'canary/shadow=2',
    ]);

    expect(keelError(() => runtime.lease('nope')).code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(runtime.ready('nope')).toBe(false);
    expect(runtime.statusOf('nope')).toBeUndefined();
  });

  it('moves to a new alias target under continuous load without failing a request', async () => {
    await deploy('live', routes('models:/fraud@champion'));
    const runtime = newRuntime();
    await runtime.start();
    let stop = false;
    let afterSwitch = 0;
    let switched = false;
    const failures: unknown[] = [];
    const seen: string[][] = [];
    const client = async (id: number) => {
      seen[id] = [];
      while (!stop) {
        let lease: DeploymentLease;
        try {
          lease = runtime.lease('live');
        } catch (error) {
          failures.push(error);
          return;
        }
        try {
          const version = await predictOnce(lease);
          seen[id]?.push(version);
          if (switched) afterSwitch++;
        } catch (error) {
          failures.push(error);
        } finally {
          lease.release();
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, i) => client(i));
    await vi.waitFor(() => expect(seen.flat().length).toBeGreaterThan(200), { timeout: 10_000, interval: 5 });
    await services.registry.setAlias('fraud', 'champion', '2', actor);
    const refreshed = runtime.refresh();
    await refreshed;
    switched = true;
    await vi.waitFor(() => expect(afterSwitch).toBeGreaterThan(200), { timeout: 10_000, interval: 5 });
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    for (const versions of seen) {
      // Each client saw version 1, then version 2, and never went back.
      const first2 = versions.indexOf('2');
      expect(versions[0]).toBe('1');
      expect(first2).toBeGreaterThan(0);
      expect(versions.slice(first2).every((v) => v === '2')).toBe(true);
    }
    // The old snapshot drained and let go of version 1, which nothing else uses.
    await vi.waitFor(() => expect(versionsLoaded(runtime)).toEqual(['fraud/2:1']), { timeout: 5000 });
    expect(runtime.statusOf('live')).toMatchObject({ state: 'serving', serving_revision: 1 });
  });

  it('keeps an old snapshot, and its model, until the last lease taken on it is released', async () => {
    await deploy('drain', routes('models:/fraud@champion'));
    const runtime = newRuntime();
    await runtime.start();
    const old = runtime.lease('drain');
    await services.registry.setAlias('fraud', 'champion', '2', actor);
    await runtime.refresh();
    const fresh = runtime.lease('drain');
    expect(fresh.arms[0]?.modelVersion).toBe('2');
    // The old lease still answers with version 1 after the switch.
    expect(old.arms[0]?.modelVersion).toBe('1');
    expect(await predictOnce(old)).toBe('1');
    expect(await predictOnce(fresh)).toBe('2');
    expect(versionsLoaded(runtime)).toEqual(['fraud/1:1', 'fraud/2:1']);
    old.release();
    await vi.waitFor(() => expect(versionsLoaded(runtime)).toEqual(['fraud/2:1']), { timeout: 5000 });
    // The drained snapshot's arm no longer takes work.
    const late = await old.arms[0]?.predict(input(1, 2)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((late as KeelError).code).toBe('TEMPORARILY_UNAVAILABLE');
    fresh.release();
  });

  it('switches on a new revision and drains a deleted deployment', async () => {
    await deploy('rev', routes('models:/fraud/1'));
    const runtime = newRuntime();
    await runtime.start();
    const first = runtime.lease('rev');
    expect(first.revision).toBe(1);
    first.release();
    await services.deployments.update(actor, 'rev', {
      spec: {
        routes: [
          { name: 'a', model: 'models:/fraud/1', weight: 3 },
          { name: 'b', model: 'models:/fraud/latest', weight: 1 },
        ],
        batching: { maxBatchSize: 1, maxDelayMs: 0 },
      },
    });
    await runtime.refresh();
    const lease = runtime.lease('rev');
    expect(lease.revision).toBe(2);
    expect(lease.arms.map((a) => `${a.name}:${a.weight}=${a.modelVersion}`)).toEqual(['a:3=1', 'b:1=2']);
    expect(lease.spec.batching).toEqual({ maxBatchSize: 1, maxDelayMs: 0 });
    expect(await predictOnce(lease, 1)).toBe('2');
    lease.release();

    // A refresh with nothing changed keeps the snapshot.
    await runtime.refresh();
    const same = runtime.lease('rev');
    expect(same.arms[0]).toBe(lease.arms[0]);
    same.release();

    await services.deployments.delete(actor, 'rev');
    await runtime.refresh();
    expect(keelError(() => runtime.lease('rev')).code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(runtime.ready('rev')).toBe(false);
    await vi.waitFor(() => expect(versionsLoaded(runtime)).toEqual([]), { timeout: 5000 });
  });

  it('marks only the deployment whose model cannot be resolved as not ready, and retries at every poll', async () => {
    await deploy('good', routes('models:/fraud/1'));
    await deploy('missing-alias', routes('models:/fraud/1', 'models:/fraud@challenger'));
    await deploy('missing-model', routes('models:/nobody/1'));
    const runtime = newRuntime({ pollIntervalMs: 50 });
    await runtime.start();
    expect(runtime.ready('good')).toBe(true);
    for (const name of ['missing-alias', 'missing-model']) {
      expect(runtime.ready(name)).toBe(false);
      const error = keelError(() => runtime.lease(name));
      expect(error.code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(error.message).toContain('cannot resolve its models');
      const status = runtime.statusOf(name);
      expect(status).toMatchObject({ state: 'failed', desired_revision: 1, arms: [] });
      expect(status?.serving_revision).toBeUndefined();
      expect(status?.error).toMatchObject({ revision: 1 });
      expect(status?.error?.message).toContain('cannot resolve its models');
    }
    // The next poll picks up the alias once it exists.
    await services.registry.setAlias('fraud', 'challenger', '2', actor);
    await vi.waitFor(() => expect(runtime.ready('missing-alias')).toBe(true), { timeout: 5000 });
    const lease = runtime.lease('missing-alias');
    expect(lease.arms.map((a) => a.modelVersion)).toEqual(['1', '2']);
    lease.release();
    expect(runtime.ready('missing-model')).toBe(false);
    await services.registry.deleteAlias('fraud', 'challenger', actor);
  });

  it('follows an alias at the next poll, without refresh()', async () => {
    await deploy('polled', routes('models:/fraud@champion'));
    const runtime = newRuntime({ pollIntervalMs: 50 });
    await runtime.start();
    const first = runtime.lease('polled');
    expect(first.arms[0]?.modelVersion).toBe('1');
    first.release();
    await services.registry.setAlias('fraud', 'champion', '2', actor);
    await vi.waitFor(
      () => {
        const lease = runtime.lease('polled');
        lease.release();
        expect(lease.arms[0]?.modelVersion).toBe('2');
      },
      { timeout: 5000 },
    );
  });

  it('keeps serving the old snapshot when the new version fails to load', async () => {
    await registerModelVersion(services, artifacts, 'brittle', onnxModelFiles(V1));
    await registerModelVersion(services, artifacts, 'brittle', {
      MLmodel: serializeMLmodel({ flavors: { sklearn: { pickled_model: 'model.pkl' } } }),
    });
    await services.registry.setAlias('brittle', 'champion', '1', actor);
    await deploy('holds', routes('models:/brittle@champion'));
    const runtime = newRuntime();
    await runtime.start();
    await services.registry.setAlias('brittle', 'champion', '2', actor);
    await runtime.refresh();
    expect(runtime.ready('holds')).toBe(true);
    const lease = runtime.lease('holds');
    expect(lease.arms[0]?.modelVersion).toBe('1');
    expect(await predictOnce(lease)).toBe('1');
    lease.release();
    expect(runtime.statusOf('holds')).toMatchObject({
      state: 'degraded',
      desired_revision: 1,
      serving_revision: 1,
      error: { revision: 1 },
    });
    expect(runtime.statusOf('holds')?.error?.message).toContain('cannot load its models');
    expect(runtime.statusOf('holds')?.error?.message).toContain('no supported flavor');
    // A deployment that never loaded stays not ready.
    await deploy('never', routes('models:/brittle/2'));
    await runtime.refresh();
    expect(runtime.ready('never')).toBe(false);
    expect(runtime.statusOf('never')).toMatchObject({ state: 'failed', desired_revision: 1, arms: [] });
    expect(runtime.statusOf('never')?.error?.message).toContain('no supported flavor');
    expect(keelError(() => runtime.lease('never')).message).toContain('revision 1 cannot load its models');
    expect(runtime.ready('holds')).toBe(true);
  });

  it('reports a revision that cannot load as degraded, retries it with backoff and serves it once fixed', async () => {
    const files = (bytes: Uint8Array) =>
      onnxModelFiles(bytes, { signature: SIGNATURE, servingInputExample: EXAMPLE });
    await registerModelVersion(services, artifacts, 'fragile', files(V1));
    await registerModelVersion(services, artifacts, 'fragile', files(V2));
    // Version 2's registry copy lost its model file: it cannot load until the file is back.
    const { storageLocation } = await services.registry.resolveModelUri('models:/fragile/2');
    const modelFile = joinArtifactPath(storageLocation as string, 'model.onnx');
    await artifacts.delete(modelFile);
    let now = 1_000_000;
    const failures: string[] = [];
    const states: string[] = [];
    const runtime = newRuntime({
      now: () => now,
      loadRetry: { initialDelayMs: 1000, maxDelayMs: 4000 },
      statusObserver: {
        loadFailed: (deployment) => failures.push(deployment),
        stateChanged: (deployment, state) => states.push(`${deployment}:${state}`),
      },
    });
    await deploy('fragile', routes('models:/fragile/1'));
    await runtime.start();
    await services.deployments.update(actor, 'fragile', { spec: routes('models:/fragile/2') });
    await runtime.refresh();

    const degraded = runtime.statusOf('fragile');
    expect(degraded).toMatchObject({
      deployment: 'fragile',
      state: 'degraded',
      desired_revision: 2,
      serving_revision: 1,
      error: { revision: 2, at: now },
    });
    expect(degraded?.arms.map((a) => `${a.name}=${a.model_name}/${a.model_version}`)).toEqual([
      'r0=fragile/1',
    ]);
    expect(degraded?.error?.message).toContain('cannot load its models');
    expect(runtime.ready('fragile')).toBe(true);
    const old = runtime.lease('fragile');
    expect(old.revision).toBe(1);
    expect(await predictOnce(old)).toBe('1');
    old.release();
    expect(failures).toEqual(['fragile']);

    // Retried at the next poll, then 1 s, 2 s, 4 s, 4 s… after each failure; polls between load nothing.
    const failuresAfter = async (ms: number) => {
      now += ms;
      await runtime.refresh();
      return failures.length;
    };
    expect(await failuresAfter(0)).toBe(2);
    expect(await failuresAfter(0)).toBe(2);
    expect(await failuresAfter(999)).toBe(2);
    expect(await failuresAfter(1)).toBe(3);
    expect(await failuresAfter(1999)).toBe(3);
    expect(await failuresAfter(1)).toBe(4);
    expect(runtime.statusOf('fragile')?.error?.at).toBe(now);
    expect(await failuresAfter(3999)).toBe(4);

    // The registry copy is whole again: the next retry serves revision 2.
    await artifacts.put(modelFile, Readable.from([Buffer.from(V2)]), { size: V2.length });
    expect(runtime.statusOf('fragile')?.state).toBe('degraded');
    expect(await failuresAfter(1)).toBe(4);
    const fixed = runtime.statusOf('fragile');
    expect(fixed).toMatchObject({ state: 'serving', desired_revision: 2, serving_revision: 2 });
    expect(fixed?.error).toBeUndefined();
    const lease = runtime.lease('fragile');
    expect(await predictOnce(lease)).toBe('2');
    lease.release();
    expect(states).toEqual([
      'fragile:loading',
      'fragile:serving',
      'fragile:loading',
      'fragile:degraded',
      'fragile:serving',
    ]);
  });

  it('reuses the copies another runtime made in the same cache folder without downloading them', async () => {
    await deploy('shared', routes('models:/fraud/1', 'models:/fraud/2'));
    const cacheDir = join(root, `shared-cache-${dialect}`);
    const first = countingArtifactStore(artifacts);
    const one = newRuntime({ artifacts: first.store, cacheDir });
    await one.start();
    // Two versions of three files each (model, MLmodel, serving input example).
    expect(first.reads).toHaveLength(6);
    const digests = one.statusOf('shared')?.arms.map((a) => a.model_digest);
    await one.stop();

    const second = countingArtifactStore(artifacts);
    const two = newRuntime({ artifacts: second.store, cacheDir });
    await two.start();
    expect(second.reads).toEqual([]);
    expect(two.statusOf('shared')?.arms.map((a) => a.model_digest)).toEqual(digests);
    const lease = two.lease('shared');
    expect([await predictOnce(lease, 0), await predictOnce(lease, 1)]).toEqual(['1', '2']);
    lease.release();
  });

  it('refuses run URIs and external sources, and closes everything on stop', async () => {
    const listed: Deployment[] = [
      {
        name: 'runs',
        revision: 1,
        spec: { routes: [{ name: 'r', model: 'runs:/abc/model', weight: 1 }] },
        creation_timestamp: 1,
        last_updated_timestamp: 1,
      },
      {
        name: 'ok',
        revision: 1,
        spec: { routes: [{ name: 'r', model: 'models:/fraud/1', weight: 1 }] },
        creation_timestamp: 1,
        last_updated_timestamp: 1,
      },
    ];
    const runtime = newRuntime({ deployments: { list: async () => listed } });
    await runtime.start();
    expect(runtime.statusOf('runs')?.error?.message).toContain('deployments serve registered models');
    expect(runtime.ready('ok')).toBe(true);
    const lease = runtime.lease('ok');
    await runtime.stop();
    expect(runtime.loadedModels()).toEqual([]);
    expect(keelError(() => runtime.lease('ok')).code).toBe('TEMPORARILY_UNAVAILABLE');
    const late = await lease.arms[0]?.predict(input(1, 2)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((late as KeelError).code).toBe('TEMPORARILY_UNAVAILABLE');
    lease.release();
  });
});
