import type { Comparison, FilterExpr, OrderByClause } from '@keel/core';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { DialectName } from './dialect.js';
import { groupBy } from './group-by.js';
import type { Database, KeyValueRow, ModelVersionRow, RegisteredModelRow } from './schema.js';
import { comparisonSql, compileFilter } from './search-sql.js';

/** A stored model version with its tags and the aliases pointing at it. */
export interface StoredModelVersion extends ModelVersionRow {
  tags: KeyValueRow[];
  aliases: string[];
}

/** A stored registered model with its tags, aliases and the latest version of each stage. */
export interface StoredRegisteredModel extends RegisteredModelRow {
  tags: KeyValueRow[];
  aliases: { alias: string; version: number }[];
  latestVersions: StoredModelVersion[];
}

/** A page request of a registry search. */
export interface RegistrySearchQuery {
  filter?: FilterExpr;
  orderBy: readonly OrderByClause[];
  offset: number;
  /** Rows to fetch (page size + 1 to detect a next page). */
  limit: number;
}

/** Search attributes → columns of `registered_models`. */
const MODEL_COLUMNS: Record<string, string> = {
  name: 'name',
  creation_timestamp: 'creation_timestamp',
  last_updated_timestamp: 'last_updated_timestamp',
};

/** Search attributes → columns of `model_versions`. */
const VERSION_COLUMNS: Record<string, string> = {
  name: 'name',
  run_id: 'run_id',
  source_path: 'source',
  version_number: 'version',
  creation_timestamp: 'creation_timestamp',
  last_updated_timestamp: 'last_updated_timestamp',
};

type VersionPatch = Partial<
  Pick<ModelVersionRow, 'description' | 'current_stage' | 'last_updated_timestamp'>
>;

/**
 * SQL for registered models, model versions, their tags and aliases. Knows nothing of HTTP or
 * MLflow's rules. A store made by {@link transaction} runs every query in that transaction.
 */
