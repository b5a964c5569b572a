import {
  type Comparison,
  type FilterExpr,
  type LifecycleStage,
  type OrderByClause,
  TAG_DATASET_CONTEXT,
} from '@keel/core';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { type Actor, type ActorChange, type Change, type ChangeSink, recordAll } from '../changes/change.js';
import type { DialectName } from './dialect.js';
import type { StageFilter } from './experiment-store.js';
import { groupBy } from './group-by.js';
import type { Database, DatasetRow, KeyValueRow, RunRow } from './schema.js';
import { comparisonSql, compileFilter, keyValueExists } from './search-sql.js';
import { executeSql, insertRows, SqlParams } from './sql-text.js';
import type { TrackedRunEnd, TrackingBatch, TrackingBatchWriter } from './tracking-batch.js';
import { insertChunks } from './workflow-store.js';

/** A dataset input of a run: the dataset and the input's tags. */
export interface StoredDatasetInput {
  dataset: Omit<DatasetRow, 'dataset_id' | 'experiment_id'>;
  tags: KeyValueRow[];
}

/** Params, tags and dataset inputs of several runs, by run id. */
export interface RunDetails {
  params: Map<string, KeyValueRow[]>;
  tags: Map<string, KeyValueRow[]>;
  inputs: Map<string, StoredDatasetInput[]>;
  /** Logged-model ids a run consumed. */
  modelInputs: Map<string, string[]>;
  /** Logged models a run produced, with the step. */
  modelOutputs: Map<string, { model_id: string; step: number }[]>;
}

export interface RunSearchQuery {
  experimentIds: readonly number[];
  stages: StageFilter;
  filter?: FilterExpr;
  orderBy: readonly OrderByClause[];
  offset: number;
  limit: number;
}

/** Run attributes as the filter grammar names them → columns of `runs`. */
const ATTRIBUTE_COLUMNS: Record<string, keyof RunRow> = {
  run_id: 'run_uuid',
  run_name: 'name',
  user_id: 'user_id',
  status: 'status',
  artifact_uri: 'artifact_uri',
  start_time: 'start_time',
  end_time: 'end_time',
  lifecycle_stage: 'lifecycle_stage',
};

/** Run ids per `IN (…)` list of {@link RunStore.writeBatch}: far below both dialects' bound-parameter limits. */
const BATCH_KEY_CHUNK = 500;

/**
 * SQL for runs, their params, tags and dataset inputs. Every write other than log-batch (see
 * `BatchWriter`) runs in one transaction with its `recorder.record` call, so a change and its
 * audit event commit or roll back together.
 */
