import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../database.js';
import { CHECKPOINT_FALLBACK_PAGES, SqliteCheckpointer } from './sqlite-checkpointer.js';
import { openSqliteFile } from './sqlite-dialect.js';

/** Resolves once `check` holds, polling every 10 ms; fails after `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SqliteCheckpointer', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keel-checkpointer-'));
    path = join(dir, 'keel.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies committed pages into the database file while the writer never checkpoints', async () => {
    const db = openSqliteFile(path);
    db.pragma('wal_autocheckpoint = 0');
    db.exec('create table t (x blob)');
    const insert = db.prepare('insert into t (x) values (randomblob(4000))');
    for (let i = 0; i < 10; i++) db.transaction(() => Array.from({ length: 30 }, () => insert.run()))();
    // 300 rows of 4 KB are in the WAL only.
    expect(statSync(path).size).toBeLessThan(100_000);
    const checkpointer = new SqliteCheckpointer({ path, activeIntervalMs: 10, idleIntervalMs: 20 });
    checkpointer.start();
    expect(checkpointer.running).toBe(true);
    try {
      await until(() => statSync(path).size > 1_200_000);
      // Writes go on beside it.
      db.transaction(() => insert.run())();
      expect(db.prepare('select count(*) as n from t').get()).toEqual({ n: 301 });
    } finally {
      await checkpointer.close();
      db.close();
    }
    expect(checkpointer.running).toBe(false);
  });

  it('is started by openStore for a SQLite file, with the connection checkpointing as a fallback', async () => {
    const store = openStore(`sqlite:///${path}`);
    expect(store.sqlite?.pragma('wal_autocheckpoint', { simple: true })).toBe(CHECKPOINT_FALLBACK_PAGES);
    await sql`create table t (x integer)`.execute(store.db);
    await sql`insert into t values (1)`.execute(store.db);
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();
    // The last connection to close removes the WAL: the worker's was closed first.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('is not started for an in-memory database', async () => {
    const store = openStore('sqlite:///:memory:');
    expect(store.sqlite?.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await store.close();
  });

  it('refuses an in-memory database', () => {
    expect(() => new SqliteCheckpointer({ path: ':memory:' })).toThrow(/SQLite file/);
  });
});
