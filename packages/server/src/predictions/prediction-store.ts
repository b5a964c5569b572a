import type SqliteDatabase from 'better-sqlite3';
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { StoreConnection } from '../store/database.js';
import type { DialectName } from '../store/dialect.js';
import type { Database, PredictionRecordRow } from '../store/schema.js';
import { PREDICTION_COLUMNS, predictionRowFromLine } from './prediction-record.js';

/** Filters of a prediction search; all optional, combined with AND. */
export interface PredictionFilter {
  deployment?: string;
  modelName?: string;
  modelVersion?: string;
  caller?: string;
  /** HTTP status answered. */
  status?: number;
  /** Earliest `received_at`, epoch ms, inclusive. */
  from?: number;
  /** Latest `received_at`, epoch ms, inclusive. */
  to?: number;
}

/** Where a newest-first page starts: strictly after (older than) this record. */
export interface PredictionCursor {
  receivedAt: number;
  recordId: string;
}

/**
 * Rows per SQLite statement: one prepared multi-row insert per 200 rows (4 800 bound values,
 * far below SQLite's limit) avoids the per-call cost of a row-at-a-time loop.
 */
export const SQLITE_ROWS_PER_INSERT = 200;
/** PostgreSQL accepts at most 65 535 bind parameters per statement; stay below it. */
const POSTGRES_ROWS_PER_INSERT = Math.floor(60_000 / PREDICTION_COLUMNS.length);

/**
 * The SQL of prediction records: batched idempotent inserts (a record id already stored is
 * skipped, so replaying a spill file twice stores each record once), keyset-paged searches
 * newest first, labels, and per-version counts.
 *
 * @example
 * const store = new PredictionStore(connection);
 * await store.insert(rows);
 * const page = await store.search({ deployment: 'fraud' }, undefined, 101);
 */