export class RegistryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** Runs `work` in one transaction, with a store bound to it and the raw transaction (for change sinks). */
  transaction<T>(work: (store: RegistryStore, trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new RegistryStore(trx, this.dialect), trx));
  }

  async getModel(name: string): Promise<StoredRegisteredModel | undefined> {
    const row = await this.db
      .selectFrom('registered_models')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? (await this.withModelDetails([row]))[0] : undefined;
  }

  async insertModel(row: RegisteredModelRow, tags: readonly KeyValueRow[]): Promise<void> {
    await this.db.insertInto('registered_models').values(row).execute();
    if (tags.length > 0) {
      await this.db
        .insertInto('registered_model_tags')
        .values(tags.map((t) => ({ name: row.name, key: t.key, value: t.value })))
        .onConflict((oc) =>
          oc.columns(['name', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
        )
        .execute();
    }
  }

  /** Renames a model; its versions, tags and aliases follow (`on update cascade`). */
  async renameModel(name: string, newName: string, now: number): Promise<void> {
    await this.db
      .updateTable('registered_models')
      .set({ name: newName, last_updated_timestamp: now })
      .where('name', '=', name)
      .execute();
  }

  async updateModel(
    name: string,
    patch: Partial<Pick<RegisteredModelRow, 'description' | 'last_updated_timestamp'>>,
  ) {
    await this.db.updateTable('registered_models').set(patch).where('name', '=', name).execute();
  }

  /** Deletes a model with its versions, tags and aliases (cascade). */
  async deleteModel(name: string): Promise<void> {
    await this.db.deleteFrom('registered_models').where('name', '=', name).execute();
  }

  async getModelTag(name: string, key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('registered_model_tags')
      .select('value')
      .where('name', '=', name)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    await this.db
      .insertInto('registered_model_tags')
      .values({ name, key, value })
      .onConflict((oc) => oc.columns(['name', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('registered_model_tags')
      .where('name', '=', name)
      .where('key', '=', key)
      .execute();
  }

  /** Takes the model's next version number and advances the counter; numbers are never handed out twice. */
  async allocateVersion(name: string): Promise<number> {
    const row = await this.db
      .updateTable('registered_models')
      .set({ next_version: sql`next_version + 1` })
      .where('name', '=', name)
      .returning('next_version')
      .executeTakeFirstOrThrow();
    return Number(row.next_version) - 1;
  }

  async insertVersion(row: ModelVersionRow, tags: readonly KeyValueRow[]): Promise<void> {
    await this.db.insertInto('model_versions').values(row).execute();
    if (tags.length > 0) {
      await this.db
        .insertInto('model_version_tags')
        .values(tags.map((t) => ({ name: row.name, version: row.version, key: t.key, value: t.value })))
        .onConflict((oc) =>
          oc.columns(['name', 'version', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') }),
        )
        .execute();
    }
  }

  async getVersion(name: string, version: number): Promise<StoredModelVersion | undefined> {
    const row = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return row ? (await this.withVersionDetails([row]))[0] : undefined;
  }

  async updateVersion(name: string, version: number, patch: VersionPatch): Promise<void> {
    await this.db
      .updateTable('model_versions')
      .set(patch)
      .where('name', '=', name)
      .where('version', '=', version)
      .execute();
  }

  /** Deletes a version with its tags and aliases (cascade). */
  async deleteVersion(name: string, version: number): Promise<void> {
    await this.db
      .deleteFrom('model_versions')
      .where('name', '=', name)
      .where('version', '=', version)
      .execute();
  }

  /** The newest version of each stage of a model (only of `stages` when given), by version number. */
  async latestVersions(name: string, stages?: readonly string[]): Promise<StoredModelVersion[]> {
    let select = this.db
      .selectFrom('model_versions as mv')
      .selectAll()
      .where('mv.name', '=', name)
      .where(
        'mv.version',
        '=',
        sql<number>`(select max(v.version) from model_versions v where v.name = mv.name and v.current_stage = mv.current_stage)`,
      );
    if (stages !== undefined) {
      if (stages.length === 0) return [];
      select = select.where('mv.current_stage', 'in', stages);
    }
    return this.withVersionDetails(await select.orderBy('mv.version').execute());
  }

  /** Versions of a model in a stage other than `except`. */
  async versionsInStage(name: string, stage: string, except: number): Promise<StoredModelVersion[]> {
    const rows = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('name', '=', name)
      .where('current_stage', '=', stage)
      .where('version', '!=', except)
      .orderBy('version')
      .execute();
    return this.withVersionDetails(rows);
  }

  /** The registry-storage locations of every version that has one (`registry/<folder>/…`). */
  async storageLocations(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('model_versions')
      .select('storage_location')
      .where('storage_location', 'is not', null)
      .execute();
    return rows.map((row) => row.storage_location as string);
  }

  /** Every version registered from a run, oldest first. */
  async versionsOfRun(runId: string): Promise<StoredModelVersion[]> {
    const rows = await this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('name')
      .orderBy('version')
      .execute();
    return this.withVersionDetails(rows);
  }

  async getVersionTag(name: string, version: number, key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('model_version_tags')
      .select('value')
      .where('name', '=', name)
      .where('version', '=', version)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
  }

  async setVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    await this.db
      .insertInto('model_version_tags')
      .values({ name, version, key, value })
      .onConflict((oc) => oc.columns(['name', 'version', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteVersionTag(name: string, version: number, key: string): Promise<void> {
    await this.db
      .deleteFrom('model_version_tags')
      .where('name', '=', name)
      .where('version', '=', version)
      .where('key', '=', key)
      .execute();
  }

  /** The version an alias points at. */
  async getAlias(name: string, alias: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('registered_model_aliases')
      .select('version')
      .where('name', '=', name)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.version);
  }

  /** Points an alias at a version, moving it if it pointed elsewhere. */
  async setAlias(name: string, alias: string, version: number): Promise<void> {
    await this.db
      .insertInto('registered_model_aliases')
      .values({ name, alias, version })
      .onConflict((oc) => oc.columns(['name', 'alias']).doUpdateSet({ version }))
      .execute();
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.db
      .deleteFrom('registered_model_aliases')
      .where('name', '=', name)
      .where('alias', '=', alias)
      .execute();
  }

  async searchModels(query: RegistrySearchQuery): Promise<StoredRegisteredModel[]> {
    let select = this.db.selectFrom('registered_models').selectAll();
    if (query.filter) select = select.where(compileFilter(query.filter, (c) => this.modelComparison(c)));
    for (const clause of query.orderBy) {
      select = select.orderBy(
        sql.ref(`registered_models.${MODEL_COLUMNS[clause.key] ?? 'name'}`),
        clause.ascending ? 'asc' : 'desc',
      );
    }
    const rows = await select.orderBy('name', 'asc').offset(query.offset).limit(query.limit).execute();
    return this.withModelDetails(rows);
  }

  async searchVersions(query: RegistrySearchQuery): Promise<StoredModelVersion[]> {
    let select = this.db.selectFrom('model_versions').selectAll();
    if (query.filter) select = select.where(compileFilter(query.filter, (c) => this.versionComparison(c)));
    for (const clause of query.orderBy) {
      select = select.orderBy(
        sql.ref(`model_versions.${VERSION_COLUMNS[clause.key] ?? 'name'}`),
        clause.ascending ? 'asc' : 'desc',
      );
    }
    const rows = await select
      .orderBy('name', 'asc')
      .orderBy('version', 'desc')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    return this.withVersionDetails(rows);
  }

  private modelComparison(c: Comparison): RawBuilder<boolean> {
    if (c.entity === 'tag') {
      return sql<boolean>`exists (select 1 from registered_model_tags t where t.name = registered_models.name and t.key = ${c.key} and ${comparisonSql(sql.ref('t.value'), c.op, c.value, this.dialect)})`;
    }
    return comparisonSql(
      sql.ref(`registered_models.${MODEL_COLUMNS[c.key] ?? 'name'}`),
      c.op,
      c.value,
      this.dialect,
    );
  }

  private versionComparison(c: Comparison): RawBuilder<boolean> {
    if (c.entity === 'tag') {
      return sql<boolean>`exists (select 1 from model_version_tags t where t.name = model_versions.name and t.version = model_versions.version and t.key = ${c.key} and ${comparisonSql(sql.ref('t.value'), c.op, c.value, this.dialect)})`;
    }
    const column = VERSION_COLUMNS[c.key] ?? 'name';
    // A version registered without a run has no run_id; `run_id != 'x'` should still match it.
    const ref =
      column === 'run_id' ? sql`coalesce(model_versions.run_id, '')` : sql.ref(`model_versions.${column}`);
    return comparisonSql(ref, c.op, c.value, this.dialect);
  }

  private async withModelDetails(rows: RegisteredModelRow[]): Promise<StoredRegisteredModel[]> {
    if (rows.length === 0) return [];
    const names = rows.map((r) => r.name);
    const [tags, aliases, latest] = await Promise.all([
      this.db
        .selectFrom('registered_model_tags')
        .select(['name', 'key', 'value'])
        .where('name', 'in', names)
        .orderBy('key')
        .execute(),
      this.db
        .selectFrom('registered_model_aliases')
        .select(['name', 'alias', 'version'])
        .where('name', 'in', names)
        .orderBy('alias')
        .execute(),
      this.db
        .selectFrom('model_versions as mv')
        .selectAll()
        .where('mv.name', 'in', names)
        .where(
          'mv.version',
          '=',
          sql<number>`(select max(v.version) from model_versions v where v.name = mv.name and v.current_stage = mv.current_stage)`,
        )
        .orderBy('mv.version')
        .execute(),
    ]);
    const tagsBy = groupBy(tags, (t) => t.name);
    const aliasesBy = groupBy(aliases, (a) => a.name);
    const latestBy = groupBy(await this.withVersionDetails(latest), (v) => v.name);
    return rows.map((r) => ({
      ...normaliseModel(r),
      tags: (tagsBy.get(r.name) ?? []).map(({ key, value }) => ({ key, value })),
      aliases: (aliasesBy.get(r.name) ?? []).map((a) => ({ alias: a.alias, version: Number(a.version) })),
      latestVersions: latestBy.get(r.name) ?? [],
    }));
  }

  private async withVersionDetails(rows: ModelVersionRow[]): Promise<StoredModelVersion[]> {
    if (rows.length === 0) return [];
    const names = [...new Set(rows.map((r) => r.name))];
    const [tags, aliases] = await Promise.all([
      this.db
        .selectFrom('model_version_tags')
        .select(['name', 'version', 'key', 'value'])
        .where('name', 'in', names)
        .orderBy('key')
        .execute(),
      this.db
        .selectFrom('registered_model_aliases')
        .select(['name', 'alias', 'version'])
        .where('name', 'in', names)
        .orderBy('alias')
        .execute(),
    ]);
    const tagsBy = groupBy(tags, (t) => `${t.name}\u0000${Number(t.version)}`);
    const aliasesBy = groupBy(aliases, (a) => `${a.name}\u0000${Number(a.version)}`);
    return rows.map((r) => {
      const id = `${r.name}\u0000${Number(r.version)}`;
      return {
        ...normaliseVersion(r),
        tags: (tagsBy.get(id) ?? []).map(({ key, value }) => ({ key, value })),
        aliases: (aliasesBy.get(id) ?? []).map((a) => a.alias),
      };
    });
  }
}

/** BIGINT columns arrive as numbers from Keel's pg pool, but SQLite may hand back bigint-like values: normalise. */
function normaliseModel(r: RegisteredModelRow): RegisteredModelRow {
  return {
    ...r,
    creation_timestamp: Number(r.creation_timestamp),
    last_updated_timestamp: Number(r.last_updated_timestamp),
    next_version: Number(r.next_version),
  };
}

function normaliseVersion(r: ModelVersionRow): ModelVersionRow {
  return {
    ...r,
    version: Number(r.version),
    creation_timestamp: Number(r.creation_timestamp),
    last_updated_timestamp: Number(r.last_updated_timestamp),
  };
}
