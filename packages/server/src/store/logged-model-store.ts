import type { Comparison, OrderByClause } from '@keel/core';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { Actor, ChangeSink } from '../changes/change.js';
import type { DialectName } from './dialect.js';
import type { Database, KeyValueRow, LoggedModelRow } from './schema.js';
import { comparisonSql, compileFilter, keyValueExists } from './search-sql.js';

/** A logged model with its tags and params, as the store returns it. */
export interface StoredLoggedModel {
  row: LoggedModelRow;
  tags: KeyValueRow[];
  params: KeyValueRow[];
}

/** A parsed logged-model search: experiments to look in, filter, order, and one page's window. */
export interface LoggedModelSearchQuery {
  experimentIds: readonly number[];
  filter?: Parameters<typeof compileFilter>[0];
  orderBy: readonly OrderByClause[];
  offset: number;
  limit: number;
}

/** Attribute (search key) → column of `logged_models`. */
const ATTRIBUTE_COLUMNS: Readonly<Record<string, string>> = {
  model_id: 'model_id',
  name: 'name',
  model_type: 'model_type',
  status: 'status',
  source_run_id: 'source_run_id',
  creation_timestamp: 'creation_timestamp_ms',
  last_updated_timestamp: 'last_updated_timestamp_ms',
};

/** The two key-value tables of a logged model. */
type DetailTable = 'logged_model_tags' | 'logged_model_params';

/**
 * SQL for MLflow 3 logged models, their tags and params. Every write runs in one transaction with
 * its `recorder.record` call, so a change and its audit event commit or roll back together.
 * Deleted models are kept with `lifecycle_stage = 'deleted'` and never returned.
 */
