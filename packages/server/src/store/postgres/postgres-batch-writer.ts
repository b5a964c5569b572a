import { type Kysely, type SqlBool, sql } from 'kysely';
import type { Actor, ChangeSink } from '../../changes/change.js';
import { historyValue, LATER_THAN_STORED_SQL, latestValue, planBatch } from '../batch-plan.js';
import { type BatchWriter, type ParamConflict, type RunBatch, runTagSetChange } from '../batch-writer.js';
import type { StoreConnection } from '../database.js';
import type { Database, MetricRow } from '../schema.js';

/** PostgreSQL accepts at most 65535 bind parameters per statement; stay below it. */
const MAX_BIND_PARAMETERS = 60_000;

/** Unwinds the transaction when a param conflict is found after rows were already locked. */
class ParamConflictAbort extends Error {
  constructor(readonly conflicts: ParamConflict[]) {
    super('param conflict');
  }
}

/**
 * The PostgreSQL log-batch writer: one transaction, one multi-row statement per table (more
 * only past the bind-parameter limit).
 *
 * @example
 * const writer = new PostgresBatchWriter(store);
 * const { conflicts } = await writer.write({ runId, metrics, params: [], tags: [] });
 */
export class PostgresBatchWriter implements BatchWriter {
  readonly #db: Kysely<Database>;
  readonly #recorder: ChangeSink;

  constructor(store: StoreConnection, recorder: ChangeSink) {
    if (store.dialect !== 'postgres') throw new Error('PostgresBatchWriter needs a PostgreSQL store');
    this.#db = store.db;
    this.#recorder = recorder;
  }

  async write(batch: RunBatch, actor: Actor): Promise<{ conflicts: ParamConflict[] }> {
    const plan = planBatch(batch);
    if (plan.conflicts.length > 0) return { conflicts: plan.conflicts };
    const runId = batch.runId;
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const params of chunks(plan.params, 3)) {
          // The no-op update locks an existing row and returns its stored value in the same
          // round trip; a plain select could miss a row a concurrent batch commits meanwhile.
          const stored = await trx
            .insertInto('params')
            .values(params.map((p) => ({ run_uuid: runId, key: p.key, value: p.value })))
            .onConflict((oc) =>
              oc.columns(['run_uuid', 'key']).doUpdateSet({ value: (eb) => eb.ref('params.value') }),
            )
            .returning(['key', 'value'])
            .execute();
          const wanted = new Map(params.map((p) => [p.key, p.value]));
          const conflicts = stored.flatMap((row) => {
            const value = wanted.get(row.key);
            return value === undefined || value === row.value
              ? []
              : [{ key: row.key, oldValue: row.value, newValue: value }];
          });
          if (conflicts.length > 0) throw new ParamConflictAbort(conflicts);
        }
        // Locked (existing rows) and read before the upsert: the audit events say what each
        // tag replaced.
        const previous = new Map<string, string>();
        if (plan.tags.length > 0) {
          const rows = await trx
            .selectFrom('tags')
            .select(['key', 'value'])
            .where('run_uuid', '=', runId)
            .where(
              'key',
              'in',
              plan.tags.map((t) => t.key),
            )
            .orderBy('key')
            .forUpdate()
            .execute();
          for (const row of rows) previous.set(row.key, row.value);
        }
        for (const tags of chunks(plan.tags, 3)) {
          await trx
            .insertInto('tags')
            .values(tags.map((t) => ({ run_uuid: runId, key: t.key, value: t.value })))
            .onConflict((oc) =>
              oc.columns(['run_uuid', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
            )
            .execute();
        }
        for (const points of chunks(plan.metrics, 6)) {
          await trx
            .insertInto('metrics')
            .values(
              points.map((p): MetricRow => {
                const [value, is_nan] = historyValue(p.value);
                return { run_uuid: runId, key: p.key, step: p.step, timestamp: p.timestamp, value, is_nan };
              }),
            )
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        for (const points of chunks(plan.latest, 6)) {
          await trx
            .insertInto('latest_metrics')
            .values(
              points.map((p): MetricRow => {
                const [value, is_nan] = latestValue(p.value);
                return { run_uuid: runId, key: p.key, step: p.step, timestamp: p.timestamp, value, is_nan };
              }),
            )
            .onConflict((oc) =>
              oc
                .columns(['run_uuid', 'key'])
                .doUpdateSet((eb) => ({
                  step: eb.ref('excluded.step'),
                  timestamp: eb.ref('excluded.timestamp'),
                  value: eb.ref('excluded.value'),
                  is_nan: eb.ref('excluded.is_nan'),
                }))
                .where(sql.raw<SqlBool>(LATER_THAN_STORED_SQL)),
            )
            .execute();
        }
        // Last in the transaction: the audit append lock is then held only until commit.
        for (const tag of plan.tags) {
          await this.#recorder.record(trx, actor, runTagSetChange(runId, tag, previous.get(tag.key)));
        }
      });
    } catch (error) {
      if (error instanceof ParamConflictAbort) return { conflicts: error.conflicts };
      throw error;
    }
    return { conflicts: [] };
  }
}

/** Splits rows so that no statement binds more than {@link MAX_BIND_PARAMETERS} values. */
function* chunks<T>(rows: readonly T[], columns: number): Generator<readonly T[]> {
  const size = Math.floor(MAX_BIND_PARAMETERS / columns);
  for (let start = 0; start < rows.length; start += size) yield rows.slice(start, start + size);
}
