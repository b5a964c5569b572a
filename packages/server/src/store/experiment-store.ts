import type { Comparison, FilterExpr, LifecycleStage, OrderByClause } from '@keel/core';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { Actor, ChangeSink } from '../changes/change.js';
import type { DialectName } from './dialect.js';
import { groupBy } from './group-by.js';
import type { Database, ExperimentRow, KeyValueRow } from './schema.js';
import { comparisonSql, compileFilter } from './search-sql.js';

/** A stored experiment with its tags. */
export interface StoredExperiment {
  experimentId: number;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: KeyValueRow[];
}

/** Which experiments a search returns, by lifecycle stage. */
export type StageFilter = 'active' | 'deleted' | 'all';

export interface ExperimentSearchQuery {
  stages: StageFilter;
  filter?: FilterExpr;
  orderBy: readonly OrderByClause[];
  offset: number;
  /** Rows to fetch (page size + 1 to detect a next page). */
  limit: number;
}

type Row = Omit<ExperimentRow, 'experiment_id'> & { experiment_id: number };

/**
 * SQL for experiments and their tags. Knows nothing of HTTP or MLflow's rules. Every write runs
 * in one transaction with its `recorder.record` call, so a change and its audit event commit or
 * roll back together; `before` values are read inside that transaction.
 */
