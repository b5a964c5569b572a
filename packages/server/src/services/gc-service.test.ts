import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import { createServices, type Services } from './services.js';

const dialects = await testDialects();

describe.each(dialects)('GcService on %s', (dialect) => {
  let t: TestStore;
  let now = 1_000_000;
  let services: Services;
  beforeAll(async () => {
    t = await createTestStore(dialect);
    services = createServices(t.store, () => now);
  });
  afterAll(async () => {
    await t?.dispose();
  });

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
    const run = await services.runs.create({ experimentId });
    const runId = run.info.run_id;
    await services.runs.logBatch({
      runId,
      metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }],
      params: [{ key: 'lr', value: '0.1' }],
    });
    return runId;
  };

  it('removes deleted runs with everything logged to them and keeps active ones', async () => {
    const deleted = await runWithData();
    const kept = await runWithData();
    await services.runs.delete(deleted);
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
    await services.runs.delete(old);
    now += 10_000;
    const recent = await runWithData();
    await services.runs.delete(recent);
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
    const experimentId = await services.experiments.create({ name: `gc-${dialect}` });
    const runId = await runWithData(experimentId);
    await services.experiments.delete(experimentId);
    const results = await services.gc.collect({ experimentIds: [experimentId] });
    expect(results).toEqual([{ kind: 'experiment', id: experimentId, status: 'removed' }]);
    expect(await countRows('experiments', experimentId)).toBe(0);
    expect(await countRows('runs', runId)).toBe(0);
    expect(await countRows('metrics', runId)).toBe(0);
    // The name is free again.
    expect(await services.experiments.create({ name: `gc-${dialect}` })).toMatch(/^\d+$/);
  });
});
