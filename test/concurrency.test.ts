// End-to-end: 32 concurrent clients logging to one shared run and to their own runs, through one
// server process and through a two-process cluster (where SQLite would say "database is locked").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkPostgres, createTestStore } from '../packages/server/src/testing/test-stores.js';
import { createRun, get, ok } from './helpers/http.js';
import { killAll, startKeelServer } from './helpers/keel-process.js';

const postgresReachable = await checkPostgres();
const CLIENTS = 32;
const ITERATIONS = 10;
const BATCH_POINTS = 5;

const artifacts = mkdtempSync(join(tmpdir(), 'keel-concurrency-'));
afterEach(killAll);
afterAll(() => rmSync(artifacts, { recursive: true, force: true }));

const setups = [
  { dialect: 'sqlite', workers: 2 },
  { dialect: 'sqlite', workers: 1 },
  { dialect: 'postgres', workers: 2 },
] as const;

describe.each(setups)(
  '$workers worker(s) on $dialect under 32 concurrent clients',
  ({ dialect, workers }) => {
    it.skipIf(dialect === 'postgres' && !postgresReachable)(
      'answers every call with 200 and stores every point, param and tag',
      async () => {
        const store = await createTestStore(dialect);
        try {
          const server = await startKeelServer([
            '--backend-store-uri',
            store.uri,
            '--artifacts-destination',
            artifacts,
            '--workers',
            String(workers),
          ]);
          const { experimentId, runId: sharedRun } = await createRun(server.url, 'concurrency');
          // Even clients share one run; each odd client has a run of its own.
          const runOf: string[] = [];
          for (let client = 0; client < CLIENTS; client += 1) {
            if (client % 2 === 0) {
              runOf.push(sharedRun);
              continue;
            }
            const { run } = await ok<{ run: { info: { run_id: string } } }>(server.url, 'runs/create', {
              experiment_id: experimentId,
            });
            runOf.push(run.info.run_id);
          }

          const failures: string[] = [];
          const call = async (path: string, body: object): Promise<void> => {
            try {
              const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(body),
              });
              const text = await response.text();
              if (response.status !== 200 || /locked/i.test(text))
                failures.push(`${path} ${response.status} ${text}`);
            } catch (error) {
              failures.push(`${path} ${(error as Error).message}`);
            }
          };
          const client = async (c: number): Promise<void> => {
            const run_id = runOf[c] as string;
            for (let i = 0; i < ITERATIONS; i += 1) {
              await call('runs/log-metric', { run_id, key: `m${c}`, value: i, timestamp: 1000 + i, step: i });
              await call('runs/log-parameter', { run_id, key: `p${c}_${i}`, value: String(i) });
              await call('runs/set-tag', { run_id, key: `t${c}_${i}`, value: String(i) });
              await call('runs/log-batch', {
                run_id,
                metrics: Array.from({ length: BATCH_POINTS }, (_, k) => ({
                  key: `b${c}`,
                  value: k,
                  timestamp: 1000 + i,
                  step: i * BATCH_POINTS + k,
                })),
                params: [{ key: `bp${c}_${i}`, value: String(i) }],
                tags: [{ key: `bt${c}_${i}`, value: String(i) }],
              });
            }
          };
          await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
          expect(failures).toEqual([]);

          // Every run holds exactly what its clients sent.
          const runIds = [...new Set(runOf)];
          const clientsOf = (runId: string): number => runOf.filter((id) => id === runId).length;
          const db = store.store.db;
          const counts = async (table: 'metrics' | 'params' | 'tags'): Promise<Map<string, number>> => {
            const rows = await db
              .selectFrom(table)
              .select(['run_uuid', 'key'])
              .where('run_uuid', 'in', runIds)
              .execute();
            const byRun = new Map<string, number>();
            for (const row of rows) {
              if (row.key.startsWith('mlflow.')) continue; // system tags set by runs/create
              byRun.set(row.run_uuid, (byRun.get(row.run_uuid) ?? 0) + 1);
            }
            return byRun;
          };
          const [metrics, params, tags] = await Promise.all([
            counts('metrics'),
            counts('params'),
            counts('tags'),
          ]);
          for (const runId of runIds) {
            const n = clientsOf(runId);
            expect({
              runId,
              metrics: metrics.get(runId),
              params: params.get(runId),
              tags: tags.get(runId),
            }).toEqual({
              runId,
              metrics: n * ITERATIONS * (1 + BATCH_POINTS),
              params: n * ITERATIONS * 2,
              tags: n * ITERATIONS * 2,
            });
          }

          // The API sees the same: the shared run's params, and its latest value of every metric key.
          const shared = await get<{
            run: { data: { params: unknown[]; metrics: { key: string; step: number }[] } };
          }>(server.url, 'runs/get', { run_id: sharedRun });
          expect(shared.status).toBe(200);
          expect(shared.json.run.data.params).toHaveLength((CLIENTS / 2) * ITERATIONS * 2);
          const latest = shared.json.run.data.metrics;
          expect(latest).toHaveLength(CLIENTS);
          expect(latest.filter((m) => m.key.startsWith('m')).every((m) => m.step === ITERATIONS - 1)).toBe(
            true,
          );
          expect(
            latest
              .filter((m) => m.key.startsWith('b'))
              .every((m) => m.step === ITERATIONS * BATCH_POINTS - 1),
          ).toBe(true);
        } finally {
          await killAll();
          await store.dispose();
        }
      },
    );
  },
);
