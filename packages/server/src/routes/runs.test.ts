import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

describe.each(dialects)('runs API on %s', (dialect) => {
  let t: TestApp;
  let experimentId: string;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    experimentId = (await t.post('experiments/create', { name: 'runs' })).body.experiment_id;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const newRun = async (body: Record<string, unknown> = {}) => {
    const res = await t.post('runs/create', { experiment_id: experimentId, ...body });
    expect(res.status).toBe(200);
    return res.body.run.info.run_id as string;
  };

  it('creates a run with MLflow system tags and a proxied artifact URI', async () => {
    const res = await t.post('runs/create', {
      experiment_id: experimentId,
      start_time: 1_700_000_000_000,
      tags: [
        { key: 'mlflow.user', value: 'ada' },
        { key: 'mlflow.source.name', value: 'train.py' },
      ],
    });
    expect(res.status).toBe(200);
    const { info, data } = res.body.run;
    expect(info.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(info.run_uuid).toBe(info.run_id);
    expect(info).toMatchObject({
      experiment_id: experimentId,
      user_id: 'ada',
      status: 'RUNNING',
      start_time: 1_700_000_000_000,
      lifecycle_stage: 'active',
      artifact_uri: `mlflow-artifacts:/${experimentId}/${info.run_id}/artifacts`,
    });
    expect(info.end_time).toBeUndefined();
    expect(info.run_name).toMatch(/\S+/);
    expect(data.tags).toEqual(
      expect.arrayContaining([
        { key: 'mlflow.runName', value: info.run_name },
        { key: 'mlflow.source.name', value: 'train.py' },
      ]),
    );
  });

  it('defaults to experiment 0 and rejects conflicting names', async () => {
    const res = await t.post('runs/create', { run_name: 'named' });
    expect(res.body.run.info).toMatchObject({ experiment_id: '0', run_name: 'named' });
    const conflict = await t.post('runs/create', {
      run_name: 'a',
      tags: [{ key: 'mlflow.runName', value: 'b' }],
    });
    expect(conflict.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const missingExperiment = await t.post('runs/create', { experiment_id: '424242' });
    expect(missingExperiment.status).toBe(404);
  });

  it('updates status, end time and name; reads with run_uuid', async () => {
    const runId = await newRun();
    const res = await t.post('runs/update', {
      run_uuid: runId,
      status: 'FINISHED',
      end_time: 1234,
      run_name: 'renamed',
    });
    expect(res.status).toBe(200);
    expect(res.body.run_info).toMatchObject({ status: 'FINISHED', end_time: 1234, run_name: 'renamed' });
    const got = await t.get('runs/get', { run_uuid: runId });
    expect(got.body.run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'renamed' });
    const badStatus = await t.post('runs/update', { run_id: runId, status: 'DONE' });
    expect(badStatus.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(badStatus.body.message).toContain("'status'");
    const unknown = await t.get('runs/get', { run_id: 'f'.repeat(32) });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('logs metrics, params and tags; params are write-once', async () => {
    const runId = await newRun();
    expect(
      (await t.post('runs/log-metric', { run_id: runId, key: 'loss', value: 0.5, timestamp: 10, step: 1 }))
        .status,
    ).toBe(200);
    await t.post('runs/log-metric', { run_id: runId, key: 'loss', value: 0.25, timestamp: 20, step: 2 });
    await t.post('runs/log-metric', { run_id: runId, key: 'loss', value: 0.9, timestamp: 5, step: 0 });
    await t.post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.01' });
    expect((await t.post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.01' })).status).toBe(
      200,
    );
    const changed = await t.post('runs/log-parameter', { run_id: runId, key: 'lr', value: '0.02' });
    expect(changed.status).toBe(400);
    expect(changed.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    await t.post('runs/set-tag', { run_id: runId, key: 'stage', value: 'a' });
    await t.post('runs/set-tag', { run_id: runId, key: 'stage', value: 'b' });
    const { data } = (await t.get('runs/get', { run_id: runId })).body.run;
    expect(data.metrics).toEqual([{ key: 'loss', value: 0.25, timestamp: 20, step: 2 }]);
    expect(data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    expect(data.tags).toContainEqual({ key: 'stage', value: 'b' });
    await t.post('runs/delete-tag', { run_id: runId, key: 'stage' });
    const after = (await t.get('runs/get', { run_id: runId })).body.run.data.tags;
    expect(after.find((tag: { key: string }) => tag.key === 'stage')).toBeUndefined();
    const noTag = await t.post('runs/delete-tag', { run_id: runId, key: 'stage' });
    expect(noTag.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('round-trips NaN and infinities sent as bare JSON tokens', async () => {
    const runId = await newRun();
    const payload = `{"run_id": "${runId}", "metrics": [
      {"key": "nan", "value": NaN, "timestamp": 1, "step": 0},
      {"key": "inf", "value": Infinity, "timestamp": 1, "step": 0},
      {"key": "ninf", "value": -Infinity, "timestamp": 1, "step": 0}]}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/runs/log-batch',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(200);
    const metrics = (await t.get('runs/get', { run_id: runId })).body.run.data.metrics;
    const byKey = Object.fromEntries(metrics.map((m: { key: string; value: unknown }) => [m.key, m.value]));
    expect(byKey).toEqual({ nan: 'NaN', inf: 'Infinity', ninf: '-Infinity' });
  });

  it('applies log-batch atomically with MLflow limits', async () => {
    const runId = await newRun();
    await t.post('runs/log-parameter', { run_id: runId, key: 'p', value: 'one' });
    const conflicting = await t.post('runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
      params: [{ key: 'p', value: 'two' }],
      tags: [{ key: 't', value: 'x' }],
    });
    expect(conflicting.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const untouched = (await t.get('runs/get', { run_id: runId })).body.run.data;
    expect(untouched.metrics).toBeUndefined();
    expect(untouched.tags.find((tag: { key: string }) => tag.key === 't')).toBeUndefined();

    const tooMany = await t.post('runs/log-batch', {
      run_id: runId,
      params: Array.from({ length: 101 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
    });
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badKey = await t.post('runs/log-batch', {
      run_id: runId,
      metrics: [
        { key: 'ok', value: 1, timestamp: 1 },
        { key: 'bad key!', value: 1, timestamp: 1 },
      ],
    });
    expect(badKey.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const missingTimestamp = await t.post('runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'x', value: 1 }],
    });
    expect(missingTimestamp.body.message).toContain('metrics[0].timestamp');
    const longValue = await t.post('runs/log-batch', {
      run_id: runId,
      params: [{ key: 'long', value: 'v'.repeat(6001) }],
    });
    expect(longValue.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect((await t.get('runs/get', { run_id: runId })).body.run.data.metrics).toBeUndefined();

    const ok = await t.post('runs/log-batch', {
      run_id: runId,
      metrics: Array.from({ length: 1000 }, (_, i) => ({
        key: 'acc',
        value: i / 1000,
        timestamp: 100 + i,
        step: i,
      })),
    });
    expect(ok.status).toBe(200);
    const history = await t.get('metrics/get-history', { run_id: runId, metric_key: 'acc' });
    expect(history.body.metrics).toHaveLength(1000);
  });

  it('refuses writes to deleted runs and restores them', async () => {
    const runId = await newRun();
    await t.post('runs/delete', { run_id: runId });
    expect((await t.get('runs/get', { run_id: runId })).body.run.info.lifecycle_stage).toBe('deleted');
    const write = await t.post('runs/log-metric', { run_id: runId, key: 'x', value: 1, timestamp: 1 });
    expect(write.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    await t.post('runs/restore', { run_id: runId });
    expect(
      (await t.post('runs/log-metric', { run_id: runId, key: 'x', value: 1, timestamp: 1 })).status,
    ).toBe(200);
  });

  it('links MLflow 3 logged models as run inputs and outputs', async () => {
    const runId = await newRun();
    expect(
      (
        await t.post('runs/log-inputs', {
          run_id: runId,
          models: [{ model_id: 'm-abc' }, { model_id: 'm-abc' }],
        })
      ).status,
    ).toBe(200);
    const outputs = await t.post('runs/outputs', {
      run_id: runId,
      models: [
        { model_id: 'm-out', step: 3 },
        { model_id: 'm-out', step: '7' },
      ],
    });
    expect(outputs.status).toBe(200);
    const run = (await t.get('runs/get', { run_id: runId })).body.run;
    expect(run.inputs.model_inputs).toEqual([{ model_id: 'm-abc' }]);
    expect(run.outputs.model_outputs).toEqual([
      { model_id: 'm-out', step: 3 },
      { model_id: 'm-out', step: 7 },
    ]);
    const missingStep = await t.post('runs/outputs', { run_id: runId, models: [{ model_id: 'm-x' }] });
    expect(missingStep.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(missingStep.body.message).toContain('models[0].step');
    const badId = await t.post('runs/log-inputs', { run_id: runId, models: [{ model_id: '../etc' }] });
    expect(badId.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('logs dataset inputs and models', async () => {
    const runId = await newRun();
    const dataset = {
      name: 'iris',
      digest: 'abc123',
      source_type: 'local',
      source: 'file:///iris.csv',
      schema: '{"mlflow_colspec":[]}',
    };
    const res = await t.post('runs/log-inputs', {
      run_id: runId,
      datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }],
    });
    expect(res.status).toBe(200);
    await t.post('runs/log-inputs', {
      run_id: runId,
      datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }],
    });
    const run = (await t.get('runs/get', { run_id: runId })).body.run;
    expect(run.inputs.dataset_inputs).toEqual([
      { tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset },
    ]);
    const summaries = await t.post('experiments/search-datasets', { experiment_ids: [experimentId] });
    expect(summaries.body.dataset_summaries).toContainEqual({
      experiment_id: experimentId,
      name: 'iris',
      digest: 'abc123',
      context: 'training',
    });
    const badDataset = await t.post('runs/log-inputs', {
      run_id: runId,
      datasets: [{ dataset: { name: 'x' } }],
    });
    expect(badDataset.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(badDataset.body.message).toContain('digest');

    const model = {
      artifact_path: 'model',
      flavors: { onnx: {} },
      utc_time_created: '2026-01-01 00:00:00.000000',
      run_id: runId,
    };
    expect(
      (await t.post('runs/log-model', { run_id: runId, model_json: JSON.stringify(model) })).status,
    ).toBe(200);
    await t.post('runs/log-model', {
      run_id: runId,
      model_json: JSON.stringify({ ...model, artifact_path: 'm2' }),
    });
    const tags = (await t.get('runs/get', { run_id: runId })).body.run.data.tags;
    const history = JSON.parse(
      tags.find((tag: { key: string }) => tag.key === 'mlflow.log-model.history').value,
    );
    expect(history.map((m: { artifact_path: string }) => m.artifact_path)).toEqual(['model', 'm2']);
    const incomplete = await t.post('runs/log-model', { run_id: runId, model_json: '{"flavors":{}}' });
    expect(incomplete.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});
