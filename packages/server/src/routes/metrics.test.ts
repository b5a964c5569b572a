import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type JsonBody, type TestApp } from '../testing/test-app.js';
import { testDialects } from '../testing/test-stores.js';

const dialects = await testDialects();

describe.each(dialects)('metric history API on %s', (dialect) => {
  let t: TestApp;
  let runA: string;
  let runB: string;

  const newRun = async () => {
    const res = await t.post('runs/create', { experiment_id: '0' });
    expect(res.status).toBe(200);
    return res.body.run.info.run_id as string;
  };

  /** Logs `count` points of `key` at steps 0…count-1 (value = step), 1000 per batch. */
  const logSteps = async (runId: string, key: string, count: number) => {
    for (let from = 0; from < count; from += 1000) {
      const metrics = Array.from({ length: Math.min(1000, count - from) }, (_, i) => ({
        key,
        value: from + i,
        timestamp: 1_000 + from + i,
        step: from + i,
      }));
      expect((await t.post('runs/log-batch', { run_id: runId, metrics })).status).toBe(200);
    }
  };

  const ajaxGet = async (path: string, query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/ajax-api/2.0/mlflow/${path}?${query}` });
    return { status: res.statusCode, body: JSON.parse(res.payload) as JsonBody };
  };

  beforeAll(async () => {
    t = await createTestApp(dialect);
    runA = await newRun();
    runB = await newRun();
    await logSteps(runA, 'loss', 3000);
    await logSteps(runB, 'loss', 10);
    await t.post('runs/log-batch', {
      run_id: runB,
      metrics: [
        { key: 'odd', value: 'NaN', timestamp: 5, step: 0 },
        { key: 'odd', value: 'Infinity', timestamp: 5, step: 1 },
        { key: 'odd', value: '-Infinity', timestamp: 5, step: 2 },
      ],
    });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('get-history', () => {
    it('returns the whole history without max_results, with NaN and infinities as strings', async () => {
      const res = await t.get('metrics/get-history', { run_id: runB, metric_key: 'odd' });
      expect(res).toEqual({
        status: 200,
        body: {
          metrics: [
            { key: 'odd', value: 'NaN', timestamp: 5, step: 0 },
            { key: 'odd', value: 'Infinity', timestamp: 5, step: 1 },
            { key: 'odd', value: '-Infinity', timestamp: 5, step: 2 },
          ],
        },
      });
      expect(
        (await t.get('metrics/get-history', { run_id: runA, metric_key: 'loss' })).body.metrics,
      ).toHaveLength(3000);
    });

    it('accepts run_uuid and answers {} for a key the run never logged', async () => {
      const res = await t.get('metrics/get-history', { run_uuid: runB, metric_key: 'missing' });
      expect(res).toEqual({ status: 200, body: {} });
    });

    it('pages with max_results and page tokens until the history ends', async () => {
      const steps: number[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const res = await t.get('metrics/get-history', {
          run_id: runA,
          metric_key: 'loss',
          max_results: 1200,
          ...(token === undefined ? {} : { page_token: token }),
        });
        expect(res.status).toBe(200);
        steps.push(...res.body.metrics.map((m: { step: number }) => m.step));
        token = res.body.next_page_token;
        pages += 1;
      } while (token !== undefined);
      expect(pages).toBe(3);
      expect(steps).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    });

    it('rejects bad max_results and page tokens, and unknown runs', async () => {
      for (const max_results of [0, -1, 25_001]) {
        const res = await t.get('metrics/get-history', { run_id: runA, metric_key: 'loss', max_results });
        expect([res.status, res.body.error_code]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
      }
      const ok = await t.get('metrics/get-history', {
        run_id: runA,
        metric_key: 'loss',
        max_results: 25_000,
      });
      expect(ok.body.metrics).toHaveLength(3000);
      const badToken = await t.get('metrics/get-history', {
        run_id: runA,
        metric_key: 'loss',
        page_token: 'xyz',
      });
      expect([badToken.status, badToken.body.error_code]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
      const unknown = await t.get('metrics/get-history', { run_id: 'f'.repeat(32), metric_key: 'loss' });
      expect([unknown.status, unknown.body.error_code]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
      const missingKey = await t.get('metrics/get-history', { run_id: runA });
      expect([missingKey.status, missingKey.body.error_code]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
    });
  });

  describe('get-history-bulk-interval', () => {
    it('samples each run, keeping the first and last step, with run_id on every point', async () => {
      const res = await t.get('metrics/get-history-bulk-interval', {
        run_ids: [runA, runB],
        metric_key: 'loss',
        max_results: 4,
      });
      expect(res.status).toBe(200);
      const pick = (runId: string) =>
        res.body.metrics
          .filter((m: { run_id: string }) => m.run_id === runId)
          .map((m: { step: number }) => m.step);
      expect(pick(runA)).toEqual([0, 999, 1999, 2999]);
      expect(pick(runB)).toEqual([0, 3, 6, 9]);
      expect(res.body.metrics[0]).toEqual({ key: 'loss', value: 0, timestamp: 1000, step: 0, run_id: runA });
    });

    it('takes a single run_ids value, defaults to 2500 steps, and honours start and end steps', async () => {
      const all = await t.get('metrics/get-history-bulk-interval', { run_ids: runA, metric_key: 'loss' });
      expect(all.body.metrics).toHaveLength(2500);
      const ranged = await t.get('metrics/get-history-bulk-interval', {
        run_ids: runA,
        metric_key: 'loss',
        start_step: 100,
        end_step: 200,
        max_results: 3,
      });
      expect(ranged.body.metrics.map((m: { step: number }) => m.step)).toEqual([100, 150, 200]);
    });

    it('rejects run counts outside 1–100, half or inverted step ranges, bad max_results and unknown runs', async () => {
      const cases: Record<string, string | number | readonly string[]>[] = [
        { run_ids: Array.from({ length: 101 }, (_, i) => `run${i}`), metric_key: 'loss' },
        { run_ids: runA, metric_key: 'loss', start_step: 1 },
        { run_ids: runA, metric_key: 'loss', end_step: 1 },
        { run_ids: runA, metric_key: 'loss', start_step: 5, end_step: 4 },
        { run_ids: runA, metric_key: 'loss', max_results: 0 },
        { run_ids: runA, metric_key: 'loss', max_results: 2501 },
        { metric_key: 'loss' },
      ];
      for (const query of cases) {
        const res = await t.get('metrics/get-history-bulk-interval', query);
        expect([res.status, res.body.error_code], JSON.stringify(query).slice(0, 80)).toEqual([
          400,
          'INVALID_PARAMETER_VALUE',
        ]);
      }
      const tooMany = await t.get('metrics/get-history-bulk-interval', cases[0] ?? {});
      expect(tooMany.body.message).toContain('run_ids');
      const unknown = await t.get('metrics/get-history-bulk-interval', {
        run_ids: [runA, 'f'.repeat(32)],
        metric_key: 'loss',
      });
      expect([unknown.status, unknown.body.error_code]).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
    });
  });

  describe('get-history-bulk (ajax only)', () => {
    it('returns the histories of repeated run_id values, capped by max_results', async () => {
      const res = await ajaxGet(
        'metrics/get-history-bulk',
        `run_id=${runB}&run_id=${runA}&metric_key=loss&max_results=20`,
      );
      expect(res.status).toBe(200);
      expect(res.body.metrics).toHaveLength(20);
      const [first] = [runA, runB].sort();
      expect(res.body.metrics[0]).toMatchObject({ key: 'loss', step: 0, run_id: first });
      const defaulted = await ajaxGet('metrics/get-history-bulk', `run_id=${runA}&metric_key=loss`);
      expect(defaulted.body.metrics).toHaveLength(3000);
      const tooMany = await ajaxGet(
        'metrics/get-history-bulk',
        `${Array.from({ length: 101 }, (_, i) => `run_id=r${i}`).join('&')}&metric_key=loss`,
      );
      expect([tooMany.status, tooMany.body.error_code]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
    });

    it('is not mounted under the public REST prefix', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/2.0/mlflow/metrics/get-history-bulk?run_id=${runA}&metric_key=loss`,
      });
      expect(res.statusCode).toBe(404);
    });
  });
});