export class ExperimentStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly recorder: ChangeSink,
  ) {}

  /** Inserts an experiment; when no artifact location is given it becomes `<root>/<id>`. */
  async insert(
    values: {
      name: string;
      artifactLocation?: string;
      artifactRoot: string;
      tags: readonly KeyValueRow[];
      now: number;
    },
    actor: Actor,
  ): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const { experiment_id } = await trx
        .insertInto('experiments')
        .values({
          name: values.name,
          artifact_location: values.artifactLocation ?? '',
          lifecycle_stage: 'active',
          creation_time: values.now,
          last_update_time: values.now,
        })
        .returning('experiment_id')
        .executeTakeFirstOrThrow();
      const id = Number(experiment_id);
      const artifactLocation = values.artifactLocation ?? `${values.artifactRoot.replace(/\/+$/, '')}/${id}`;
      if (values.artifactLocation === undefined) {
        await trx
          .updateTable('experiments')
          .set({ artifact_location: artifactLocation })
          .where('experiment_id', '=', id)
          .execute();
      }
      if (values.tags.length > 0) {
        await trx
          .insertInto('experiment_tags')
          .values(values.tags.map((t) => ({ experiment_id: id, key: t.key, value: t.value })))
          .onConflict((oc) =>
            oc.columns(['experiment_id', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
          )
          .execute();
      }
      await this.recorder.record(trx, actor, {
        action: 'experiment.created',
        entity: 'experiment',
        entityId: String(id),
        after: {
          name: values.name,
          artifact_location: artifactLocation,
          tags: values.tags.map(({ key, value }) => ({ key, value })),
        },
      });
      return id;
    });
  }

  async get(id: number): Promise<StoredExperiment | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('experiment_id', '=', id)
      .executeTakeFirst();
    return row ? (await this.withTags([row as Row]))[0] : undefined;
  }

  /** Finds by exact name, preferring the active experiment when a deleted one shares the name. */
  async getByName(name: string): Promise<StoredExperiment | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('name', '=', name)
      .orderBy(sql`case when lifecycle_stage = 'active' then 0 else 1 end`)
      .limit(1)
      .executeTakeFirst();
    return row ? (await this.withTags([row as Row]))[0] : undefined;
  }

  async search(query: ExperimentSearchQuery): Promise<StoredExperiment[]> {
    let select = this.db.selectFrom('experiments').selectAll();
    if (query.stages !== 'all') select = select.where('lifecycle_stage', '=', query.stages);
    if (query.filter) select = select.where(compileFilter(query.filter, (c) => this.comparison(c)));
    for (const clause of query.orderBy) {
      const column = clause.key === 'name' ? sql.ref('name') : sql.ref(clause.key);
      select = select.orderBy(column, clause.ascending ? 'asc' : 'desc');
    }
    const rows = await select
      .orderBy('experiment_id', 'desc')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    return this.withTags(rows as Row[]);
  }

  async rename(id: number, name: string, now: number, actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const before = await this.#row(trx, id);
      await trx
        .updateTable('experiments')
        .set({ name, last_update_time: now })
        .where('experiment_id', '=', id)
        .execute();
      await this.recorder.record(trx, actor, {
        action: 'experiment.renamed',
        entity: 'experiment',
        entityId: String(id),
        before: { name: before?.name },
        after: { name },
      });
    });
  }

  async setTag(id: number, key: string, value: string, actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const before = await this.#tagValue(trx, id, key);
      await trx
        .insertInto('experiment_tags')
        .values({ experiment_id: id, key, value })
        .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value }))
        .execute();
      await this.recorder.record(trx, actor, {
        action: 'experiment_tag.set',
        entity: 'experiment',
        entityId: String(id),
        ...(before === undefined ? {} : { before: { key, value: before } }),
        after: { key, value },
      });
    });
  }

  /** Returns whether a tag was removed (nothing is recorded when there was none). */
  async deleteTag(id: number, key: string, actor: Actor): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const before = await this.#tagValue(trx, id, key);
      if (before === undefined) return false;
      await trx
        .deleteFrom('experiment_tags')
        .where('experiment_id', '=', id)
        .where('key', '=', key)
        .execute();
      await this.recorder.record(trx, actor, {
        action: 'experiment_tag.deleted',
        entity: 'experiment',
        entityId: String(id),
        before: { key, value: before },
      });
      return true;
    });
  }

  /**
   * Sets the lifecycle stage of the experiment and of all its runs, atomically; recorded as
   * `experiment.deleted` or `experiment.restored`.
   */
  async setLifecycleStage(id: number, stage: LifecycleStage, now: number, actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const before = await this.#row(trx, id);
      await trx
        .updateTable('experiments')
        .set({ lifecycle_stage: stage, last_update_time: now })
        .where('experiment_id', '=', id)
        .execute();
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
        .where('experiment_id', '=', id)
        .execute();
      await this.recorder.record(trx, actor, {
        action: stage === 'deleted' ? 'experiment.deleted' : 'experiment.restored',
        entity: 'experiment',
        entityId: String(id),
        before: { lifecycle_stage: before?.lifecycle_stage },
        after: { lifecycle_stage: stage },
      });
    });
  }

  /** Ids of deleted experiments, optionally only those deleted before `before`. */
  async deletedIds(before?: number): Promise<number[]> {
    let select = this.db
      .selectFrom('experiments')
      .select('experiment_id')
      .where('lifecycle_stage', '=', 'deleted');
    if (before !== undefined) select = select.where('last_update_time', '<', before);
    return (await select.execute()).map((r) => Number(r.experiment_id));
  }

  /** Permanently removes an experiment; its runs, tags and dataset rows go with it (cascade). */
  async purge(id: number, actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const before = await this.#row(trx, id);
      if (!before) return;
      await trx.deleteFrom('experiments').where('experiment_id', '=', id).execute();
      await this.recorder.record(trx, actor, {
        action: 'experiment.purged',
        entity: 'experiment',
        entityId: String(id),
        before: { name: before.name, lifecycle_stage: before.lifecycle_stage },
      });
    });
  }

  #row(trx: Transaction<Database>, id: number) {
    return (
      trx
        .selectFrom('experiments')
        .select(['name', 'lifecycle_stage'])
        .where('experiment_id', '=', id)
        // Locks the row on PostgreSQL so `before` is what this transaction replaces.
        .$if(this.dialect === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst()
    );
  }

  async #tagValue(trx: Transaction<Database>, id: number, key: string): Promise<string | undefined> {
    const row = await trx
      .selectFrom('experiment_tags')
      .select('value')
      .where('experiment_id', '=', id)
      .where('key', '=', key)
      .$if(this.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
    return row?.value;
  }

  private comparison(c: Comparison): RawBuilder<boolean> {
    if (c.entity === 'tag') {
      return sql<boolean>`exists (select 1 from experiment_tags t where t.experiment_id = experiments.experiment_id and t.key = ${c.key} and ${comparisonSql(sql.ref('t.value'), c.op, c.value, this.dialect)})`;
    }
    return comparisonSql(sql.ref(`experiments.${c.key}`), c.op, c.value, this.dialect);
  }

  private async withTags(rows: Row[]): Promise<StoredExperiment[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => Number(r.experiment_id));
    const tags = await this.db
      .selectFrom('experiment_tags')
      .select(['experiment_id', 'key', 'value'])
      .where('experiment_id', 'in', ids)
      .orderBy('key')
      .execute();
    const byId = groupBy(tags, (t) => Number(t.experiment_id));
    return rows.map((r) => ({
      experimentId: Number(r.experiment_id),
      name: r.name,
      artifactLocation: r.artifact_location,
      lifecycleStage: r.lifecycle_stage as LifecycleStage,
      creationTime: Number(r.creation_time),
      lastUpdateTime: Number(r.last_update_time),
      tags: (byId.get(Number(r.experiment_id)) ?? []).map(({ key, value }) => ({ key, value })),
    }));
  }
}
