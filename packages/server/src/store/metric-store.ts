import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { StoreConnection } from './database.js';
import type { Database, MetricRow } from './schema.js';

/** One point of a metric's history, NaN restored. */
export interface StoredMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** A history point together with the run it belongs to. */
export interface StoredRunMetric extends StoredMetric {
  runId: string;
}

/** Which slice of one history {@link MetricStore.history} returns. */
export interface HistoryRange {
  /** Points to skip. */
  offset: number;
  /** Points to return. @default all remaining */
  limit?: number;
}

/** How {@link MetricStore.bulkInterval} samples each run. */
export interface BulkIntervalOptions {
  /** Lowest step considered (inclusive). @default the run's first step */
  startStep?: number;
  /** Highest step considered (inclusive). @default the run's last step */
  endStep?: number;
  /** Steps to sample per run; at least 2 are always kept (first and last). */
  maxResults: number;
}

/** Run ids per `in (…)` list: well below SQLite's 32766 and PostgreSQL's 65535 bind parameters. */
const RUN_IDS_PER_QUERY = 5000;

/** Larger than any history; lets an offset go without a limit on both dialects. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** SQL reads of metric history and latest metrics. Writes go through the dialect's `BatchWriter`. */
export class MetricStore {
  readonly #db: Kysely<Database>;

  constructor(store: StoreConnection) {
    this.#db = store.db;
  }

  /**
   * A run's history of one key ordered by step, then timestamp, then value — the order of the
   * `metrics` primary key, so a page is an index range walk.
   *
   * @example
   * const firstPage = await metrics.history(runId, 'loss', { offset: 0, limit: 1000 });
   */
  async history(runId: string, key: string, range: HistoryRange): Promise<StoredMetric[]> {
    const rows = await this.#db
      .selectFrom('metrics')
      .select(['key', 'value', 'timestamp', 'step', 'is_nan'])
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .orderBy('step')
      .orderBy('timestamp')
      .orderBy('value')
      .orderBy('is_nan')
      .limit(range.limit ?? NO_LIMIT)
      .offset(range.offset)
      .execute();
    return rows.map(toStoredMetric);
  }

