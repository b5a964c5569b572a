// Keel against a real third-party MLflow client: the npm package `mlflow` (2.0.7, a REST wrapper
// over MLflow's 2.0 endpoints), used exactly as its README shows.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../packages/server/src/index.js';
import { createTestStore, type TestStore, testDialects } from '../packages/server/src/testing/test-stores.js';

const require = createRequire(import.meta.url);
const MLflow = require('mlflow') as new (options: { endpoint: string }) => MlflowClient;

// The shapes this client returns are MLflow's wire messages; only what the test reads is typed.
interface MlflowClient {
  Experiments: {
    create(a: { name: string }): Promise<{ experiment_id: string }>;
    list(a?: { view_type?: string }): Promise<{ experiments: { name: string; experiment_id: string }[] }>;
    get(a: { experiment_id: string }): Promise<{ experiment: { name: string } }>;
    update(a: { experiment_id: string; new_name: string }): Promise<object>;
    delete(a: { experiment_id: string }): Promise<object>;
  };
  Runs: {
    create(a: {
      experiment_id: string;
      start_time: number;
      tags?: object[];
    }): Promise<{ run: { info: { run_id: string } } }>;
    logMetric(a: {
      run_id: string;
      key: string;
      value: number;
      timestamp: number;
      step?: number;
    }): Promise<object>;
    logParameter(a: { run_id: string; key: string; value: string }): Promise<object>;
    setTag(a: { run_id: string; key: string; value: string }): Promise<object>;
    logBatch(a: { run_id: string; metrics?: object[]; params?: object[]; tags?: object[] }): Promise<object>;
    search(a: {
      experiment_ids: string[];
      filter?: string;
      order_by?: string[];
    }): Promise<{ runs?: { info: { run_id: string; status: string } }[] }>;
    update(a: {
      run_id: string;
      status: string;
      end_time: number;
    }): Promise<{ run_info: { status: string } }>;
    get(a: { run_id: string }): Promise<{ run: { data: { params: object[]; metrics: object[] } } }>;
  };
  Metrics: {
    getHistory(a: {
      run_id: string;
      metric_key: string;
    }): Promise<{ metrics: { step: number; value: number }[] }>;
  };
}

const dialects = await testDialects();

describe.each(dialects)('the npm `mlflow` client against Keel on %s', (dialect) => {
  let store: TestStore;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let client: MlflowClient;

  beforeAll(async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined); // the client logs every POST body
    store = await createTestStore(dialect);
    app = await buildApp({
      store: store.store,
      config: { artifactsDestination: 'file:///tmp/x', logLevel: 'silent' },
      logger: false,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    client = new MLflow({ endpoint: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await store?.dispose();
  });

  it('runs the README workflow: experiments, runs, metrics, params, search, history', async () => {
    const { experiment_id } = await client.Experiments.create({ name: 'npm-client' });
    const listed = await client.Experiments.list();
    expect(listed.experiments.map((e) => e.name)).toEqual(expect.arrayContaining(['Default', 'npm-client']));
    await client.Experiments.update({ experiment_id, new_name: 'npm-client-2' });
    expect((await client.Experiments.get({ experiment_id })).experiment.name).toBe('npm-client-2');

    const { run } = await client.Runs.create({
      experiment_id,
      start_time: Date.now(),
      tags: [{ key: 'mlflow.user', value: 'js' }],
    });
    const runId = run.info.run_id;
    for (let step = 0; step < 5; step++) {
      await client.Runs.logMetric({
        run_id: runId,
        key: 'auc_score',
        value: 0.5 + step / 10,
        timestamp: Date.now(),
        step,
      });
    }
    await client.Runs.logParameter({ run_id: runId, key: 'depth', value: '6' });
    await client.Runs.setTag({ run_id: runId, key: 'team', value: 'js' });
    await client.Runs.logBatch({
      run_id: runId,
      metrics: [{ key: 'loss', value: 0.1, timestamp: Date.now(), step: 0 }],
    });
    const updated = await client.Runs.update({ run_id: runId, status: 'FINISHED', end_time: Date.now() });
    expect(updated.run_info.status).toBe('FINISHED');

    const { runs } = await client.Runs.search({
      experiment_ids: [experiment_id],
      filter: "params.depth = '6'",
      order_by: ['metrics.auc_score DESC'],
    });
    expect(runs?.map((r) => r.info.run_id)).toEqual([runId]);
    const history = await client.Metrics.getHistory({ run_id: runId, metric_key: 'auc_score' });
    expect(history.metrics.map((m) => m.step)).toEqual([0, 1, 2, 3, 4]);
    expect(history.metrics[4]?.value).toBeCloseTo(0.9);

    const got = await client.Runs.get({ run_id: runId });
    expect(got.run.data.params).toEqual([{ key: 'depth', value: '6' }]);

    await expect(client.Runs.logParameter({ run_id: runId, key: 'depth', value: '7' })).rejects.toThrow(
      /INVALID_PARAMETER_VALUE/,
    );
    await client.Experiments.delete({ experiment_id });
    const active = await client.Experiments.list({ view_type: 'ACTIVE_ONLY' });
    expect(active.experiments.map((e) => e.experiment_id)).not.toContain(experiment_id);
  });
});
