import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrateToLatest, openStore, type StoreConnection } from '../store/database.js';
import type { DialectName } from '../store/dialect.js';

/** The PostgreSQL server every test run uses (trust auth). Override with KEEL_TEST_POSTGRES_URL. */
export const TEST_POSTGRES_URL =
  process.env.KEEL_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A migrated, empty store for one test suite, and how to throw it away. */
export interface TestStore {
  readonly dialect: DialectName;
  readonly uri: string;
  readonly store: StoreConnection;
  dispose(): Promise<void>;
}

let postgresReachable: Promise<boolean> | undefined;

/**
 * Whether PostgreSQL answers. When it does not, the suite says so loudly on stderr; under
 * `CI=true` it fails instead of skipping (a CI run without PostgreSQL tests nothing).
 */
export function checkPostgres(): Promise<boolean> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (error) {
      const message = `\n!!! PostgreSQL at ${TEST_POSTGRES_URL} is unreachable (${(error as Error).message}); PostgreSQL store tests are SKIPPED !!!\n`;
      if (process.env.CI === 'true') throw new Error(`${message}CI=true: failing instead of skipping.`);
      process.stderr.write(message);
      return false;
    }
  })();
  return postgresReachable;
}

/** Creates a fresh database (a new PostgreSQL database, or a SQLite file in a temp folder) and migrates it. */
export async function createTestStore(dialect: DialectName): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keel-test-'));
    const uri = `sqlite:///${join(dir, 'keel.db')}`;
    const store = openStore(uri);
    await migrateToLatest(store);
    return {
      dialect,
      uri,
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `keel_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  const uri = url.toString();
  const store = openStore(uri);
  await migrateToLatest(store);
  return {
    dialect,
    uri,
    store,
    async dispose() {
      await store.close();
      const cleanup = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** The dialects a store suite loops over; PostgreSQL is included when reachable (see {@link checkPostgres}). */
export async function testDialects(): Promise<DialectName[]> {
  return (await checkPostgres()) ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Inserts a bare active run in the Default experiment straight into the store (for store-level tests). */
export async function insertTestRun(store: StoreConnection, runId: string): Promise<string> {
  await store.db
    .insertInto('runs')
    .values({
      run_uuid: runId,
      name: runId,
      experiment_id: 0,
      user_id: 'tester',
      status: 'RUNNING',
      start_time: 1,
      end_time: null,
      artifact_uri: `file:///tmp/${runId}`,
      lifecycle_stage: 'active',
      deleted_time: null,
    })
    .execute();
  return runId;
}