  /**
   * The histories of one key for several runs, run by run (in ascending run id) and each in
   * history order, at most `limit` points in all. Backs the UI's older `get-history-bulk` call.
   */
  async historyBulk(runIds: readonly string[], key: string, limit: number): Promise<StoredRunMetric[]> {
    if (runIds.length === 0) return [];
    const rows = await this.#db
      .selectFrom('metrics')
      .select(['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan'])
      .where('run_uuid', 'in', [...runIds])
      .where('key', '=', key)
      .orderBy('run_uuid')
      .orderBy('step')
      .orderBy('timestamp')
      .orderBy('value')
      .orderBy('is_nan')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ ...toStoredMetric(row), runId: row.run_uuid }));
  }

  /**
   * Samples one key's history of each run for charts, in SQL, touching only the sampled rows.
   *
   * Sampling rule, per run: let `first` and `last` be the lowest and highest stored steps within
   * [`startStep`, `endStep`], and `n = max(maxResults, 2)`. Take `n` target steps evenly spaced
   * by step *value* from `first` to `last` (both included; every integer step when the range is
   * narrower than `n`), replace each target with the first stored step at or above it, and
   * de-duplicate. Every stored point at the chosen steps is returned (a step may hold several
   * points), ordered by run in request order, then step, timestamp, value.
   *
   * So a run yields at most `n` distinct steps, always its first and last in range. When steps
   * are evenly spaced (0, 1, 2 … or every 10th) this picks the same steps as MLflow's sampling
   * by rank; with irregular gaps it follows the step axis, which is what a chart draws.
   * Each target is one index seek, so the cost grows with `maxResults`, not with the history.
   *
   * @example
   * const points = await metrics.bulkInterval([runA, runB], 'loss', { maxResults: 320 });
   */
  async bulkInterval(
    runIds: readonly string[],
    key: string,
    options: BulkIntervalOptions,
  ): Promise<StoredRunMetric[]> {
    if (runIds.length === 0) return [];
    const lastTick = sql.lit(Math.max(Math.trunc(options.maxResults), 2) - 1);
    const inRange = stepRange('m', options.startStep, options.endStep);
    // The ordinal is inlined: PostgreSQL would type a bare parameter in VALUES as text.
    const wanted = sql.join(runIds.map((runId, ordinal) => sql`(${sql.lit(ordinal)}, ${runId})`));
    // Integer arithmetic only: a double target would stop PostgreSQL from seeking the bigint
    // index. `(span / d) * i + (span % d) * i / d` is floor(span * i / d) without the overflow.
    // The tick count is inlined because better-sqlite3 binds every JS number as a REAL, which
    // would turn SQLite's integer division into a fractional one.
    const result = await sql<MetricRow & { ordinal: number }>`
      with recursive
        wanted (ordinal, run_uuid) as (values ${wanted}),
        bounds as (
          select w.ordinal, w.run_uuid,
            (select m.step from metrics m where m.run_uuid = w.run_uuid and m.key = ${key} ${inRange}
              order by m.step limit 1) as lo,
            (select m.step from metrics m where m.run_uuid = w.run_uuid and m.key = ${key} ${inRange}
              order by m.step desc limit 1) as hi
          from wanted w
        ),
        ticks (ordinal, run_uuid, i, lo, span, d) as (
          select ordinal, run_uuid, 0, lo, hi - lo,
            case when hi - lo < ${lastTick} then hi - lo else ${lastTick} end
          from bounds where lo is not null
          union all
          select ordinal, run_uuid, i + 1, lo, span, d from ticks where i < d
        ),
        chosen as (
          select distinct t.ordinal, t.run_uuid,
            (select m.step from metrics m
              where m.run_uuid = t.run_uuid and m.key = ${key}
                and m.step >= t.lo + case when t.d = 0 then 0 else (t.span / t.d) * t.i + (t.span % t.d) * t.i / t.d end
              order by m.step limit 1) as step
          from ticks t
        )
      select c.ordinal, m.run_uuid, m.key, m.step, m.timestamp, m.value, m.is_nan
      from chosen c
      join metrics m on m.run_uuid = c.run_uuid and m.key = ${key} and m.step = c.step
      order by c.ordinal, m.step, m.timestamp, m.value, m.is_nan
    `.execute(this.#db);
    return result.rows.map((row) => ({ ...toStoredMetric(row), runId: row.run_uuid }));
  }

  /**
   * The `latest_metrics` rows of the given runs, as stored: NaN is `value = null, is_nan = 1`.
   * Ordered by run id, then key.
   */
  async latest(runIds: readonly string[]): Promise<MetricRow[]> {
    const rows: MetricRow[] = [];
    for (let start = 0; start < runIds.length; start += RUN_IDS_PER_QUERY) {
      const chunk = runIds.slice(start, start + RUN_IDS_PER_QUERY);
      rows.push(
        ...(await this.#db
          .selectFrom('latest_metrics')
          .select(['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan'])
          .where('run_uuid', 'in', chunk)
          .orderBy('run_uuid')
          .orderBy('key')
          .execute()),
      );
    }
    return rows;
  }
}

function stepRange(
  alias: string,
  startStep: number | undefined,
  endStep: number | undefined,
): RawBuilder<unknown> {
  const column = sql.ref(`${alias}.step`);
  return sql.join(
    [
      ...(startStep === undefined ? [] : [sql`and ${column} >= ${startStep}`]),
      ...(endStep === undefined ? [] : [sql`and ${column} <= ${endStep}`]),
    ],
    sql` `,
  );
}

function toStoredMetric(
  row: Pick<MetricRow, 'key' | 'value' | 'timestamp' | 'step' | 'is_nan'>,
): StoredMetric {
  return {
    key: row.key,
    value: row.is_nan ? Number.NaN : Number(row.value),
    timestamp: row.timestamp,
    step: row.step,
  };
}
