import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, insertTestRun, type TestStore, testDialects } from '../testing/test-stores.js';
import { MetricStore, type StoredRunMetric } from './metric-store.js';
import type { MetricRow } from './schema.js';

const dialects = await testDialects();

/** Distinct steps per run, in the order returned. */
function stepsByRun(points: readonly StoredRunMetric[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const p of points) {
    out[p.runId] ??= [];
    const steps = out[p.runId] as number[];
    if (steps.at(-1) !== p.step) steps.push(p.step);
  }
  return out;
}

describe.each(dialects)('MetricStore on %s', (dialect) => {
  let test: TestStore;
  let metrics: MetricStore;
  let runCount = 0;

  beforeAll(async () => {
    test = await createTestStore(dialect);
    metrics = new MetricStore(test.store);
  });
  afterAll(async () => {
    await test.dispose();
  });

  async function newRun(): Promise<string> {
    runCount += 1;
    return insertTestRun(test.store, `run${runCount}`);
  }

  /** Inserts history rows directly, so these tests do not depend on the batch writer. */
  async function insertHistory(
    runId: string,
    points: readonly [key: string, step: number, ts: number, value: number][],
  ) {
    const rows: MetricRow[] = points.map(([key, step, timestamp, value]) => ({
      run_uuid: runId,
      key,
      step,
      timestamp,
      value: Number.isNaN(value) ? 0 : value,
      is_nan: Number.isNaN(value) ? 1 : 0,
    }));
    for (let i = 0; i < rows.length; i += 5000) {
      await test.store.db
        .insertInto('metrics')
        .values(rows.slice(i, i + 5000))
        .execute();
    }
  }

  /** `count` points of `key` at steps `from`, `from + stride`, … with value = step / 10. */
  async function insertSteps(runId: string, key: string, count: number, from = 0, stride = 1) {
    await insertHistory(
      runId,
      Array.from({ length: count }, (_, i) => {
        const step = from + i * stride;
        return [key, step, 1000 + step, step / 10] as [string, number, number, number];
      }),
    );
  }

  describe('history', () => {
    it('returns one key of one run ordered by step, timestamp, value, with NaN and infinities restored', async () => {
      const runId = await newRun();
      const other = await newRun();
      await insertHistory(runId, [
        ['loss', 2, 10, 0.2],
        ['loss', 0, 30, Number.NaN],
        ['loss', 1, 20, Number.POSITIVE_INFINITY],
        ['loss', 1, 10, 0.5],
        ['loss', 1, 10, Number.NEGATIVE_INFINITY],
        ['acc', 0, 0, 1],
      ]);
      await insertHistory(other, [['loss', 0, 0, 9]]);
      expect(await metrics.history(runId, 'loss', { offset: 0 })).toEqual([
        { key: 'loss', step: 0, timestamp: 30, value: Number.NaN },
        { key: 'loss', step: 1, timestamp: 10, value: Number.NEGATIVE_INFINITY },
        { key: 'loss', step: 1, timestamp: 10, value: 0.5 },
        { key: 'loss', step: 1, timestamp: 20, value: Number.POSITIVE_INFINITY },
        { key: 'loss', step: 2, timestamp: 10, value: 0.2 },
      ]);
      expect(await metrics.history(runId, 'missing', { offset: 0 })).toEqual([]);
    });

    it('pages with offset and limit, and returns the rest without a limit', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'm', 25);
      const page = async (offset: number, limit?: number) =>
        (await metrics.history(runId, 'm', limit === undefined ? { offset } : { offset, limit })).map(
          (p) => p.step,
        );
      expect(await page(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await page(10, 10)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      expect(await page(20, 10)).toEqual([20, 21, 22, 23, 24]);
      expect(await page(22)).toEqual([22, 23, 24]);
      expect(await page(0)).toHaveLength(25);
      expect(await page(30, 10)).toEqual([]);
    });
  });

  describe('historyBulk', () => {
    it('returns the histories of several runs in run-id order, capped in total', async () => {
      const b = await newRun();
      const a = await newRun();
      await insertSteps(a, 'm', 3);
      await insertSteps(b, 'm', 3, 10);
      const all = await metrics.historyBulk([b, a], 'm', 100);
      const [first, second] = [a, b].sort();
      expect(all.map((p) => [p.runId, p.step])).toEqual([
        ...[0, 1, 2].map((s) => [first, first === a ? s : s + 10]),
        ...[0, 1, 2].map((s) => [second, second === a ? s : s + 10]),
      ]);
      expect(await metrics.historyBulk([a, b], 'm', 4)).toHaveLength(4);
    });
  });

  describe('bulkInterval', () => {
    it('keeps the first and last step and spreads the rest evenly by step', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'loss', 1000);
      const points = await metrics.bulkInterval([runId], 'loss', { maxResults: 10 });
      expect(stepsByRun(points)).toEqual({ [runId]: [0, 111, 222, 333, 444, 555, 666, 777, 888, 999] });
      expect(points[0]).toEqual({ runId, key: 'loss', step: 0, timestamp: 1000, value: 0 });
      expect(points.at(-1)).toEqual({ runId, key: 'loss', step: 999, timestamp: 1999, value: 99.9 });
    });

    it('returns every point stored at a chosen step', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'm', 100);
      await insertHistory(runId, [
        ['m', 0, 5, Number.NaN],
        ['m', 99, 5000, -1],
      ]);
      const points = await metrics.bulkInterval([runId], 'm', { maxResults: 2 });
      expect(points).toEqual([
        { runId, key: 'm', step: 0, timestamp: 5, value: Number.NaN },
        { runId, key: 'm', step: 0, timestamp: 1000, value: 0 },
        { runId, key: 'm', step: 99, timestamp: 1099, value: 9.9 },
        { runId, key: 'm', step: 99, timestamp: 5000, value: -1 },
      ]);
    });

    it('returns every step when the range holds fewer steps than requested', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'm', 7, -3, 1);
      const points = await metrics.bulkInterval([runId], 'm', { maxResults: 2500 });
      expect(stepsByRun(points)).toEqual({ [runId]: [-3, -2, -1, 0, 1, 2, 3] });
    });

    it('samples by step value when steps are irregular', async () => {
      const runId = await newRun();
      await insertHistory(runId, [
        ['m', 0, 0, 0],
        ['m', 1, 0, 0],
        ['m', 2, 0, 0],
        ['m', 3, 0, 0],
        ['m', 1000, 0, 0],
      ]);
      // Targets 0, 500, 1000: the middle one lands on the next stored step, 1000.
      const points = await metrics.bulkInterval([runId], 'm', { maxResults: 3 });
      expect(stepsByRun(points)).toEqual({ [runId]: [0, 1000] });
    });

    it('still keeps both ends when asked for one point', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'm', 50, 0, 10);
      const points = await metrics.bulkInterval([runId], 'm', { maxResults: 1 });
      expect(stepsByRun(points)).toEqual({ [runId]: [0, 490] });
    });

    it('honours start and end steps, keeping the first and last stored step inside them', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'm', 1000);
      const inRange = await metrics.bulkInterval([runId], 'm', {
        startStep: 100,
        endStep: 200,
        maxResults: 5,
      });
      expect(stepsByRun(inRange)).toEqual({ [runId]: [100, 125, 150, 175, 200] });

      const sparse = await newRun();
      await insertSteps(sparse, 'm', 100, 0, 10);
      const between = await metrics.bulkInterval([sparse], 'm', {
        startStep: 15,
        endStep: 95,
        maxResults: 100,
      });
      expect(stepsByRun(between)).toEqual({ [sparse]: [20, 30, 40, 50, 60, 70, 80, 90] });
      expect(
        await metrics.bulkInterval([sparse], 'm', { startStep: 991, endStep: 2000, maxResults: 10 }),
      ).toEqual([]);
      expect(
        await metrics.bulkInterval([sparse], 'm', { startStep: 41, endStep: 49, maxResults: 10 }),
      ).toEqual([]);
      expect(
        stepsByRun(await metrics.bulkInterval([sparse], 'm', { startStep: 50, endStep: 50, maxResults: 10 })),
      ).toEqual({ [sparse]: [50] });
    });

    it('samples each run on its own, in request order, skipping runs without the key', async () => {
      const a = await newRun();
      const b = await newRun();
      const empty = await newRun();
      await insertSteps(a, 'm', 101);
      await insertSteps(b, 'm', 11, 1000, 100);
      await insertSteps(empty, 'other', 5);
      const points = await metrics.bulkInterval([b, empty, a], 'm', { maxResults: 5 });
      expect(Object.keys(stepsByRun(points))).toEqual([b, a]);
      expect(stepsByRun(points)).toEqual({
        // Targets 1250 and 1750 fall between stored steps and move up to the next one.
        [b]: [1000, 1300, 1500, 1800, 2000],
        [a]: [0, 25, 50, 75, 100],
      });
      expect(await metrics.bulkInterval([empty], 'm', { maxResults: 5 })).toEqual([]);
    });

    it('returns at most maxResults + 2 distinct steps per run on a long history, with its ends', async () => {
      const runId = await newRun();
      await insertSteps(runId, 'long', 20_011, 5, 3);
      for (const maxResults of [2500, 320, 7]) {
        const steps = stepsByRun(await metrics.bulkInterval([runId], 'long', { maxResults }))[runId] ?? [];
        expect(steps.length).toBeLessThanOrEqual(maxResults + 2);
        expect(steps.length).toBeGreaterThanOrEqual(maxResults);
        expect(steps[0]).toBe(5);
        expect(steps.at(-1)).toBe(5 + 20_010 * 3);
        expect(steps).toEqual([...steps].sort((x, y) => x - y));
        // Evenly spread: no gap is more than twice the ideal one.
        const ideal = (20_010 * 3) / (maxResults - 1);
        const gaps = steps.slice(1).map((s, i) => s - (steps[i] ?? 0));
        expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * ideal + 3);
      }
    });
  });

  describe('latest', () => {
    it('returns the stored latest rows of the given runs only, NaN as null', async () => {
      const a = await newRun();
      const b = await newRun();
      const c = await newRun();
      await test.store.db
        .insertInto('latest_metrics')
        .values([
          { run_uuid: a, key: 'loss', step: 3, timestamp: 30, value: 0.1, is_nan: 0 },
          { run_uuid: a, key: 'acc', step: 3, timestamp: 30, value: null, is_nan: 1 },
          { run_uuid: b, key: 'loss', step: 1, timestamp: 10, value: Number.POSITIVE_INFINITY, is_nan: 0 },
          { run_uuid: c, key: 'loss', step: 1, timestamp: 10, value: 5, is_nan: 0 },
        ])
        .execute();
      expect(await metrics.latest([b, a])).toEqual([
        { run_uuid: a, key: 'acc', step: 3, timestamp: 30, value: null, is_nan: 1 },
        { run_uuid: a, key: 'loss', step: 3, timestamp: 30, value: 0.1, is_nan: 0 },
        { run_uuid: b, key: 'loss', step: 1, timestamp: 10, value: Number.POSITIVE_INFINITY, is_nan: 0 },
      ]);
      expect(await metrics.latest([])).toEqual([]);
    });
  });
});
