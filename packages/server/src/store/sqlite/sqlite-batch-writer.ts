import type SqliteDatabase from 'better-sqlite3';
import type { AuditLog } from '../../audit/audit-log.js';
import type { Actor } from '../../changes/change.js';
import {
  type BatchPlan,
  historyValue,
  LATER_THAN_STORED_SQL,
  latestValue,
  planBatch,
} from '../batch-plan.js';
import { type BatchWriter, type ParamConflict, type RunBatch, runTagSetChange } from '../batch-writer.js';
import type { StoreConnection } from '../database.js';

/**
 * Points per multi-row `insert into metrics`: one statement call per 100 points cuts the
 * per-call cost of better-sqlite3 that dominates a row-at-a-time loop, while 600 bound values
 * stay far below SQLite's variable limit.
 */
const METRIC_ROWS_PER_INSERT = 100;

interface Statements {
  selectParam: SqliteDatabase.Statement<[string, string], string>;
  insertParam: SqliteDatabase.Statement<[string, string, string]>;
  selectTag: SqliteDatabase.Statement<[string, string], string>;
  upsertTag: SqliteDatabase.Statement<[string, string, string]>;
  insertMetric: SqliteDatabase.Statement<unknown[]>;
  insertMetrics: SqliteDatabase.Statement<unknown[]>;
  upsertLatest: SqliteDatabase.Statement<[string, string, number, number, number | null, number]>;
}

/**
 * The SQLite log-batch writer, Keel's ingest hot path: prepared statements on the raw
 * better-sqlite3 handle inside one synchronous `BEGIN IMMEDIATE` transaction. A batch with tags
 * also appends their `run_tag.set` audit events in that transaction (`AuditLog.recordSync`); a
 * metrics-and-params batch pays nothing for auditing.
 *
 * Kysely shares the same single connection and may be in the middle of an asynchronous
 * transaction of another request; the write therefore runs while holding Kysely's connection
 * lock, or its statements would land inside that other transaction. Do not call it from inside
 * a Kysely transaction on the same store: it would wait for its own lock.
 *
 * @example
 * const writer = new SqliteBatchWriter(store);
 * const { conflicts } = await writer.write({ runId, metrics, params: [], tags: [] });
 */
export class SqliteBatchWriter implements BatchWriter {
  readonly #store: StoreConnection;
  readonly #sqlite: SqliteDatabase.Database;
  readonly #audit: AuditLog;
  #statements: Statements | undefined;
  #transaction: ((runId: string, plan: BatchPlan, actor: Actor) => ParamConflict[]) | undefined;

  constructor(store: StoreConnection, audit: AuditLog) {
    if (store.dialect !== 'sqlite' || store.sqlite === undefined) {
      throw new Error('SqliteBatchWriter needs a SQLite store with its raw better-sqlite3 handle');
    }
    this.#store = store;
    this.#sqlite = store.sqlite;
    this.#audit = audit;
  }

  async write(batch: RunBatch, actor: Actor): Promise<{ conflicts: ParamConflict[] }> {
    const plan = planBatch(batch);
    if (plan.conflicts.length > 0) return { conflicts: plan.conflicts };
    const transaction = this.#immediateTransaction();
    const conflicts = await this.#store.db
      .connection()
      .execute(async () => transaction(batch.runId, plan, actor));
    return { conflicts };
  }

