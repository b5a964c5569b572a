// End-to-end: a server killed with SIGKILL in the middle of a log-batch burst loses nothing it
// acknowledged, never keeps half a batch, and answers again after a restart on the same store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  checkPostgres,
  createTestStore,
  type TestStore,
} from '../packages/server/src/testing/test-stores.js';
import { createRun, get, ok } from './helpers/http.js';
import { killAll, startKeelServer, waitFor } from './helpers/keel-process.js';

const postgresReachable = await checkPostgres();
const LOOPS = 8;
const POINTS_PER_BATCH = 100;
/** Acknowledged batches to wait for before the kill: well into the burst, long before it ends. */
const KILL_AFTER_ACKS = 60;

const artifacts = mkdtempSync(join(tmpdir(), 'keel-crash-'));
afterEach(killAll);
afterAll(() => rmSync(artifacts, { recursive: true, force: true }));

interface Batch {
  loop: number;
  batch: number;
  runId: string;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && !postgresReachable)(`crash durability on ${dialect}`, () => {
    let store: TestStore | undefined;
    afterAll(async () => {
      await killAll();
      await store?.dispose();
    });

    it('keeps every acknowledged log-batch across a SIGKILL mid-burst', async () => {
      store = await createTestStore(dialect);
      const args = ['--backend-store-uri', store.uri, '--artifacts-destination', artifacts];
      const server = await startKeelServer(args);

      const first = await createRun(server.url, `crash-${dialect}`);
      const runIds = [first.runId];
      while (runIds.length < LOOPS) {
        const { run } = await ok<{ run: { info: { run_id: string } } }>(server.url, 'runs/create', {
          experiment_id: first.experimentId,
        });
        runIds.push(run.info.run_id);
      }

      const sent: Batch[] = [];
      const acknowledged: Batch[] = [];
      const refused: string[] = [];
      let killed = false;
      const loop = async (loop: number): Promise<void> => {
        const runId = runIds[loop] as string;
        for (let batch = 0; !killed; batch += 1) {
          const metrics = Array.from({ length: POINTS_PER_BATCH }, (_, i) => {
            const step = batch * POINTS_PER_BATCH + i;
            return { key: 'loss', value: step / 7, timestamp: 1_700_000_000_000 + step, step };
          });
          const item = { loop, batch, runId };
          sent.push(item);
          let response: Response;
          try {
            response = await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ run_id: runId, metrics }),
            });
          } catch {
            return; // The server is gone.
          }
          const text = await response.text().catch(() => undefined);
          if (text === undefined) return;
          if (response.status === 200) acknowledged.push(item);
          else refused.push(`${response.status} ${text}`);
        }
      };
      const loops = Array.from({ length: LOOPS }, (_, i) => loop(i));
      await waitFor(() => acknowledged.length >= KILL_AFTER_ACKS || refused.length > 0, 30_000, 'acks');
      await server.kill('SIGKILL');
      killed = true;
      await Promise.all(loops);

      expect(refused).toEqual([]);
      expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
      // The kill landed mid-burst: at least one loop had a batch in flight or about to be sent.
      expect(sent.length).toBeGreaterThan(acknowledged.length);

      const restarted = await startKeelServer(args);
      const health = await fetch(`${restarted.url}/health`);
      expect([health.status, await health.text()]).toEqual([200, 'OK']);

      const rows = await store.store.db
        .selectFrom('metrics')
        .select(['run_uuid', 'step'])
        .where('run_uuid', 'in', runIds)
        .execute();
      const present = new Map<string, Set<number>>(runIds.map((id) => [id, new Set()]));
      for (const row of rows) present.get(row.run_uuid)?.add(Number(row.step));
      const stepsOf = (batch: Batch): number => {
        const steps = present.get(batch.runId) as Set<number>;
        let count = 0;
        for (let i = 0; i < POINTS_PER_BATCH; i += 1) {
          if (steps.has(batch.batch * POINTS_PER_BATCH + i)) count += 1;
        }
        return count;
      };
      const lost = acknowledged.filter((batch) => stepsOf(batch) !== POINTS_PER_BATCH);
      expect(lost).toEqual([]);
      const partial = sent.filter((batch) => ![0, POINTS_PER_BATCH].includes(stepsOf(batch)));
      expect(partial).toEqual([]);

      // The API agrees with the rows, and the restarted server takes new writes.
      const sample = acknowledged[0] as Batch;
      const history = await get<{ metrics: unknown[] }>(restarted.url, 'metrics/get-history', {
        run_id: sample.runId,
        metric_key: 'loss',
      });
      expect(history.status).toBe(200);
      expect(history.json.metrics).toHaveLength((present.get(sample.runId) as Set<number>).size);
      await ok(restarted.url, 'runs/log-batch', {
        run_id: sample.runId,
        metrics: [{ key: 'after-restart', value: 1, timestamp: 1, step: 0 }],
      });
    });
  });
}