export class LoggedModelStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly recorder: ChangeSink,
  ) {}

  /** Inserts a model with its tags and params; records `logged_model.created`. */
  async insert(model: StoredLoggedModel, actor: Actor, after: unknown): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('logged_models').values(model.row).execute();
      await upsert(trx, 'logged_model_tags', model.row.model_id, model.tags);
      await upsert(trx, 'logged_model_params', model.row.model_id, model.params);
      await this.recorder.record(trx, actor, {
        action: 'logged_model.created',
        entity: 'logged_model',
        entityId: model.row.model_id,
        after,
      });
    });
  }

  /** An active (not deleted) model, or `undefined`. */
  async get(modelId: string): Promise<StoredLoggedModel | undefined> {
    const row = await this.db
      .selectFrom('logged_models')
      .selectAll()
      .where('model_id', '=', modelId)
      .where('lifecycle_stage', '=', 'active')
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return (await this.withDetails([row]))[0];
  }

  /**
   * Changes an active model inside one transaction: `write` updates it (given the transaction),
   * the model's `last_updated_timestamp_ms` becomes `now`, and `action` is recorded with `before`
   * and `after` given by the caller. Returns false when no active model has the id.
   */
  async change(
    modelId: string,
    now: number,
    actor: Actor,
    action: string,
    write: (trx: Transaction<Database>) => Promise<unknown>,
    detail: unknown,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const touched = await trx
        .updateTable('logged_models')
        .set({ last_updated_timestamp_ms: now })
        .where('model_id', '=', modelId)
        .where('lifecycle_stage', '=', 'active')
        .executeTakeFirst();
      if (touched.numUpdatedRows === 0n) return false;
      await write(trx);
      await this.recorder.record(trx, actor, {
        action,
        entity: 'logged_model',
        entityId: modelId,
        after: detail,
      });
      return true;
    });
  }

  /** Sets the status (finalize) inside {@link change}'s transaction. */
  static setStatus(trx: Transaction<Database>, modelId: string, status: string): Promise<unknown> {
    return trx.updateTable('logged_models').set({ status }).where('model_id', '=', modelId).execute();
  }

  /** Soft-deletes inside {@link change}'s transaction. */
  static markDeleted(trx: Transaction<Database>, modelId: string): Promise<unknown> {
    return trx
      .updateTable('logged_models')
      .set({ lifecycle_stage: 'deleted' })
      .where('model_id', '=', modelId)
      .execute();
  }

  /** Sets (inserts or overwrites) tags or params inside {@link change}'s transaction. */
  static setEntries(
    trx: Transaction<Database>,
    table: DetailTable,
    modelId: string,
    entries: readonly KeyValueRow[],
  ): Promise<void> {
    return upsert(trx, table, modelId, entries);
  }

  /** Deletes one tag inside {@link change}'s transaction; false when the model had no such tag. */
  static async deleteTag(trx: Transaction<Database>, modelId: string, key: string): Promise<boolean> {
    const deleted = await trx
      .deleteFrom('logged_model_tags')
      .where('model_id', '=', modelId)
      .where('key', '=', key)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  /** One page of active models of the experiments, filtered and ordered, with their details. */
  async search(query: LoggedModelSearchQuery): Promise<StoredLoggedModel[]> {
    if (query.experimentIds.length === 0) return [];
    let select = this.db
      .selectFrom('logged_models')
      .selectAll()
      .where('lifecycle_stage', '=', 'active')
      .where('experiment_id', 'in', [...query.experimentIds]);
    if (query.filter) select = select.where(compileFilter(query.filter, (c) => this.comparison(c)));
    for (const clause of query.orderBy) {
      const column = sql.ref(`logged_models.${ATTRIBUTE_COLUMNS[clause.key] ?? 'creation_timestamp_ms'}`);
      // Missing values (model_type, source_run_id) last in both dialects, as MLflow sorts them.
      select = select
        .orderBy(sql`case when ${column} is null then 1 else 0 end`, 'asc')
        .orderBy(column, clause.ascending ? 'asc' : 'desc');
    }
    // As in MLflow, newest first breaks ties unless the order already names the creation time.
    if (!query.orderBy.some((clause) => clause.key === 'creation_timestamp')) {
      select = select.orderBy('creation_timestamp_ms', 'desc');
    }
    const rows = await select.orderBy('model_id', 'asc').offset(query.offset).limit(query.limit).execute();
    return this.withDetails(rows);
  }

  private comparison(c: Comparison): RawBuilder<boolean> {
    switch (c.entity) {
      case 'tag':
        return keyValueExists('logged_model_tags', 'model_id', 'logged_models.model_id', c, this.dialect);
      case 'param':
        return keyValueExists('logged_model_params', 'model_id', 'logged_models.model_id', c, this.dialect);
      default: {
        // The schema admits only attributes besides tags and params.
        const column = sql.ref(`logged_models.${ATTRIBUTE_COLUMNS[c.key] ?? 'name'}`);
        return comparisonSql(column, c.op, c.value, this.dialect);
      }
    }
  }

  /** Tags and params of the rows, in two queries, keys sorted. */
  private async withDetails(rows: readonly LoggedModelRow[]): Promise<StoredLoggedModel[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.model_id);
    const [tags, params] = await Promise.all(
      (['logged_model_tags', 'logged_model_params'] as const).map((table) =>
        this.db
          .selectFrom(table)
          .select(['model_id', 'key', 'value'])
          .where('model_id', 'in', ids)
          .orderBy('key')
          .execute(),
      ),
    );
    const byModel = (list: readonly (KeyValueRow & { model_id: string })[] | undefined, id: string) =>
      (list ?? []).filter((kv) => kv.model_id === id).map((kv) => ({ key: kv.key, value: kv.value }));
    return rows.map((row) => ({
      row,
      tags: byModel(tags, row.model_id),
      params: byModel(params, row.model_id),
    }));
  }
}

/** Inserts key-value rows of one model, overwriting the value of a key it already has. */
async function upsert(
  trx: Transaction<Database>,
  table: DetailTable,
  modelId: string,
  entries: readonly KeyValueRow[],
): Promise<void> {
  if (entries.length === 0) return;
  // The last value of a key wins, as one statement cannot update the same row twice.
  const last = new Map(entries.map((kv) => [kv.key, kv.value]));
  await trx
    .insertInto(table)
    .values([...last].map(([key, value]) => ({ model_id: modelId, key, value })))
    .onConflict((oc) =>
      oc.columns(['model_id', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
    )
    .execute();
}
