import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, type TestStore, testDialects } from '../testing/test-stores.js';
import type { WorkflowCacheRow } from './schema.js';
import { executeSql, insertRows, quoteIdentifier, SqlParams } from './sql-text.js';

const dialects = await testDialects();

describe('SqlParams', () => {
  it('numbers placeholders on PostgreSQL and writes ? on SQLite', () => {
    const pg = new SqlParams('postgres');
    expect(`${pg.assignments({ a: 1, b: undefined, c: null })} where x in (${pg.list(['p', 'q'])})`).toBe(
      '"a" = $1, "c" = $2 where x in ($3, $4)',
    );
    expect(pg.values).toEqual([1, null, 'p', 'q']);
    const lite = new SqlParams('sqlite');
    expect(lite.list([1, 2])).toBe('?, ?');
  });

  it('refuses an update that sets nothing', () => {
    expect(() => new SqlParams('sqlite').assignments({ a: undefined })).toThrow(/at least one column/);
  });

  it('quotes identifiers, doubling embedded quotes', () => {
    expect(quoteIdentifier('we"ird')).toBe('"we""ird"');
  });
});

describe.each(dialects)('insertRows and executeSql on %s', (dialect) => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  // Without `hits`, a row lacks a column its type requires (on purpose: see the second test).
  const entry = (key: string, hits?: number): WorkflowCacheRow =>
    ({
      cache_key: key,
      task: 'fit',
      outputs: '{"y":1}',
      execution_id: 'e1',
      node_id: 'n1',
      created_at: 5,
      ...(hits === undefined ? {} : { hits }),
    }) as WorkflowCacheRow;
  const rows = () => t.store.db.selectFrom('workflow_cache').selectAll().orderBy('cache_key').execute();

  it('inserts several rows in one statement, with an on-conflict clause, inside a transaction', async () => {
    const result = await insertRows(t.store.db, dialect, 'workflow_cache', [entry('a', 2), entry('b', 3)]);
    expect(result.numAffectedRows).toBe(2n);
    const again = await t.store.db
      .transaction()
      .execute((trx) =>
        insertRows(
          trx,
          dialect,
          'workflow_cache',
          [entry('b', 9), entry('c', 4)],
          'on conflict ("cache_key") do nothing',
        ),
      );
    expect(again.numAffectedRows).toBe(1n);
    expect((await rows()).map((row) => [row.cache_key, Number(row.hits)])).toEqual([
      ['a', 2],
      ['b', 3],
      ['c', 4],
    ]);
  });

  it('stores NULL for a column a row lacks and leaves out columns no row has', async () => {
    await expect(
      insertRows(t.store.db, dialect, 'workflow_cache', [entry('d', 1), entry('e')]),
    ).rejects.toThrow(); // hits is NOT NULL: the second row's NULL is refused
    await insertRows(t.store.db, dialect, 'workflow_cache', [entry('f')]);
    expect((await rows()).find((row) => row.cache_key === 'f')?.hits).toBe(0); // the column default
  });

  it('runs an update with bound values and returns its rows', async () => {
    const params = new SqlParams(dialect);
    const set = params.assignments({ task: 'refit', hits: 7 });
    const result = await executeSql<{ cache_key: string }>(
      t.store.db,
      `update "workflow_cache" set ${set} where "cache_key" in (${params.list(['a', 'c', 'zz'])}) returning "cache_key"`,
      params,
    );
    expect(result.rows.map((row) => row.cache_key).sort()).toEqual(['a', 'c']);
    const updated = (await rows()).filter((row) => row.task === 'refit');
    expect(updated.map((row) => [row.cache_key, Number(row.hits)])).toEqual([
      ['a', 7],
      ['c', 7],
    ]);
  });
});
