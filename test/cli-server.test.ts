// End-to-end: the built `keel` CLI — `server` (one process and a cluster), `db upgrade`, `gc` —
// on SQLite and PostgreSQL.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEEL_VERSION } from '../packages/server/src/index.js';
import { allMigrations } from '../packages/server/src/store/migrations/index.js';
import {
  checkPostgres,
  createTestStore,
  type TestStore,
} from '../packages/server/src/testing/test-stores.js';
import { createRun, get, ok, post } from './helpers/http.js';
import {
  CAN_FAKE_TERMINAL,
  childPids,
  isAlive,
  killAll,
  runKeel,
  runKeelOnTerminal,
  startKeelServer,
  waitFor,
} from './helpers/keel-process.js';

const postgresReachable = await checkPostgres();
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(killAll);
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** An error report is one line, with no stack trace. */
function expectOneErrorLine(stderr: string): void {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^error: /);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('keel CLI', () => {
  it('prints KEEL_VERSION for --version', async () => {
    const result = await runKeel(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(KEEL_VERSION);
  });

  it('rejects an unknown backend store scheme with one line, naming the schemes it knows', async () => {
    const result = await runKeel(['server', '--port', '0', '--backend-store-uri', 'mysql://localhost/keel']);
    expect(result.code).toBe(1);
    expectOneErrorLine(result.stderr);
    expect(result.stderr).toContain('sqlite://');
    expect(result.stderr).toContain('postgresql://');
  });

  it('hides the password of an unreachable PostgreSQL URI', async () => {
    const result = await runKeel([
      'server',
      '--port',
      '0',
      '--backend-store-uri',
      'postgresql://u:s3cret@127.0.0.1:1/x',
    ]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result.stderr);
    expect(result.stderr).toContain('Cannot connect to backend store postgresql://u:***@127.0.0.1:1/x');
    expect(result.stderr).not.toContain('s3cret');
  });

  it.each(['1', '2'])('reports a port in use in one line and exits 1 (--workers %s)', async (workers) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const uri = `sqlite:///${join(tempDir(), 'keel.db')}`;
      const args = ['server', '--port', String(port), '--workers', workers, '--backend-store-uri', uri];
      const result = await runKeel(args);
      expect(result.code).toBe(1);
      expectOneErrorLine(result.stderr);
      expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('db upgrade applies the migrations of a fresh SQLite file once', async () => {
    const uri = `sqlite:///${join(tempDir(), 'fresh.db')}`;
    const first = await runKeel(['db', 'upgrade', '--backend-store-uri', uri]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const names = Object.keys(allMigrations('sqlite'));
    expect(names[0]).toBe('0001-tracking');
    expect(first.stdout).toBe(names.map((name) => `Applied migration ${name}\n`).join(''));
    const second = await runKeel(['db', 'upgrade', '--backend-store-uri', uri]);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(/already up to date\n$/);
  });

  it('refuses a malformed --older-than before touching the store', async () => {
    const result = await runKeel([
      'gc',
      '--yes',
      '--older-than',
      '3 weeks',
      '--backend-store-uri',
      'mysql://x',
    ]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result.stderr);
    expect(result.stderr).toContain("Invalid --older-than '3 weeks'");
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && !postgresReachable)(`keel server on ${dialect}`, () => {
    let store: TestStore;
    let artifacts: string;

    beforeAll(async () => {
      store = await createTestStore(dialect);
      artifacts = join(tempDir(), 'artifacts');
    });
    afterAll(async () => {
      await killAll();
      await store?.dispose();
    });

    it('serves /health and the tracking API with one process, and stops with exit 0 on SIGTERM', async () => {
      const server = await startKeelServer([
        '--backend-store-uri',
        store.uri,
        '--artifacts-destination',
        artifacts,
      ]);
      expect(server.readyLine).toMatch(/^Keel listening on http:\/\/127\.0\.0\.1:\d+ \(\S+, 1 worker\)$/);
      expect(server.readyLine).toContain(dialect === 'sqlite' ? 'sqlite:///' : 'postgresql://');

      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.text()).toBe('OK');

      const created = await post<{ experiment_id: string }>(server.url, 'experiments/create', {
        name: 'e2e-single',
      });
      expect(created.status).toBe(200);
      const fetched = await get<{ experiment: { name: string } }>(server.url, 'experiments/get', {
        experiment_id: created.json.experiment_id,
      });
      expect(fetched.status).toBe(200);
      expect(fetched.json.experiment.name).toBe('e2e-single');

      expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(server.stderr()).toBe('');
    });

    it('--workers 2 serves from both processes, replaces a killed worker and stops them all on SIGTERM', async () => {
      const server = await startKeelServer(
        ['--backend-store-uri', store.uri, '--artifacts-destination', artifacts, '--workers', '2'],
        { env: { KEEL_LOG_LEVEL: 'info' } },
      );
      expect(server.readyLine).toMatch(/, 2 workers\)$/);
      const workers = childPids(server.pid);
      expect(workers).toHaveLength(2);

      const burst = async (tag: string): Promise<void> => {
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            post(server.url, 'experiments/create', { name: `e2e-workers-${tag}-${i}` }),
          ),
        );
        expect(answers.filter((answer) => answer.status !== 200).map((answer) => answer.text)).toEqual([]);
      };
      await burst('a');
      // Fastify logs each request with the pid of the process that served it.
      const servedBy = (): Set<number> =>
        new Set(
          server
            .stdout()
            .split('\n')
            .filter((line) => line.includes('"incoming request"'))
            .map((line) => (JSON.parse(line) as { pid: number }).pid),
        );
      expect([...servedBy()].sort()).toEqual([...workers].sort());

      const [victim, survivor] = workers as [number, number];
      process.kill(victim, 'SIGKILL');
      let replacement = 0;
      await waitFor(
        () => {
          const now = childPids(server.pid);
          replacement = now.find((pid) => pid !== survivor && pid !== victim) ?? 0;
          return now.length === 2 && now.includes(survivor) && replacement !== 0;
        },
        15_000,
        'a replacement worker',
      );
      expect(server.stderr()).toContain(
        `Keel worker ${victim} exited (signal SIGKILL); starting a replacement`,
      );
      // Wait until it listens: connections opened before that all go to the survivor, and fetch keeps them alive.
      await waitFor(
        () => server.stdout().includes(`"pid":${replacement},`),
        15_000,
        'the replacement worker to listen',
      );
      await burst('b');
      expect(servedBy().has(replacement)).toBe(true);

      expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
      await waitFor(() => !isAlive(survivor) && !isAlive(replacement), 5_000, 'the workers to exit');
    });

    it('gc asks on a terminal, refuses without --yes off one, then purges a deleted run and all it logged', async () => {
      const server = await startKeelServer([
        '--backend-store-uri',
        store.uri,
        '--artifacts-destination',
        artifacts,
      ]);
      const { experimentId, runId: doomed } = await createRun(server.url, `e2e-gc-${dialect}`);
      const { run } = await ok<{ run: { info: { run_id: string } } }>(server.url, 'runs/create', {
        experiment_id: experimentId,
      });
      const kept = run.info.run_id;
      for (const runId of [doomed, kept]) {
        await ok(server.url, 'runs/log-batch', {
          run_id: runId,
          metrics: Array.from({ length: 20 }, (_, step) => ({
            key: 'loss',
            value: step,
            timestamp: 1,
            step,
          })),
          params: [{ key: 'lr', value: '0.1' }],
          tags: [{ key: 'team', value: 'e2e' }],
        });
      }
      await ok(server.url, 'runs/delete', { run_id: doomed });

      const refused = await runKeel(['gc', '--backend-store-uri', store.uri]);
      expect(refused.code).toBe(1);
      expectOneErrorLine(refused.stderr);
      expect(refused.stderr).toContain('--yes');
      expect(refused.stdout).toBe('');
      if (CAN_FAKE_TERMINAL) {
        const declined = await runKeelOnTerminal(['gc', '--backend-store-uri', store.uri], 'n\n');
        expect(declined.code).toBe(1);
        expect(declined.stdout).toContain(
          'Permanently delete every deleted run and experiment, and every registry copy no model version uses',
        );
        expect(declined.stdout).toContain('error: Aborted: nothing was deleted');
      } else {
        process.stderr.write(
          '\n!!! `script` is not installed: the gc confirmation prompt is not tested !!!\n',
        );
      }
      expect((await get(server.url, 'runs/get', { run_id: doomed })).status).toBe(200);

      const collected = await runKeel(['gc', '--yes', '--backend-store-uri', store.uri]);
      expect(collected.stderr).toBe('');
      expect(collected.code).toBe(0);
      expect(collected.stdout).toContain(`run\t${doomed}\tremoved\n`);

      const gone = await get<{ error_code: string }>(server.url, 'runs/get', { run_id: doomed });
      expect(gone.status).toBe(404);
      expect(gone.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      const survivor = await get<{ run: { data: { metrics: unknown[]; params: unknown[] } } }>(
        server.url,
        'runs/get',
        { run_id: kept },
      );
      expect(survivor.status).toBe(200);
      expect(survivor.json.run.data.params).toEqual([{ key: 'lr', value: '0.1' }]);

      const db = store.store.db;
      for (const table of ['metrics', 'latest_metrics', 'params', 'tags'] as const) {
        const rows = await db
          .selectFrom(table)
          .select('run_uuid')
          .where('run_uuid', 'in', [doomed, kept])
          .execute();
        const perRun = (id: string): number => rows.filter((row) => row.run_uuid === id).length;
        expect({ table, doomed: perRun(doomed) }).toEqual({ table, doomed: 0 });
        expect(perRun(kept), table).toBeGreaterThan(0);
      }
      expect(
        await db.selectFrom('metrics').select('step').where('run_uuid', '=', kept).execute(),
      ).toHaveLength(20);

      const again = await runKeel([
        'gc',
        '--yes',
        '--json',
        '--run-ids',
        `${kept},${doomed}`,
        '--backend-store-uri',
        store.uri,
      ]);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual([
        { kind: 'run', id: kept, status: 'skipped', reason: 'run is not deleted' },
        { kind: 'run', id: doomed, status: 'skipped', reason: 'no such run' },
      ]);

      if (dialect === 'postgres') {
        const upgrade = await runKeel(['db', 'upgrade', '--backend-store-uri', store.uri]);
        expect(upgrade.code).toBe(0);
        expect(upgrade.stdout).toMatch(/already up to date\n$/);
      }
    });
  });
}
