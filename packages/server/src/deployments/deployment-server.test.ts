import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportLinearModel } from '../../../sdk/src/onnx/index.js';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { systemActor } from '../changes/change.js';
import { createServices, type Services } from '../services/services.js';
import { onnxModelFiles, registerModelVersion } from '../testing/registered-models.js';
import { float32Tensors } from '../testing/serving-fixtures.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { buildDeploymentServer, type DeploymentServer } from './deployment-server.js';

const dialects = await testDialects();
const actor = systemActor('deployment-server-test');
const SIGNATURE = {
  inputs: float32Tensors({ input: [-1, 2] }),
  outputs: float32Tensors({ output: [-1, 1] }),
};
const linear = (bias: number) =>
  onnxModelFiles(exportLinearModel({ weights: [[1, 1]], bias: [bias], activation: 'none' }), {
    signature: SIGNATURE,
  });

describe.each(dialects)('keel serving app (%s)', (dialect) => {
  let store: TestStore;
  let root: string;
  let artifacts: LocalArtifactStore;
  /** The Keel server's services: where deployments and aliases change. */
  let services: Services;
  let server: DeploymentServer;

  beforeAll(async () => {
    store = await createTestStore(dialect);
    root = await mkdtemp(join(tmpdir(), 'keel-serving-app-'));
    artifacts = new LocalArtifactStore(join(root, 'artifacts'));
    services = createServices(store.store, { artifacts, predictionSpillDir: join(root, 'spill-main') });
    await registerModelVersion(services, artifacts, 'fraud', linear(100));
    await registerModelVersion(services, artifacts, 'fraud', linear(200));
    await services.registry.setAlias('fraud', 'champion', '1', actor);
    await services.deployments.create(actor, {
      name: 'fraud',
      spec: { routes: [{ name: 'main', model: 'models:/fraud@champion', weight: 1 }] },
    });
    server = await buildDeploymentServer({
      store: store.store,
      config: {
        artifactsDestination: pathToFileURL(join(root, 'artifacts')).href,
        logLevel: 'silent',
        predictionSpillDir: join(root, 'spill-serving'),
      },
      cacheDir: join(root, 'cache'),
      pollIntervalMs: 50,
      idleEvictMs: 0,
      processMetrics: false,
      logger: false,
    });
  });
  afterAll(async () => {
    await server?.app.close();
    await store?.dispose();
    await artifacts?.close();
    await rm(root, { recursive: true, force: true });
  });

  const invoke = async (name: string) => {
    const res = await server.app.inject({
      method: 'POST',
      url: `/deployments/${name}/invocations`,
      payload: { inputs: [[1, 2]] },
    });
    return { status: res.statusCode, body: res.json(), route: res.headers['x-keel-route'] };
  };

  it('serves the deployments of the store it reads, and follows changes made elsewhere', async () => {
    expect(server.runtime.ready('fraud')).toBe(true);
    expect(await invoke('fraud')).toEqual({ status: 200, body: { predictions: [[103]] }, route: 'main' });

    await services.registry.setAlias('fraud', 'champion', '2', actor);
    await vi.waitFor(async () => expect((await invoke('fraud')).body).toEqual({ predictions: [[203]] }), {
      timeout: 5000,
      interval: 20,
    });

    await services.deployments.create(actor, {
      name: 'pinned',
      spec: { routes: [{ name: 'v1', model: 'models:/fraud/1', weight: 1 }] },
    });
    await vi.waitFor(() => expect(server.runtime.ready('pinned')).toBe(true), { timeout: 5000 });
    expect(await invoke('pinned')).toEqual({ status: 200, body: { predictions: [[103]] }, route: 'v1' });

    expect((await invoke('nobody')).status).toBe(404);
    expect((await server.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await server.app.inject({ method: 'GET', url: '/deployments/pinned/ready' })).statusCode).toBe(
      200,
    );
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).payload;
    expect(metrics).toMatch(/keel_serving_requests_total\{[^}]*deployment="pinned"[^}]*version="1"/);
    expect(metrics).toMatch(/keel_serving_batch_rows_count\{[^}]*deployment="fraud"/);
  });

  it('writes a prediction record for every answered call to the shared store by the time it closes', async () => {
    const calls = 25;
    for (let i = 0; i < calls; i++) expect((await invoke('pinned')).status).toBe(200);
    await server.app.close();
    const { records } = await services.predictions.search({ deployment: 'pinned', maxResults: 1000 });
    // The first test's call plus these.
    expect(records).toHaveLength(calls + 1);
    expect(new Set(records.map((r) => `${r.model_name}/${r.model_version}/${r.arm}`))).toEqual(
      new Set(['fraud/1/v1']),
    );
    expect(records[0]?.model_digest).toMatch(/^[0-9a-f]{64}$/);
  });
});