  // Prepared lazily: the writer may be built before the store is migrated.
  #immediateTransaction(): (runId: string, plan: BatchPlan, actor: Actor) => ParamConflict[] {
    if (this.#transaction) return this.#transaction;
    const statements = this.#prepare();
    const sqlite = this.#sqlite;
    const audit = this.#audit;
    const transaction = this.#sqlite.transaction((runId: string, plan: BatchPlan, actor: Actor) => {
      // Read before the upserts: the audit event says what each tag replaced.
      const previous = plan.tags.map((tag) => statements.selectTag.get(runId, tag.key));
      const conflicts = writePlan(statements, runId, plan);
      if (conflicts.length > 0) return conflicts;
      // Last in the transaction, as AuditLog asks; a throw here rolls the whole batch back.
      plan.tags.forEach((tag, i) => {
        audit.recordSync(sqlite, actor, runTagSetChange(runId, tag, previous[i]));
      });
      return conflicts;
    });
    // IMMEDIATE takes the write lock up front, so another process holding it makes us wait on
    // the busy timeout instead of failing with SQLITE_BUSY at the first write.
    this.#transaction = (runId, plan, actor) => transaction.immediate(runId, plan, actor);
    return this.#transaction;
  }

  #prepare(): Statements {
    this.#statements ??= {
      selectParam: this.#sqlite
        .prepare<[string, string], string>('select value from params where run_uuid = ? and key = ?')
        .pluck(),
      insertParam: this.#sqlite.prepare('insert into params (run_uuid, key, value) values (?, ?, ?)'),
      selectTag: this.#sqlite
        .prepare<[string, string], string>('select value from tags where run_uuid = ? and key = ?')
        .pluck(),
      upsertTag: this.#sqlite.prepare(
        'insert into tags (run_uuid, key, value) values (?, ?, ?) on conflict (run_uuid, key) do update set value = excluded.value',
      ),
      insertMetric: this.#sqlite.prepare(metricInsertSql(1)),
      insertMetrics: this.#sqlite.prepare(metricInsertSql(METRIC_ROWS_PER_INSERT)),
      upsertLatest: this.#sqlite.prepare(
        `insert into latest_metrics (run_uuid, key, step, timestamp, value, is_nan) values (?, ?, ?, ?, ?, ?)
         on conflict (run_uuid, key) do update set
           step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan
         where ${LATER_THAN_STORED_SQL}`,
      ),
    };
    return this.#statements;
  }
}

function metricInsertSql(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?)').join(', ');
  return `insert into metrics (run_uuid, key, step, timestamp, value, is_nan) values ${values} on conflict do nothing`;
}

/** The body of the transaction; returns the param conflicts, having written nothing when there are any. */
function writePlan(statements: Statements, runId: string, plan: BatchPlan): ParamConflict[] {
  // Params are checked before anything is written, so a conflict needs no rollback: the write
  // lock taken by BEGIN IMMEDIATE keeps the checked values stable until commit.
  const newParams = [];
  const conflicts: ParamConflict[] = [];
  for (const param of plan.params) {
    const stored = statements.selectParam.get(runId, param.key);
    if (stored === undefined) newParams.push(param);
    else if (stored !== param.value)
      conflicts.push({ key: param.key, oldValue: stored, newValue: param.value });
  }
  if (conflicts.length > 0) return conflicts;

  for (const param of newParams) statements.insertParam.run(runId, param.key, param.value);
  for (const tag of plan.tags) statements.upsertTag.run(runId, tag.key, tag.value);

  const points = plan.metrics;
  const chunk: unknown[] = new Array(METRIC_ROWS_PER_INSERT * 6);
  let i = 0;
  for (; i + METRIC_ROWS_PER_INSERT <= points.length; i += METRIC_ROWS_PER_INSERT) {
    for (let j = 0; j < METRIC_ROWS_PER_INSERT; j++) {
      const point = points[i + j]!;
      const [value, isNan] = historyValue(point.value);
      const at = j * 6;
      chunk[at] = runId;
      chunk[at + 1] = point.key;
      chunk[at + 2] = point.step;
      chunk[at + 3] = point.timestamp;
      chunk[at + 4] = value;
      chunk[at + 5] = isNan;
    }
    statements.insertMetrics.run(chunk);
  }
  for (; i < points.length; i++) {
    const point = points[i]!;
    const [value, isNan] = historyValue(point.value);
    statements.insertMetric.run(runId, point.key, point.step, point.timestamp, value, isNan);
  }

  for (const point of plan.latest) {
    const [value, isNan] = latestValue(point.value);
    statements.upsertLatest.run(runId, point.key, point.step, point.timestamp, value, isNan);
  }
  return [];
}