export class RunStore implements TrackingBatchWriter {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    private readonly recorder: ChangeSink,
  ) {}

  async insert(run: RunRow, tags: readonly KeyValueRow[], actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('runs').values(run).execute();
      if (tags.length > 0) {
        await trx
          .insertInto('tags')
          .values(tags.map((t) => ({ run_uuid: run.run_uuid, key: t.key, value: t.value })))
          .onConflict((oc) =>
            oc.columns(['run_uuid', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
          )
          .execute();
      }
      await this.recorder.record(trx, actor, runCreatedChange(run, tags));
    });
  }

  /**
   * Stores a tracking batch inside `trx`: its runs with their tags and params (multi-row inserts),
   * then its ends (status and end time of active runs still in their `previousStatus`), then one
   * change per run created
   * (`run.created`, as {@link insert} records it) and per run ended (`run.updated`, `before` being
   * the status the batch's writer gave the run), appended together. Params are not recorded, as
   * with log-batch. Nothing is read back.
   */
  async writeBatch(trx: Transaction<Database>, batch: TrackingBatch): Promise<void> {
    // SQL text rather than the query builder: a workflow scheduler turn writes a few runs, and
    // building the statements cost more than running them (see sql-text.ts).
    const created = batch.created;
    await insertChunks(
      created.map((run) => run.row),
      (rows) => insertRows(trx, this.dialect, 'runs', rows),
    );
    const tags = created.flatMap((run) => run.tags.map((t) => ({ run_uuid: run.row.run_uuid, ...t })));
    await insertChunks(tags, (rows) =>
      insertRows(
        trx,
        this.dialect,
        'tags',
        rows,
        'on conflict ("run_uuid", "key") do update set "value" = excluded."value"',
      ),
    );
    const params = created.flatMap((run) => run.params.map((p) => ({ run_uuid: run.row.run_uuid, ...p })));
    await insertChunks(params, (rows) => insertRows(trx, this.dialect, 'params', rows));
    const ended = await this.#endRuns(trx, batch.ended);
    const changes: ActorChange[] = created.map((run) => ({
      actor: run.actor,
      change: runCreatedChange(run.row, run.tags),
    }));
    for (const end of ended) {
      changes.push({
        actor: end.actor,
        change: {
          action: 'run.updated',
          entity: 'run',
          entityId: end.runId,
          before: { status: end.previousStatus },
          after: { status: end.status, end_time: end.endTime },
        },
      });
    }
    await recordAll(this.recorder, trx, changes);
  }

  /**
   * Sets status and end time of the active runs among `ends` still in their previous status (one
   * statement per distinct status change and end time); returns the ends applied, one per run.
   */
  async #endRuns(trx: Transaction<Database>, ends: readonly TrackedRunEnd[]): Promise<TrackedRunEnd[]> {
    const groups = groupBy(ends, (end) => `${end.previousStatus}\u0000${end.status}\u0000${end.endTime}`);
    const applied = new Map<string, TrackedRunEnd>();
    for (const group of groups.values()) {
      const { previousStatus, status, endTime } = group[0] as TrackedRunEnd;
      const byId = new Map(group.map((end) => [end.runId, end]));
      const ids = [...byId.keys()];
      for (let i = 0; i < ids.length; i += BATCH_KEY_CHUNK) {
        const params = new SqlParams(this.dialect);
        const set = params.assignments({ status, end_time: endTime });
        const { rows } = await executeSql<{ run_uuid: string }>(
          trx,
          `update "runs" set ${set} where "run_uuid" in (${params.list(ids.slice(i, i + BATCH_KEY_CHUNK))}) and "status" = ${params.bind(previousStatus)} and "lifecycle_stage" = ${params.bind('active')} returning "run_uuid"`,
          params,
        );
        for (const { run_uuid } of rows) applied.set(run_uuid, byId.get(run_uuid) as TrackedRunEnd);
      }
    }
    return [...applied.values()];
  }

  async get(runId: string): Promise<RunRow | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('run_uuid', '=', runId).executeTakeFirst();
    return row ? normalizeRun(row) : undefined;
  }

  async getMany(runIds: readonly string[]): Promise<RunRow[]> {
    if (runIds.length === 0) return [];
    const rows = await this.db.selectFrom('runs').selectAll().where('run_uuid', 'in', runIds).execute();
    const byId = new Map(rows.map((r) => [r.run_uuid, normalizeRun(r)]));
    return runIds.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Updates status, end time and/or name; a new name is mirrored into the `mlflow.runName` tag.
   * Recorded as `run.updated` with the old and new values of the fields given.
   */
  async update(
    runId: string,
    patch: { status?: string; endTime?: number; name?: string },
    runNameTag: string,
    actor: Actor,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const old = await this.#row(trx, runId);
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      if (patch.status !== undefined) {
        before.status = old?.status;
        after.status = patch.status;
      }
      if (patch.endTime !== undefined) {
        before.end_time = old?.end_time ?? undefined;
        after.end_time = patch.endTime;
      }
      if (patch.name !== undefined) {
        before.run_name = old?.name;
        after.run_name = patch.name;
      }
      const set: Partial<RunRow> = {};
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.endTime !== undefined) set.end_time = patch.endTime;
      if (patch.name !== undefined) set.name = patch.name;
      if (Object.keys(set).length > 0)
        await trx.updateTable('runs').set(set).where('run_uuid', '=', runId).execute();
      if (patch.name !== undefined) {
        await trx
          .insertInto('tags')
          .values({ run_uuid: runId, key: runNameTag, value: patch.name })
          .onConflict((oc) => oc.columns(['run_uuid', 'key']).doUpdateSet({ value: patch.name as string }))
          .execute();
      }
      await this.recorder.record(trx, actor, {
        action: 'run.updated',
        entity: 'run',
        entityId: runId,
        before,
        after,
      });
    });
  }

  /**
   * Copies a run name already written to the `mlflow.runName` tag (by log-batch, which records
   * the tag change) into the run row; not recorded again.
   */
  async mirrorRunName(runId: string, name: string): Promise<void> {
    await this.db.updateTable('runs').set({ name }).where('run_uuid', '=', runId).execute();
  }

  /** Recorded as `run.deleted` or `run.restored`. */
  async setLifecycleStage(runId: string, stage: LifecycleStage, now: number, actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const old = await this.#row(trx, runId);
      await trx
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
        .where('run_uuid', '=', runId)
        .execute();
      await this.recorder.record(trx, actor, {
        action: stage === 'deleted' ? 'run.deleted' : 'run.restored',
        entity: 'run',
        entityId: runId,
        before: { lifecycle_stage: old?.lifecycle_stage },
        after: { lifecycle_stage: stage },
      });
    });
  }

  /** Returns whether the tag existed (nothing is recorded when it did not). */
  async deleteTag(runId: string, key: string, actor: Actor): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const before = await this.#tagValue(trx, runId, key);
      if (before === undefined) return false;
      await trx.deleteFrom('tags').where('run_uuid', '=', runId).where('key', '=', key).execute();
      await this.recorder.record(trx, actor, {
        action: 'run_tag.deleted',
        entity: 'run',
        entityId: runId,
        before: { key, value: before },
      });
      return true;
    });
  }

  /**
   * Replaces a tag with `next(previous value)` in one transaction (no lost update between two
   * concurrent calls) and records `change` (e.g. `run.model_logged`) with it.
   */
  async updateTag(
    runId: string,
    key: string,
    next: (previous: string | undefined) => string,
    actor: Actor,
    change: Change,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const value = next(await this.#tagValue(trx, runId, key));
      await trx
        .insertInto('tags')
        .values({ run_uuid: runId, key, value })
        .onConflict((oc) => oc.columns(['run_uuid', 'key']).doUpdateSet({ value }))
        .execute();
      await this.recorder.record(trx, actor, change);
    });
  }

  async getTag(runId: string, key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .select('value')
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  /**
   * Ids of the runs matching a search, in order, `limit` at most from `offset`.
   *
   * When the first sort key is a metric that the filter also constrains at the top level
   * (`metrics.acc > 0.9 … order by metrics.acc desc`, the common "best runs" query), only runs
   * having that metric can match: the metric is joined inner with those comparisons in the join,
   * so the planner walks the (key, value) index in order. A first, cheap query finds the metric
   * value at the last row of the page; the full query with MLflow's tie-breaks then only sorts
   * the runs at or beyond that value instead of every match.
   */
  async search(query: RunSearchQuery): Promise<string[]> {
    if (query.experimentIds.length === 0) return [];
    const lead = leadingMetric(query);
    const joins: RawBuilder<unknown>[] = [];
    const orderTerms: RawBuilder<unknown>[] = [];
    query.orderBy.forEach((clause, index) => {
      const alias = `o${index}`;
      if (index === 0 && lead) {
        orderTerms.push(this.orderTerm(sql.ref('o0.value'), clause.ascending));
        return;
      }
      orderTerms.push(this.orderTerm(this.orderColumn(clause, alias, joins), clause.ascending));
    });
    orderTerms.push(sql`runs.start_time desc`, sql`runs.run_uuid asc`);
    const where: RawBuilder<boolean>[] = [
      sql<boolean>`runs.experiment_id in (${sql.join(query.experimentIds.map((id) => sql`${id}`))})`,
    ];
    if (query.stages !== 'all') where.push(sql<boolean>`runs.lifecycle_stage = ${query.stages}`);
    const filter = lead ? lead.rest : query.filter;
    if (filter) where.push(compileFilter(filter, (c) => this.comparison(c)));
    let from = sql`from runs ${sql.join(joins, sql` `)}`;
    if (lead) {
      const key = query.orderBy[0]?.key as string;
      where.push(sql<boolean>`o0.run_uuid = runs.run_uuid and o0.key = ${key}`);
      for (const c of lead.conditions)
        where.push(comparisonSql(sql.ref('o0.value'), c.op, c.value, this.dialect));
      // SQLite's planner, misled by range estimates, may scan every run of the experiment and
      // sort; CROSS JOIN pins the metric index as the outer loop (SQLite never reorders it).
      from =
        this.dialect === 'sqlite'
          ? sql`from latest_metrics o0 cross join runs ${sql.join(joins, sql` `)}`
          : sql`from latest_metrics o0 join runs on true ${sql.join(joins, sql` `)}`;
    }

    if (lead) {
      const ascending = query.orderBy[0]?.ascending ?? true;
      const boundary = await sql<{ value: number }>`select o0.value as value ${from}
        where ${sql.join(where, sql` and `)}
        order by o0.value ${sql.raw(ascending ? 'asc' : 'desc')}
        limit 1 offset ${query.offset + query.limit - 1}`.execute(this.db);
      const value = boundary.rows[0]?.value;
      if (value !== undefined && value !== null) {
        where.push(ascending ? sql<boolean>`o0.value <= ${value}` : sql<boolean>`o0.value >= ${value}`);
      }
    }
    const result = await sql<{ run_uuid: string }>`select runs.run_uuid ${from}
      where ${sql.join(where, sql` and `)}
      order by ${sql.join(orderTerms)}
      limit ${query.limit} offset ${query.offset}`.execute(this.db);
    return result.rows.map((r) => r.run_uuid);
  }

  /** Params, tags and dataset inputs of the given runs, in a fixed number of queries. */
  async details(runIds: readonly string[]): Promise<RunDetails> {
    if (runIds.length === 0) {
      return {
        params: new Map(),
        tags: new Map(),
        inputs: new Map(),
        modelInputs: new Map(),
        modelOutputs: new Map(),
      };
    }
    const ids = [...runIds];
    const [params, tags, inputs, inputTags, modelInputs, modelOutputs] = await Promise.all([
      this.db
        .selectFrom('params')
        .select(['run_uuid', 'key', 'value'])
        .where('run_uuid', 'in', ids)
        .orderBy('key')
        .execute(),
      this.db
        .selectFrom('tags')
        .select(['run_uuid', 'key', 'value'])
        .where('run_uuid', 'in', ids)
        .orderBy('key')
        .execute(),
      this.db
        .selectFrom('run_inputs')
        .innerJoin('datasets', 'datasets.dataset_id', 'run_inputs.dataset_id')
        .select([
          'run_inputs.run_uuid',
          'datasets.dataset_id',
          'datasets.name',
          'datasets.digest',
          'datasets.source_type',
          'datasets.source',
          'datasets.schema',
          'datasets.profile',
        ])
        .where('run_inputs.run_uuid', 'in', ids)
        .orderBy('datasets.dataset_id')
        .execute(),
      this.db
        .selectFrom('run_input_tags')
        .select(['run_uuid', 'dataset_id', 'key', 'value'])
        .where('run_uuid', 'in', ids)
        .orderBy('key')
        .execute(),
      this.db
        .selectFrom('run_model_inputs')
        .select(['run_uuid', 'model_id'])
        .where('run_uuid', 'in', ids)
        .orderBy('model_id')
        .execute(),
      this.db
        .selectFrom('run_model_outputs')
        .select(['run_uuid', 'model_id', 'step'])
        .where('run_uuid', 'in', ids)
        .orderBy('step')
        .orderBy('model_id')
        .execute(),
    ]);
    const tagsByInput = groupBy(inputTags, (t) => `${t.run_uuid}/${Number(t.dataset_id)}`);
    const keyValues = (rows: { run_uuid: string; key: string; value: string }[]) =>
      new Map(
        [...groupBy(rows, (r) => r.run_uuid)].map(([id, list]) => [
          id,
          list.map(({ key, value }) => ({ key, value })),
        ]),
      );
    return {
      params: keyValues(params),
      tags: keyValues(tags),
      modelInputs: new Map(
        [...groupBy(modelInputs, (m) => m.run_uuid)].map(([id, list]) => [id, list.map((m) => m.model_id)]),
      ),
      modelOutputs: new Map(
        [...groupBy(modelOutputs, (m) => m.run_uuid)].map(([id, list]) => [
          id,
          list.map((m) => ({ model_id: m.model_id, step: Number(m.step) })),
        ]),
      ),
      inputs: new Map(
        [...groupBy(inputs, (i) => i.run_uuid)].map(([id, list]) => [
          id,
          list.map((i) => ({
            dataset: {
              name: i.name,
              digest: i.digest,
              source_type: i.source_type,
              source: i.source,
              schema: i.schema,
              profile: i.profile,
            },
            tags: (tagsByInput.get(`${id}/${Number(i.dataset_id)}`) ?? []).map(({ key, value }) => ({
              key,
              value,
            })),
          })),
        ]),
      ),
    };
  }

  /**
   * Records dataset inputs and logged-model inputs in one transaction: datasets are shared per
   * experiment by (name, digest); re-logging either is idempotent.
   */
  async logInputs(
    runId: string,
    experimentId: number,
    inputs: readonly {
      dataset: Omit<DatasetRow, 'dataset_id' | 'experiment_id'>;
      tags: readonly KeyValueRow[];
    }[],
    modelIds: readonly string[],
    actor: Actor,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (modelIds.length > 0) {
        await trx
          .insertInto('run_model_inputs')
          .values(modelIds.map((model_id) => ({ run_uuid: runId, model_id })))
          .onConflict((oc) => oc.columns(['run_uuid', 'model_id']).doNothing())
          .execute();
      }
      for (const input of inputs) {
        const d = input.dataset;
        await trx
          .insertInto('datasets')
          .values({ experiment_id: experimentId, ...d })
          .onConflict((oc) => oc.columns(['experiment_id', 'name', 'digest']).doNothing())
          .execute();
        const { dataset_id } = await trx
          .selectFrom('datasets')
          .select('dataset_id')
          .where('experiment_id', '=', experimentId)
          .where('name', '=', d.name)
          .where('digest', '=', d.digest)
          .executeTakeFirstOrThrow();
        const datasetId = Number(dataset_id);
        await trx
          .insertInto('run_inputs')
          .values({ run_uuid: runId, dataset_id: datasetId })
          .onConflict((oc) => oc.columns(['run_uuid', 'dataset_id']).doNothing())
          .execute();
        if (input.tags.length > 0) {
          await trx
            .insertInto('run_input_tags')
            .values(
              input.tags.map((t) => ({ run_uuid: runId, dataset_id: datasetId, key: t.key, value: t.value })),
            )
            .onConflict((oc) =>
              oc
                .columns(['run_uuid', 'dataset_id', 'key'])
                .doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
            )
            .execute();
        }
      }
      await this.recorder.record(trx, actor, {
        action: 'run.inputs_logged',
        entity: 'run',
        entityId: runId,
        after: {
          datasets: inputs.map((input) => ({
            name: input.dataset.name,
            digest: input.dataset.digest,
            tags: input.tags.map(({ key, value }) => ({ key, value })),
          })),
          model_ids: [...modelIds],
        },
      });
    });
  }

  /** Records logged models a run produced at a step; recording one twice is a no-op. */
  async logModelOutputs(
    runId: string,
    outputs: readonly { modelId: string; step: number }[],
    actor: Actor,
  ): Promise<void> {
    if (outputs.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('run_model_outputs')
        .values(outputs.map((o) => ({ run_uuid: runId, model_id: o.modelId, step: o.step })))
        .onConflict((oc) => oc.columns(['run_uuid', 'model_id', 'step']).doNothing())
        .execute();
      await this.recorder.record(trx, actor, {
        action: 'run.outputs_logged',
        entity: 'run',
        entityId: runId,
        after: { models: outputs.map((o) => ({ model_id: o.modelId, step: o.step })) },
      });
    });
  }

  /** Distinct (experiment, dataset, context) triples of the active runs of some experiments. */
  async datasetSummaries(experimentIds: readonly number[], limit: number) {
    const rows = await sql<{ experiment_id: number; name: string; digest: string; context: string | null }>`
      select distinct d.experiment_id, d.name, d.digest, it.value as context
      from datasets d
      join run_inputs ri on ri.dataset_id = d.dataset_id
      join runs r on r.run_uuid = ri.run_uuid and r.lifecycle_stage = 'active'
      left join run_input_tags it on it.run_uuid = ri.run_uuid and it.dataset_id = ri.dataset_id and it.key = ${TAG_DATASET_CONTEXT}
      where d.experiment_id in (${sql.join(experimentIds.map((id) => sql`${id}`))})
      order by d.experiment_id, d.name, d.digest, context
      limit ${limit}`.execute(this.db);
    return rows.rows.map((r) => ({ ...r, experiment_id: Number(r.experiment_id) }));
  }

  /** Ids of deleted runs, optionally only those deleted before `before`. */
  async deletedIds(before?: number, experimentIds?: readonly number[]): Promise<string[]> {
    let select = this.db.selectFrom('runs').select('run_uuid').where('lifecycle_stage', '=', 'deleted');
    if (before !== undefined) select = select.where('deleted_time', '<', before);
    if (experimentIds !== undefined) select = select.where('experiment_id', 'in', [...experimentIds]);
    return (await select.execute()).map((r) => r.run_uuid);
  }

  /** Id and artifact URI of every run of an experiment, whatever its lifecycle stage (for gc). */
  async artifactUris(experimentId: number): Promise<{ run_uuid: string; artifact_uri: string }[]> {
    return this.db
      .selectFrom('runs')
      .select(['run_uuid', 'artifact_uri'])
      .where('experiment_id', '=', experimentId)
      .execute();
  }

  /** Permanently removes one run and everything logged to it (cascading foreign keys). */
  async purge(runId: string, actor: Actor): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const old = await this.#row(trx, runId);
      if (!old) return;
      await trx.deleteFrom('runs').where('run_uuid', '=', runId).execute();
      await this.recorder.record(trx, actor, {
        action: 'run.purged',
        entity: 'run',
        entityId: runId,
        before: {
          experiment_id: String(old.experiment_id),
          run_name: old.name,
          lifecycle_stage: old.lifecycle_stage,
        },
      });
    });
  }

  #row(trx: Transaction<Database>, runId: string) {
    return (
      trx
        .selectFrom('runs')
        .selectAll()
        .where('run_uuid', '=', runId)
        // Locks the row on PostgreSQL so `before` is what this transaction replaces.
        .$if(this.dialect === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst()
    );
  }

  async #tagValue(trx: Transaction<Database>, runId: string, key: string): Promise<string | undefined> {
    const row = await trx
      .selectFrom('tags')
      .select('value')
      .where('run_uuid', '=', runId)
      .where('key', '=', key)
      .$if(this.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
    return row?.value;
  }

  private comparison(c: Comparison): RawBuilder<boolean> {
    const compare = (column: string) => comparisonSql(sql.ref(column), c.op, c.value, this.dialect);
    switch (c.entity) {
      case 'metric':
        return keyValueExists('latest_metrics', 'run_uuid', 'runs.run_uuid', c, this.dialect);
      case 'param':
        return keyValueExists('params', 'run_uuid', 'runs.run_uuid', c, this.dialect);
      case 'tag':
        return keyValueExists('tags', 'run_uuid', 'runs.run_uuid', c, this.dialect);
      case 'attribute':
        return compare(`runs.${attributeColumn(c.key)}`);
      case 'dataset':
        if (c.key === 'context') {
          return sql<boolean>`exists (select 1 from run_input_tags it where it.run_uuid = runs.run_uuid and it.key = ${TAG_DATASET_CONTEXT} and ${compare('it.value')})`;
        }
        return sql<boolean>`exists (select 1 from run_inputs ri join datasets d on d.dataset_id = ri.dataset_id where ri.run_uuid = runs.run_uuid and ${compare(`d.${c.key === 'digest' ? 'digest' : 'name'}`)})`;
      default: {
        const exhaustive: never = c.entity;
        throw new Error(`unknown entity ${String(exhaustive)}`);
      }
    }
  }

  /** The column to sort by, adding the (left) join it needs. */
  private orderColumn(
    clause: OrderByClause,
    alias: string,
    joins: RawBuilder<unknown>[],
  ): RawBuilder<unknown> {
    switch (clause.entity) {
      case 'metric': {
        joins.push(
          sql`left join latest_metrics ${sql.raw(alias)} on ${sql.ref(`${alias}.run_uuid`)} = runs.run_uuid and ${sql.ref(`${alias}.key`)} = ${clause.key}`,
        );
        return sql.ref(`${alias}.value`);
      }
      case 'param':
      case 'tag': {
        const table = clause.entity === 'param' ? 'params' : 'tags';
        joins.push(
          sql`left join ${sql.raw(table)} ${sql.raw(alias)} on ${sql.ref(`${alias}.run_uuid`)} = runs.run_uuid and ${sql.ref(`${alias}.key`)} = ${clause.key}`,
        );
        return sql.ref(`${alias}.value`);
      }
      case 'attribute':
        return sql.ref(`runs.${attributeColumn(clause.key)}`);
      case 'dataset':
        throw new Error('ordering by dataset is not supported');
      default: {
        const exhaustive: never = clause.entity;
        throw new Error(`unknown entity ${String(exhaustive)}`);
      }
    }
  }

  /** Missing values sort last in both directions; only the non-default null order is spelled out. */
  private orderTerm(column: RawBuilder<unknown>, ascending: boolean): RawBuilder<unknown> {
    // SQLite sorts NULL first ascending; PostgreSQL sorts NULL first descending.
    if (this.dialect === 'sqlite') return ascending ? sql`${column} asc nulls last` : sql`${column} desc`;
    return ascending ? sql`${column} asc` : sql`${column} desc nulls last`;
  }
}