export class PredictionStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #connection: StoreConnection;
  #sqliteInsert: ((rows: readonly PredictionRecordRow[]) => number) | undefined;

  constructor(connection: StoreConnection) {
    this.#connection = connection;
    this.#db = connection.db;
    this.#dialect = connection.dialect;
  }

  /**
   * Inserts rows in one transaction; rows whose `record_id` is already stored are skipped.
   * Returns how many were new.
   */
  async insert(rows: readonly PredictionRecordRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const sqlite = this.#connection.sqlite;
    if (this.#dialect === 'sqlite' && sqlite !== undefined) {
      const insert = this.#sqliteInsertOf(sqlite);
      // Kysely shares the one SQLite connection and may be inside another request's transaction:
      // hold its connection lock, or these statements would land inside that transaction.
      try {
        return await this.#db.connection().execute(async () => insert(rows));
      } catch (error) {
        // A statement prepared against a schema that changed since is prepared again next time.
        this.#sqliteInsert = undefined;
        throw error;
      }
    }
    const chunks: PredictionRecordRow[][] = [];
    for (let i = 0; i < rows.length; i += POSTGRES_ROWS_PER_INSERT) {
      chunks.push(rows.slice(i, i + POSTGRES_ROWS_PER_INSERT));
    }
    const insertChunk = async (db: Kysely<Database>, chunk: PredictionRecordRow[]): Promise<number> => {
      const result = await db
        .insertInto('prediction_records')
        .values(chunk)
        .onConflict((oc) => oc.column('record_id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n);
    };
    if (chunks.length === 1) return insertChunk(this.#db, chunks[0] as PredictionRecordRow[]);
    return this.#db.transaction().execute(async (trx) => {
      let inserted = 0;
      for (const chunk of chunks) inserted += await insertChunk(trx, chunk);
      return inserted;
    });
  }

  /**
   * Inserts records given as lines (`toPredictionLine`, as the recorder keeps them); see
   * {@link insert}. Returns how many were new.
   */
  async insertLines(lines: readonly string[]): Promise<number> {
    return this.insert(lines.map(predictionRowFromLine));
  }

  /** Records matching `filter`, newest first (`received_at`, then `record_id`, descending), after `cursor`. */
  async search(
    filter: PredictionFilter,
    cursor: PredictionCursor | undefined,
    limit: number,
  ): Promise<PredictionRecordRow[]> {
    let select = this.#db.selectFrom('prediction_records').selectAll();
    if (filter.deployment !== undefined) select = select.where('deployment', '=', filter.deployment);
    if (filter.modelName !== undefined) select = select.where('model_name', '=', filter.modelName);
    if (filter.modelVersion !== undefined) select = select.where('model_version', '=', filter.modelVersion);
    if (filter.caller !== undefined) select = select.where('caller', '=', filter.caller);
    if (filter.status !== undefined) select = select.where('status', '=', filter.status);
    if (filter.from !== undefined) select = select.where('received_at', '>=', filter.from);
    if (filter.to !== undefined) select = select.where('received_at', '<=', filter.to);
    if (cursor !== undefined) {
      select = select.where((eb: ExpressionBuilder<Database, 'prediction_records'>) =>
        eb.or([
          eb('received_at', '<', cursor.receivedAt),
          eb.and([eb('received_at', '=', cursor.receivedAt), eb('record_id', '<', cursor.recordId)]),
        ]),
      );
    }
    const rows = await select
      .orderBy('received_at', 'desc')
      .orderBy('record_id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(normalizeRow);
  }

  /** Sets the label of every record of `requestId` (a call and its shadow); returns how many there are. */
  async setLabel(requestId: string, label: string, timestamp: number, actor: string): Promise<number> {
    const result = await this.#db
      .updateTable('prediction_records')
      .set({ label, label_timestamp: timestamp, label_actor: actor })
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** How many records each deployment holds for one model version (shadow calls included), by deployment name. */
  async countsByModelVersion(
    name: string,
    version: string,
  ): Promise<{ deployment: string; count: number }[]> {
    const rows = await this.#db
      .selectFrom('prediction_records')
      .select(['deployment', sql<number>`count(*)`.as('count')])
      .where('model_name', '=', name)
      .where('model_version', '=', version)
      .groupBy('deployment')
      .orderBy('deployment')
      .execute();
    return rows.map((row) => ({ deployment: row.deployment, count: Number(row.count) }));
  }

  /** Every record (tests and benchmarks compare it with the calls made). */
  async count(): Promise<number> {
    const row = await this.#db
      .selectFrom('prediction_records')
      .select(sql<number>`count(*)`.as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  #sqliteInsertOf(sqlite: SqliteDatabase.Database): (rows: readonly PredictionRecordRow[]) => number {
    if (this.#sqliteInsert) return this.#sqliteInsert;
    const many = sqlite.prepare(insertSql(SQLITE_ROWS_PER_INSERT));
    const one = sqlite.prepare(insertSql(1));
    const width = PREDICTION_COLUMNS.length;
    const transaction = sqlite.transaction((rows: readonly PredictionRecordRow[]) => {
      let inserted = 0;
      const values: unknown[] = new Array(SQLITE_ROWS_PER_INSERT * width);
      let i = 0;
      for (; i + SQLITE_ROWS_PER_INSERT <= rows.length; i += SQLITE_ROWS_PER_INSERT) {
        for (let j = 0; j < SQLITE_ROWS_PER_INSERT; j++) {
          bind(values, j * width, rows[i + j] as PredictionRecordRow);
        }
        inserted += many.run(values).changes;
      }
      const single: unknown[] = new Array(width);
      for (; i < rows.length; i++) {
        bind(single, 0, rows[i] as PredictionRecordRow);
        inserted += one.run(single).changes;
      }
      return inserted;
    });
    // IMMEDIATE takes the write lock up front: another process holding it makes us wait on the
    // busy timeout instead of failing with SQLITE_BUSY at the first write.
    this.#sqliteInsert = (rows) => transaction.immediate(rows);
    return this.#sqliteInsert;
  }
}

function insertSql(rows: number): string {
  const tuple = `(${PREDICTION_COLUMNS.map(() => '?').join(', ')})`;
  const values = Array.from({ length: rows }, () => tuple).join(', ');
  return `insert into prediction_records (${PREDICTION_COLUMNS.join(', ')}) values ${values} on conflict (record_id) do nothing`;
}

function bind(values: unknown[], at: number, row: PredictionRecordRow): void {
  for (let k = 0; k < PREDICTION_COLUMNS.length; k++)
    values[at + k] = row[PREDICTION_COLUMNS[k] as keyof PredictionRecordRow];
}

// PostgreSQL BIGINTs arrive as numbers (see postgres-dialect.ts); be explicit anyway.
function normalizeRow(row: PredictionRecordRow): PredictionRecordRow {
  return {
    ...row,
    deployment_revision: Number(row.deployment_revision),
    received_at: Number(row.received_at),
    completed_at: Number(row.completed_at),
    latency_ms: Number(row.latency_ms),
    status: Number(row.status),
    label_timestamp: row.label_timestamp === null ? null : Number(row.label_timestamp),
  };
}
