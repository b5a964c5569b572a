import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { LocalArtifactStore } from '../artifacts/local/local-artifact-store.js';
import { systemActor } from '../changes/change.js';
import type { PredictionRecordInput } from '../predictions/prediction-record.js';
import { createServices, type Services } from '../services/services.js';
import { registerModelVersion } from '../testing/registered-models.js';
import type { JsonBody } from '../testing/test-app.js';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

function prediction(i: number, deployment: string, version: string, arm = 'route-0'): PredictionRecordInput {
  return {
    requestId: `${deployment}-${i}`,
    deployment,
    deploymentRevision: 1,
    modelName: 'fraud',
    modelVersion: version,
    arm,
    caller: 'alice',
    protocol: 'v2',
    receivedAt: 1_750_000_000_000 + i,
    completedAt: 1_750_000_000_001 + i,
    status: 200,
    inputJson: '{"inputs":[]}',
    outputJson: '{"outputs":[]}',
    recording: { mode: 'hash' },
  };
}

describe.each(dialects)(
  'lineage downstream of a model version: deployments and predictions (%s)',
  (dialect) => {
    let store: TestStore;
    let services: Services;
    let app: FastifyInstance;
    let dir: string;

    beforeAll(async () => {
      store = await createTestStore(dialect);
      dir = mkdtempSync(join(tmpdir(), 'keel-lineage-deployments-'));
      const artifacts = new LocalArtifactStore(dir);
      services = createServices(store.store, { artifacts, predictionSpillDir: join(dir, 'spill') });
      app = await buildApp({
        store: store.store,
        config: { artifactsDestination: pathToFileURL(dir).href, logLevel: 'silent' },
        logger: false,
        services,
      });
      for (let v = 0; v < 3; v++) await registerModelVersion(services, artifacts, 'fraud', { MLmodel: 'x' });
      const actor = systemActor('test');
      await services.registry.setAlias('fraud', 'champion', '2', actor);
      await services.deployments.create(actor, {
        name: 'fraud-api',
        spec: {
          routes: [
            { name: 'stable', model: 'models:/fraud@champion', weight: 9 },
            { name: 'canary', model: 'models:/fraud/3', weight: 1 },
          ],
          shadow: { model: 'models:/fraud/2' },
        },
      });
      await services.deployments.create(actor, {
        name: 'batch-scoring',
        spec: { routes: [{ name: 'only', model: 'models:/fraud/latest', weight: 1 }] },
      });
      const recorder = services.predictionRecorder;
      for (let i = 0; i < 7; i++) recorder.record(prediction(i, 'fraud-api', '2', 'stable'));
      for (let i = 0; i < 2; i++) recorder.record(prediction(100 + i, 'fraud-api', '2', 'shadow'));
      for (let i = 0; i < 3; i++) recorder.record(prediction(200 + i, 'old-api', '2'));
      for (let i = 0; i < 4; i++) recorder.record(prediction(300 + i, 'fraud-api', '3', 'canary'));
      await recorder.flush();
    });
    afterAll(async () => {
      await app?.close();
      await store?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const lineage = async (version: string) => {
      const res = await app.inject({
        method: 'GET',
        url: `/api/2.0/keel/lineage?model=fraud&version=${version}`,
      });
      expect(res.statusCode).toBe(200);
      return res.json() as JsonBody;
    };
    const deploymentsOf = (graph: JsonBody) => ({
      nodes: graph.nodes.filter((n: JsonBody) => n.kind === 'deployment'),
      edges: graph.edges.filter((e: JsonBody) => e.kind === 'serves'),
    });

    it('links a version to the deployments serving it now and those that served it, with prediction counts', async () => {
      const graph = await lineage('2');
      const { nodes, edges } = deploymentsOf(graph);
      expect(nodes).toEqual([
        {
          id: 'deployment:fraud-api',
          kind: 'deployment',
          name: 'fraud-api',
          serving: true,
          revision: 1,
          arms: ['stable', 'shadow'],
          prediction_count: 9,
        },
        {
          id: 'deployment:old-api',
          kind: 'deployment',
          name: 'old-api',
          serving: false,
          prediction_count: 3,
        },
      ]);
      expect(edges).toEqual([
        { from: 'deployment:fraud-api', to: 'model_version:fraud/2', kind: 'serves' },
        { from: 'deployment:old-api', to: 'model_version:fraud/2', kind: 'serves' },
      ]);
    });

    it('resolves floating references (latest) and shows deployments without predictions yet', async () => {
      const { nodes } = deploymentsOf(await lineage('3'));
      expect(nodes).toEqual([
        {
          id: 'deployment:batch-scoring',
          kind: 'deployment',
          name: 'batch-scoring',
          serving: true,
          revision: 1,
          arms: ['only'],
          prediction_count: 0,
        },
        {
          id: 'deployment:fraud-api',
          kind: 'deployment',
          name: 'fraud-api',
          serving: true,
          revision: 1,
          arms: ['canary'],
          prediction_count: 4,
        },
      ]);
      expect(deploymentsOf(await lineage('1')).nodes).toEqual([]);
    });
  },
);
