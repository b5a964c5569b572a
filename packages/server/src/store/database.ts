import { resolve } from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import { Kysely, type MigrationResultSet, Migrator } from 'kysely';
import type pg from 'pg';
import type { DialectName } from './dialect.js';
import { allMigrations } from './migrations/index.js';
import { createPostgresDialect, createPostgresPool } from './postgres/postgres-dialect.js';
import type { Database } from './schema.js';
import { startCheckpointer } from './sqlite/sqlite-checkpointer.js';
import { KeelSqliteDialect, openSqliteFile } from './sqlite/sqlite-dialect.js';

/** URI schemes accepted for the backend store. */
export const BACKEND_STORE_SCHEMES = ['sqlite', 'postgresql', 'postgres'] as const;

/** An open backend store: the Kysely handle plus what the dialect-specific code needs. */
export interface StoreConnection {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** The raw better-sqlite3 handle (SQLite only), for the ingest fast path and benchmarks. */
  readonly sqlite?: SqliteDatabase.Database;
  /** The pg pool (PostgreSQL only). */
  readonly pool?: pg.Pool;
  close(): Promise<void>;
}

/**
 * Parses `sqlite:///relative.db`, `sqlite:////absolute.db` (SQLAlchemy's convention, which MLflow
 * users already type) or `sqlite:///:memory:` into a file path.
 */
export function sqlitePathOf(uri: string, cwd: string = process.cwd()): string {
  const rest = uri.slice('sqlite://'.length);
  if (!rest.startsWith('/')) {
    throw new Error(
      `Invalid SQLite URI '${uri}': expected sqlite:///relative/path or sqlite:////absolute/path`,
    );
  }
  const path = decodeURIComponent(rest.slice(1).split('?')[0] ?? '');
  if (path === '') throw new Error(`Invalid SQLite URI '${uri}': no file path`);
  if (path === ':memory:') return path;
  return resolve(cwd, path);
}

/**
 * Opens the backend store named by `uri`. Does not migrate; call {@link migrateToLatest}. A SQLite
 * file gets a worker thread that checkpoints its WAL off the main thread (see
 * `sqlite/sqlite-checkpointer.ts`); `close()` stops it.
 *
 * @example
 * const store = openStore('sqlite:///keel-data/keel.db');
 */
export function openStore(uri: string): StoreConnection {
  const scheme = uri.split(':', 1)[0]?.toLowerCase() ?? '';
  switch (scheme) {
    case 'sqlite': {
      const path = sqlitePathOf(uri);
      const sqlite = openSqliteFile(path);
      const db = new Kysely<Database>({ dialect: new KeelSqliteDialect(sqlite) });
      const checkpointer = startCheckpointer(sqlite, path);
      const close = async (): Promise<void> => {
        await checkpointer?.close();
        await db.destroy();
      };
      return { db, dialect: 'sqlite', sqlite, close };
    }
    case 'postgresql':
    case 'postgres': {
      const pool = createPostgresPool(uri);
      const db = new Kysely<Database>({ dialect: createPostgresDialect(pool) });
      return { db, dialect: 'postgres', pool, close: () => db.destroy() };
    }
    default:
      throw new Error(
        `Unsupported backend store URI '${uri}': the scheme must be one of ${BACKEND_STORE_SCHEMES.map((s) => `${s}://`).join(', ')}`,
      );
  }
}

/**
 * Applies every pending migration. Returns the per-migration results; throws only after reporting
 * which migration failed (the failed one is rolled back: each migration runs in a transaction).
 */
export async function migrateToLatest(store: StoreConnection): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => allMigrations(store.dialect) },
    migrationTableName: 'keel_migrations',
    migrationLockTableName: 'keel_migrations_lock',
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    const what = failed === undefined ? 'Migrating the backend store' : `Migration ${failed}`;
    throw new Error(`${what} failed: ${String(result.error)}`, { cause: result.error });
  }
  return result;
}
