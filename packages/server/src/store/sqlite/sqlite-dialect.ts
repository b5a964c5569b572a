import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase as KyselySqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from 'kysely';

/** Prepared statements kept per connection; Kysely asks for a statement on every query. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Opens a SQLite file the way Keel needs it: WAL (readers never block the writer), a busy
 * timeout (several `--workers` processes share one file), foreign keys on, and
 * `synchronous=NORMAL`, which in WAL mode keeps every committed transaction across a process
 * kill (only an OS crash or power loss can drop the last commits).
 */
export function openSqliteFile(path: string, busyTimeoutMs = 30_000): SqliteDatabase.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new SqliteDatabase(path, { timeout: busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return db;
}

/** Wraps a better-sqlite3 handle so repeated SQL text reuses its prepared statement. */
function withStatementCache(db: SqliteDatabase.Database): KyselySqliteDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        // Refresh recency: Map iteration order is insertion order.
        cache.delete(sql);
      } else {
        statement = db.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      }
      cache.set(sql, statement);
      return statement as unknown as ReturnType<KyselySqliteDatabase['prepare']>;
    },
  };
}

/**
 * Kysely's SQLite driver, with write transactions opened as `BEGIN IMMEDIATE`: a deferred
 * transaction that reads and then writes can fail with SQLITE_BUSY at once when another process
 * holds the write lock (the busy handler is skipped to avoid deadlock); taking the write lock up
 * front makes it wait on the busy timeout instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** The SQLite dialect used by the store. */
export class KeelSqliteDialect extends SqliteDialect {
  readonly #database: KyselySqliteDatabase;

  constructor(native: SqliteDatabase.Database) {
    const database = withStatementCache(native);
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}