function attributeColumn(key: string): string {
  const column = ATTRIBUTE_COLUMNS[key];
  if (!column) throw new Error(`unknown run attribute ${key}`);
  return column;
}

/**
 * The comparisons of a top-level AND that constrain the first sort key, when that key is a
 * metric: every run matching them has the metric (a comparison never matches a missing or NaN
 * value), so they can move into an inner join. `rest` is the filter without them.
 */
function leadingMetric(query: RunSearchQuery): { conditions: Comparison[]; rest?: FilterExpr } | undefined {
  const first = query.orderBy[0];
  if (first?.entity !== 'metric' || !query.filter) return undefined;
  const conjuncts = query.filter.kind === 'and' ? query.filter.items : [query.filter];
  const conditions: Comparison[] = [];
  const rest: FilterExpr[] = [];
  for (const c of conjuncts) {
    if (c.kind === 'comparison' && c.entity === 'metric' && c.key === first.key) conditions.push(c);
    else rest.push(c);
  }
  if (conditions.length === 0) return undefined;
  if (rest.length === 0) return { conditions };
  return { conditions, rest: rest.length === 1 ? (rest[0] as FilterExpr) : { kind: 'and', items: rest } };
}

/** The `run.created` change of a new run and its tags. */
function runCreatedChange(run: RunRow, tags: readonly KeyValueRow[]): Change {
  return {
    action: 'run.created',
    entity: 'run',
    entityId: run.run_uuid,
    after: {
      experiment_id: String(run.experiment_id),
      run_name: run.name,
      user_id: run.user_id,
      status: run.status,
      start_time: run.start_time,
      tags: tags.map(({ key, value }) => ({ key, value })),
    },
  };
}

function normalizeRun(row: RunRow): RunRow {
  return {
    ...row,
    experiment_id: Number(row.experiment_id),
    start_time: Number(row.start_time),
    end_time: row.end_time === null ? null : Number(row.end_time),
    deleted_time: row.deleted_time === null ? null : Number(row.deleted_time),
  };
}
