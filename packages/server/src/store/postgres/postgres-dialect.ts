import { PostgresDialect } from 'kysely';
import pg from 'pg';

const INT8_OID = 20;

/** How many connections one server process keeps to PostgreSQL. @default 10 */
export const DEFAULT_POOL_SIZE = 10;

/**
 * A pg pool whose BIGINT columns come back as numbers: Keel's int64 values are epoch
 * milliseconds, steps and ids, all far below 2^53, and MLflow's wire format wants JSON numbers.
 * The parser is set per pool, not globally, so other pg users in the process are unaffected.
 */
export function createPostgresPool(connectionString: string, max = DEFAULT_POOL_SIZE): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client dies when PostgreSQL restarts or terminates it; the pool drops it and the next
  // query opens a new connection. Without a listener the 'error' event would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** The PostgreSQL dialect used by the store. */
export function createPostgresDialect(pool: pg.Pool): PostgresDialect {
  return new PostgresDialect({ pool });
}
