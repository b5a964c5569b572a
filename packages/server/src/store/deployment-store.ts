import type { Kysely, Transaction } from 'kysely';
import type { DialectName } from './dialect.js';
import type { Database, DeploymentRevisionRow, DeploymentRow } from './schema.js';

/** A deployment row with the revision row it currently points at. */
export interface StoredDeployment {
  deployment: DeploymentRow;
  current: DeploymentRevisionRow;
}

type DeploymentPatch = Partial<Omit<DeploymentRow, 'name'>>;

/**
 * SQL for deployments and their revisions (tables of migration `0006-deployments`). Knows
 * nothing of specs or HTTP: specs are JSON text here. A store made by {@link transaction} runs
 * every query in that transaction.
 */
export class DeploymentStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** Runs `work` in one transaction, with a store bound to it and the raw transaction (for change sinks). */
  transaction<T>(work: (store: DeploymentStore, trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new DeploymentStore(trx, this.dialect), trx));
  }

  /**
   * The deployment row, deleted or not, locked until the transaction ends: on PostgreSQL with
   * `FOR UPDATE`, so concurrent writers of one deployment take turns and each sees the revision
   * the previous one committed; SQLite's write transactions (`BEGIN IMMEDIATE`) are exclusive
   * already. Call it inside {@link transaction}.
   */
  async lock(name: string): Promise<DeploymentRow | undefined> {
    return this.db
      .selectFrom('deployments')
      .selectAll()
      .where('name', '=', name)
      .$if(this.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
  }

  /** A live (not deleted) deployment with its current revision. */
  async get(name: string): Promise<StoredDeployment | undefined> {
    return (await this.live(name))[0];
  }

  /** Every live deployment with its current revision, by name. */
  async list(): Promise<StoredDeployment[]> {
    return this.live();
  }

  async insert(row: DeploymentRow): Promise<void> {
    await this.db.insertInto('deployments').values(row).execute();
  }

  async update(name: string, patch: DeploymentPatch): Promise<void> {
    await this.db.updateTable('deployments').set(patch).where('name', '=', name).execute();
  }

  /** Adds a revision; the primary key (name, revision) refuses a number taken twice. */
  async insertRevision(row: DeploymentRevisionRow): Promise<void> {
    await this.db.insertInto('deployment_revisions').values(row).execute();
  }

  async getRevision(name: string, revision: number): Promise<DeploymentRevisionRow | undefined> {
    return this.db
      .selectFrom('deployment_revisions')
      .selectAll()
      .where('name', '=', name)
      .where('revision', '=', revision)
      .executeTakeFirst();
  }

  /** Every revision of `name`, newest first (those made before a delete included). */
  async revisions(name: string): Promise<DeploymentRevisionRow[]> {
    return this.db
      .selectFrom('deployment_revisions')
      .selectAll()
      .where('name', '=', name)
      .orderBy('revision', 'desc')
      .execute();
  }

  private async live(name?: string): Promise<StoredDeployment[]> {
    const rows = await this.db
      .selectFrom('deployments as d')
      .innerJoin('deployment_revisions as r', (join) =>
        join.onRef('r.name', '=', 'd.name').onRef('r.revision', '=', 'd.revision'),
      )
      .select([
        'd.name',
        'd.revision',
        'd.description',
        'd.creation_timestamp',
        'd.created_by',
        'd.last_updated_timestamp',
        'd.last_updated_by',
        'd.deleted_at',
        'r.spec as r_spec',
        'r.description as r_description',
        'r.created_at as r_created_at',
        'r.created_by as r_created_by',
        'r.action as r_action',
        'r.source_revision as r_source_revision',
      ])
      .where('d.deleted_at', 'is', null)
      .$if(name !== undefined, (q) => q.where('d.name', '=', name as string))
      .orderBy('d.name')
      .execute();
    return rows.map(
      ({ r_spec, r_description, r_created_at, r_created_by, r_action, r_source_revision, ...d }) => ({
        deployment: d,
        current: {
          name: d.name,
          revision: d.revision,
          spec: r_spec,
          description: r_description,
          created_at: r_created_at,
          created_by: r_created_by,
          action: r_action,
          source_revision: r_source_revision,
        },
      }),
    );
  }
}
