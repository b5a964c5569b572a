import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

/** Five runs with known metrics, params, tags and datasets; r4 lacks `acc`, r5 has acc NaN. */
const RUNS = [
  { name: 'r1', start: 1000, acc: 0.95, lr: '0.01', model: 'cnn', dataset: 'train-a' },
  { name: 'r2', start: 2000, acc: 0.85, lr: '0.01', model: 'mlp', dataset: 'train-b' },
  { name: 'r3', start: 3000, acc: 0.92, lr: '0.1', model: 'cnn', dataset: 'train-a' },
  { name: 'r4', start: 4000, acc: undefined, lr: '0.01', model: 'my model', dataset: undefined },
  { name: 'r5', start: 5000, acc: Number.NaN, lr: '1', model: 'mlp', dataset: undefined },
] as const;

describe.each(dialects)('runs/search on %s', (dialect) => {
  let t: TestApp;
  let experimentId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp(dialect);
    experimentId = (await t.post('experiments/create', { name: 'search' })).body.experiment_id;
    for (const r of RUNS) {
      const res = await t.post('runs/create', {
        experiment_id: experimentId,
        run_name: r.name,
        start_time: r.start,
      });
      const runId = res.body.run.info.run_id as string;
      ids[r.name] = runId;
      await t.post('runs/log-batch', {
        run_id: runId,
        metrics:
          r.acc === undefined
            ? []
            : [{ key: 'acc', value: Number.isNaN(r.acc) ? 'NaN' : r.acc, timestamp: 1, step: 0 }],
        params: [{ key: 'lr', value: r.lr }],
        tags: [{ key: 'model class', value: r.model }],
      });
      if (r.dataset) {
        await t.post('runs/log-inputs', {
          run_id: runId,
          datasets: [
            {
              tags: [{ key: 'mlflow.data.context', value: 'training' }],
              dataset: { name: r.dataset, digest: `d-${r.dataset}`, source_type: 'local', source: 'x' },
            },
          ],
        });
      }
    }
    await t.post('runs/update', { run_id: ids.r2, status: 'FINISHED', end_time: 2500 });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const names = async (body: Record<string, unknown>) => {
    const res = await t.post('runs/search', { experiment_ids: [experimentId], ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return ((res.body.runs ?? []) as { info: { run_name: string } }[]).map((r) => r.info.run_name);
  };

  it('orders by start_time DESC by default', async () => {
    expect(await names({})).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
  });

  it('filters on metrics, params, tags, attributes and datasets', async () => {
    expect(await names({ filter: 'metrics.acc > 0.9' })).toEqual(['r3', 'r1']);
    expect(await names({ filter: "params.lr = '0.01'" })).toEqual(['r4', 'r2', 'r1']);
    expect(await names({ filter: "tags.`model class` = 'cnn'" })).toEqual(['r3', 'r1']);
    expect(await names({ filter: 'tags."model class" LIKE \'my%\'' })).toEqual(['r4']);
    expect(await names({ filter: "tags.`model class` LIKE 'CNN'" })).toEqual([]);
    expect(await names({ filter: "tags.`model class` ILIKE 'CNN'" })).toEqual(['r3', 'r1']);
    expect(await names({ filter: "attributes.status = 'FINISHED'" })).toEqual(['r2']);
    expect(await names({ filter: "run_name != 'r1' AND start_time >= 3000" })).toEqual(['r5', 'r4', 'r3']);
    expect(await names({ filter: `attributes.run_id IN ('${ids.r1}', '${ids.r4}')` })).toEqual(['r4', 'r1']);
    expect(await names({ filter: "datasets.name = 'train-a'" })).toEqual(['r3', 'r1']);
    expect(
      await names({ filter: "dataset.context = 'training' AND datasets.digest IN ('d-train-b')" }),
    ).toEqual(['r2']);
    expect(await names({ filter: 'created < 2500' })).toEqual(['r2', 'r1']);
  });

  it('supports OR and parentheses', async () => {
    expect(await names({ filter: "metrics.acc < 0.9 OR params.lr = '1'" })).toEqual(['r5', 'r2']);
    expect(
      await names({ filter: "(params.lr = '0.1' OR params.lr = '1') AND tags.`model class` = 'mlp'" }),
    ).toEqual(['r5']);
    expect(
      await names({ filter: "params.lr = '0.1' OR params.lr = '1' AND tags.`model class` = 'cnn'" }),
    ).toEqual(['r3']);
  });

  it('orders by metric with missing and NaN last, in both directions', async () => {
    expect(await names({ order_by: ['metrics.acc DESC'] })).toEqual(['r1', 'r3', 'r2', 'r5', 'r4']);
    expect(await names({ order_by: ['metrics.acc ASC'] })).toEqual(['r2', 'r3', 'r1', 'r5', 'r4']);
    expect(await names({ filter: 'metrics.acc > 0.8', order_by: ['metrics.acc DESC'] })).toEqual([
      'r1',
      'r3',
      'r2',
    ]);
    expect(await names({ order_by: ['params.lr', 'attributes.start_time ASC'] })).toEqual([
      'r1',
      'r2',
      'r4',
      'r3',
      'r5',
    ]);
    expect(await names({ order_by: ['tags.`model class` DESC'] })).toEqual(['r4', 'r5', 'r2', 'r3', 'r1']);
  });

  it('breaks ties on the sort metric by start_time DESC, across pages of the filtered fast path', async () => {
    const tied = (await t.post('experiments/create', { name: 'ties' })).body.experiment_id;
    for (let i = 0; i < 5; i++) {
      const runId = (
        await t.post('runs/create', { experiment_id: tied, run_name: `t${i}`, start_time: 100 + i })
      ).body.run.info.run_id;
      await t.post('runs/log-metric', {
        run_id: runId,
        key: 'acc',
        value: i === 4 ? 0.9 : 0.5,
        timestamp: 1,
      });
    }
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await t.post('runs/search', {
        experiment_ids: [tied],
        filter: 'metrics.acc >= 0.5',
        order_by: ['metrics.acc DESC'],
        max_results: 2,
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      seen.push(...res.body.runs.map((r: { info: { run_name: string } }) => r.info.run_name));
      pageToken = res.body.next_page_token;
    } while (pageToken);
    expect(seen).toEqual(['t4', 't3', 't2', 't1', 't0']);
    const ascending = await t.post('runs/search', {
      experiment_ids: [tied],
      filter: 'metrics.acc < 0.95 AND metrics.acc > 0.1',
      order_by: ['metrics.acc ASC'],
      max_results: 3,
    });
    expect(ascending.body.runs.map((r: { info: { run_name: string } }) => r.info.run_name)).toEqual([
      't3',
      't2',
      't1',
    ]);
  });

  it('paginates with opaque tokens', async () => {
    const first = await t.post('runs/search', { experiment_ids: [experimentId], max_results: 2 });
    expect(first.body.runs).toHaveLength(2);
    const second = await t.post('runs/search', {
      experiment_ids: [experimentId],
      max_results: 2,
      page_token: first.body.next_page_token,
    });
    const third = await t.post('runs/search', {
      experiment_ids: [experimentId],
      max_results: 2,
      page_token: second.body.next_page_token,
    });
    expect(third.body.runs).toHaveLength(1);
    expect(third.body.next_page_token).toBeUndefined();
    const all = [...first.body.runs, ...second.body.runs, ...third.body.runs].map((r) => r.info.run_name);
    expect(all).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
  });

  it('returns full runs and honours run_view_type', async () => {
    const res = await t.post('runs/search', { experiment_ids: [experimentId], filter: "run_name = 'r1'" });
    const run = res.body.runs[0];
    expect(run.data.metrics).toEqual([{ key: 'acc', value: 0.95, timestamp: 1, step: 0 }]);
    expect(run.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    expect(run.inputs.dataset_inputs[0].dataset.name).toBe('train-a');
    await t.post('runs/delete', { run_id: ids.r5 });
    expect(await names({})).toEqual(['r4', 'r3', 'r2', 'r1']);
    expect(await names({ run_view_type: 'DELETED_ONLY' })).toEqual(['r5']);
    expect(await names({ run_view_type: 'ALL' })).toHaveLength(5);
    await t.post('runs/restore', { run_id: ids.r5 });
  });

  it('answers bad filters and limits with INVALID_PARAMETER_VALUE', async () => {
    for (const filter of [
      "metrics.acc > 'x'",
      'params.lr > 1',
      'foo.bar = 1',
      "tags.x = 'a' AND",
      "(params.lr = '1'",
      'attributes.nope = 1',
    ]) {
      const res = await t.post('runs/search', { experiment_ids: [experimentId], filter });
      expect(res.status, filter).toBe(400);
      expect(res.body.error_code, filter).toBe('INVALID_PARAMETER_VALUE');
    }
    const position = await t.post('runs/search', {
      experiment_ids: [experimentId],
      filter: 'metrics.acc >> 1',
    });
    expect(position.body.message).toMatch(/position \d+/);
    const tooMany = await t.post('runs/search', { experiment_ids: [experimentId], max_results: 50_001 });
    expect(tooMany.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badOrder = await t.post('runs/search', {
      experiment_ids: [experimentId],
      order_by: ['metrics.acc SIDEWAYS'],
    });
    expect(badOrder.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('treats an injection attempt as a plain value', async () => {
    expect(await names({ filter: "params.lr = '0.01'' OR 1=1 --'" })).toEqual([]);
    const res = await t.get('runs/get', { run_id: ids.r1 as string });
    expect(res.status).toBe(200);
  });
});
