import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeMLmodel } from '@keel/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLinearModel } from '../../../sdk/src/onnx/index.js';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { systemActor } from '../changes/change.js';
import { installErrorHandler } from '../http/error-handler.js';
import { createServices, type Services } from '../services/services.js';
import { onnxModelFiles, registerModelVersion } from '../testing/registered-models.js';
import { createTestStore, type TestStore } from '../testing/test-stores.js';
import { hostDeployments } from './host-deployments.js';
import type { DeploymentRuntime } from './runtime/deployment-runtime.js';

const actor = systemActor('host-deployments-test');

describe('hostDeployments: readiness and load status', () => {
  let store: TestStore;
  let root: string;
  let artifacts: LocalArtifactStore;
  let services: Services;
  let app: FastifyInstance;
  let runtime: DeploymentRuntime;

  const ready = async (name: string) => {
    const res = await app.inject({ method: 'GET', url: `/deployments/${name}/ready` });
    return { status: res.statusCode, body: res.json() };
  };
  /** The value of `series{deployment="name"}` on /metrics. */
  const metric = async (series: string, deployment: string) => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = text.split('\n').find((l) => l.startsWith(`${series}{deployment="${deployment}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  beforeAll(async () => {
    store = await createTestStore('sqlite');
    root = await mkdtemp(join(tmpdir(), 'keel-host-deployments-'));
    artifacts = new LocalArtifactStore(join(root, 'artifacts'));
    services = createServices(store.store, { artifacts, predictionSpillDir: join(root, 'spill') });
    const linear = exportLinearModel({ weights: [[1, 1]], bias: [100], activation: 'none' });
    await registerModelVersion(services, artifacts, 'fraud', onnxModelFiles(linear));
    // Version 2 has no flavor Keel can load.
    await registerModelVersion(services, artifacts, 'fraud', {
      MLmodel: serializeMLmodel({ flavors: { sklearn: { pickled_model: 'model.pkl' } } }),
    });
    await services.registry.setAlias('fraud', 'champion', '1', actor);
    await services.deployments.create(actor, {
      name: 'steady',
      spec: { routes: [{ name: 'main', model: 'models:/fraud@champion', weight: 1 }] },
    });
    await services.deployments.create(actor, {
      name: 'doomed',
      spec: { routes: [{ name: 'main', model: 'models:/fraud/2', weight: 1 }] },
    });
    app = Fastify();
    installErrorHandler(app);
    runtime = hostDeployments(app, {
      services,
      artifacts,
      cacheDir: join(root, 'cache'),
      pollIntervalMs: 60_000,
      idleEvictMs: 0,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await services?.predictionRecorder.close();
    await store?.dispose();
    await artifacts?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('answers /ready with the state, the revisions and the latest error', async () => {
    expect(await ready('steady')).toEqual({
      status: 200,
      body: { name: 'steady', ready: true, state: 'serving', desired_revision: 1, serving_revision: 1 },
    });
    const doomed = await ready('doomed');
    expect(doomed).toEqual({
      status: 503,
      body: {
        name: 'doomed',
        ready: false,
        state: 'failed',
        desired_revision: 1,
        error: {
          message: expect.stringContaining('cannot load its models'),
          revision: 1,
          at: expect.any(Number),
        },
      },
    });
    expect(doomed.body.error.message).toContain('no supported flavor');
    expect((await app.inject({ method: 'GET', url: '/deployments/nope/ready' })).statusCode).toBe(404);
  });

  it('stays ready on the old version, as degraded, while the alias points at one that cannot load', async () => {
    await services.registry.setAlias('fraud', 'champion', '2', actor);
    await runtime.refresh();
    const degraded = await ready('steady');
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({
      ready: true,
      state: 'degraded',
      desired_revision: 1,
      serving_revision: 1,
      error: { revision: 1 },
    });
    expect(degraded.body.error.message).toContain('no supported flavor');
    const answer = await app.inject({
      method: 'POST',
      url: '/deployments/steady/invocations',
      payload: { inputs: [[1, 2]] },
    });
    expect(answer.json()).toEqual({ predictions: [[103]] });
    expect(await metric('keel_deployment_degraded', 'steady')).toBe(1);
    expect(await metric('keel_deployment_degraded', 'doomed')).toBe(0);
    expect(await metric('keel_deployment_load_failures_total', 'steady')).toBe(1);
    expect(await metric('keel_deployment_load_failures_total', 'doomed')).toBeGreaterThanOrEqual(1);

    // The alias back on the loaded version: serving what it should again.
    await services.registry.setAlias('fraud', 'champion', '1', actor);
    await runtime.refresh();
    expect((await ready('steady')).body).toEqual({
      name: 'steady',
      ready: true,
      state: 'serving',
      desired_revision: 1,
      serving_revision: 1,
    });
    expect(await metric('keel_deployment_degraded', 'steady')).toBe(0);
    expect(await metric('keel_deployment_load_failures_total', 'steady')).toBe(1);
  });

  it('exports the prediction recorder: records recorded, stored and buffered', async () => {
    const series = async (name: string) => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      return Object.fromEntries(
        text
          .split('\n')
          .filter((l) => l.startsWith(name))
          .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.split(' ').pop())]),
      );
    };
    await services.predictionRecorder.flush();
    const before = await series('keel_prediction_records_total');
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/deployments/steady/invocations',
        payload: { inputs: [[i, 1]] },
      });
      expect(res.statusCode).toBe(200);
    }
    await services.predictionRecorder.flush();
    const after = await series('keel_prediction_records_total');
    const grew = (outcome: string) => {
      const key = `keel_prediction_records_total{outcome="${outcome}"}`;
      return (after[key] ?? Number.NaN) - (before[key] ?? 0);
    };
    expect(grew('recorded')).toBe(3);
    expect(grew('stored')).toBe(3);
    expect(grew('spilled')).toBe(0);
    expect(grew('dropped')).toBe(0);
    expect(await series('keel_prediction_records_buffered')).toEqual({ keel_prediction_records_buffered: 0 });
  });
});
