import {
  alreadyExists,
  type CacheMode,
  type Execution,
  type ExecutionError,
  type ExecutionMode,
  type ExecutionNode,
  type ExecutionState,
  type JsonValue,
  type NodeCacheStatus,
  type NodeKind,
  type NodeState,
  notFound,
  type TaskSpec,
  type WorkflowRegistration,
} from '@keel/core';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Actor, ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import { decodePageToken, pageOf } from '../services/page-token.js';
import type { DialectName } from './dialect.js';
import type {
  Database,
  WorkflowAttemptRow,
  WorkflowCacheRow,
  WorkflowExecutionRow,
  WorkflowNodeRow,
  WorkflowRow,
  WorkflowVersionRow,
} from './schema.js';
import { executeSql, SqlParams } from './sql-text.js';

/** What a {@link WorkflowStore} needs. */
export interface WorkflowStoreOptions {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Sees version registrations and default changes inside their transaction (audit log, webhooks). */
  changes: ChangeSink;
  /** Source of "now" for registration times, `updated_at` and cache leases. */
  clock: Clock;
}

/** One page request: at most `maxResults` items after the position `pageToken` names. */
export interface PageRequest {
  maxResults: number;
  /** From the previous page's `nextPageToken`. @default the first page */
  pageToken?: string;
}

/** One page of results; `nextPageToken` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/** A registered version as stored; `spec` parsed. */
export interface WorkflowVersionRecord extends Omit<WorkflowVersionRow, 'spec'> {
  is_default: boolean;
  spec: WorkflowRegistration;
}

/** A version in a listing: everything but the (possibly large) spec. */
export type WorkflowVersionSummary = Omit<WorkflowVersionRecord, 'spec'>;

/** An execution as stored: the wire fields plus the scheduler's bookkeeping. */
export interface ExecutionRecord extends Omit<Execution, 'nodes'> {
  updated_at: number;
  /** The scheduler process driving it, while `lease_until` is in the future. */
  owner: string | null;
  lease_until: number | null;
}

/** An execution with its nodes, in insertion order. */
export interface ExecutionWithNodes extends ExecutionRecord {
  nodes: NodeRecord[];
}

/** A node as stored: the wire fields plus the scheduler's bookkeeping. */
export interface NodeRecord extends ExecutionNode {
  execution_id: string;
  /** A queued node is due from this time (retry backoff). */
  not_before: number;
  /** The process running its current attempt, while `lease_until` is in the future. */
  owner: string | null;
  lease_until: number | null;
}

/** A new execution: what {@link WorkflowStore.createExecution} needs; the rest defaults to null. */
export type NewExecution = Pick<
  ExecutionRecord,
  'execution_id' | 'workflow' | 'version' | 'state' | 'inputs' | 'created_by' | 'created_at'
> &
  Partial<Omit<ExecutionRecord, 'mode' | 'cache_mode' | 'updated_at'>> & {
    /** @default 'launch' */
    mode?: ExecutionMode;
    /** @default 'use' */
    cache_mode?: CacheMode;
  };

/** A new node; absent fields default to null, `attempt` to 0 and `not_before` to 0. */
export type NewNode = Pick<NodeRecord, 'node_id' | 'kind' | 'state'> &
  Partial<Omit<NodeRecord, 'execution_id' | 'node_id' | 'kind' | 'state'>>;

/** Fields a node transition may change. */
export type NodeUpdate = Partial<
  Omit<NodeRecord, 'execution_id' | 'node_id' | 'kind' | 'task' | 'parent_node'>
>;

/** The state (one of several) and attempt a node must be in for a transition to apply. */
export interface NodeExpectation {
  state: NodeState | readonly NodeState[];
  attempt: number;
}

/** One transition of {@link WorkflowStore.transitionNodes}. */
export interface NodeTransition {
  executionId: string;
  nodeId: string;
  expect: NodeExpectation;
  update: NodeUpdate;
}

/** Fields an execution transition may change; `updated_at` is always set to now. */
export type ExecutionUpdate = Partial<
  Pick<
    ExecutionRecord,
    'state' | 'outputs' | 'error' | 'started_at' | 'ended_at' | 'run_id' | 'owner' | 'lease_until'
  >
>;

/** What an execution must look like for {@link WorkflowStore.transitionExecution} to apply. */
export interface ExecutionExpectation {
  state: ExecutionState | readonly ExecutionState[];
  /** When given, the execution's current owner (null: nobody). */
  owner?: string | null;
}

/** Filters of {@link WorkflowStore.listExecutions}; all optional, combined with AND. */
export interface ExecutionFilter {
  workflow?: string;
  version?: string;
  state?: ExecutionState | readonly ExecutionState[];
  createdBy?: string;
  /** `created_at >= from` (epoch ms). */
  from?: number;
  /** `created_at < to` (epoch ms). */
  to?: number;
}

/** Filters of {@link WorkflowStore.listWorkflows}. */
export interface WorkflowFilter {
  /** Names starting with this text (case-sensitive). */
  namePrefix?: string;
}

/** States of an attempt. */
export type AttemptState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One attempt of a node, as stored; `error` parsed. */
export interface AttemptRecord extends Omit<WorkflowAttemptRow, 'state' | 'error'> {
  state: AttemptState;
  error: ExecutionError | null;
}

/** How an attempt ended, for {@link WorkflowStore.finishAttempt}. */
export interface AttemptEnd {
  state: Exclude<AttemptState, 'running'>;
  ended_at: number;
  error?: ExecutionError | null;
  log_path?: string | null;
}

/** A cached task result; `outputs` parsed. */
export interface CacheEntry extends Omit<WorkflowCacheRow, 'outputs'> {
  outputs: Record<string, JsonValue>;
}

/** What {@link WorkflowStore.claimExpired} took back from processes that stopped renewing their leases. */
export interface ExpiredClaims {
  /** Running nodes put back in the queue, with their new attempt number. */
  nodes: { execution_id: string; node_id: string; attempt: number }[];
  /** Executions whose owner was cleared. */
  executions: string[];
}

/** Execution states a scheduler still has work in. */
const ACTIVE_EXECUTION_STATES: readonly ExecutionState[] = ['queued', 'running', 'cancelling'];

/** Rows per INSERT: ~20 columns × 500 stays well under both dialects' bound-parameter limits. */
const INSERT_CHUNK = 500;

/** The error of an attempt whose process vanished (killed, crashed host) without finishing it. */
const LOST_ATTEMPT_ERROR: ExecutionError = {
  kind: 'system',
  retryable: true,
  message: 'The process running this attempt stopped (its lease expired); the node was queued again',
};

/**
 * SQL for workflows (tables of migration `0009-workflows`): versions and their tasks, executions,
 * nodes, attempts and the task cache. JSON columns are parsed and written here; nothing else of
 * workflows' rules lives here.
 *
 * Concurrency: several server processes may share the store and every call is safe under
 * at-least-once delivery. A node changes state only by compare-and-set ({@link transitionNode}:
 * one UPDATE whose WHERE holds the expected state and attempt), leases are taken and taken back
 * by single conditional statements ({@link claimExpired}, {@link claimExecutions},
 * {@link reserve}), and on PostgreSQL the row a registration changes is locked (`FOR UPDATE`);
 * SQLite's write transactions (`BEGIN IMMEDIATE`) are exclusive already.
 *
 * Registering a version and changing the default version are recorded through `changes` (entity
 * `workflow`, actions `workflow.version_registered` and `workflow.default_version_set`) in the
 * same transaction.
 *
 * @example
 * const store = new WorkflowStore({ db, dialect, changes: recorder, clock: systemClock });
 * await store.registerVersion(reg, 'v1', hash, actor); // 'created'
 * await store.transitionNode(id, 'fit', { state: 'running', attempt: 1 }, { state: 'succeeded', outputs, ended_at: now });
 */
export class WorkflowStore {
  constructor(private readonly options: WorkflowStoreOptions) {}

  private get db(): Kysely<Database> {
    return this.options.db;
  }

  // ---------------------------------------------------------------------------------------------
  // Workflows and versions

  /**
   * Registers `version` of `reg.workflow.name` with its task versions. The first version of a
   * workflow becomes its default.
   *
   * @returns `'created'`, or `'exists'` when that version is registered already with the same
   *   content hash (nothing is written).
   * @throws RESOURCE_ALREADY_EXISTS when that version is registered with another content hash.
   */
  async registerVersion(
    reg: WorkflowRegistration,
    version: string,
    contentHash: string,
    actor: Actor,
  ): Promise<'created' | 'exists'> {
    const name = reg.workflow.name;
    return this.db.transaction().execute(async (trx) => {
      const now = this.options.clock();
      // Two first registrations at once: the loser's insert waits for the winner, then does nothing.
      const inserted = await trx
        .insertInto('workflows')
        .values({ name, default_version: version, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      const isFirst = Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
      if (!isFirst) await this.#lockWorkflow(trx, name);
      const existing = await trx
        .selectFrom('workflow_versions')
        .select('content_hash')
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
      if (existing !== undefined) {
        if (existing.content_hash === contentHash) return 'exists';
        throw alreadyExists(
          `Workflow '${name}' version '${version}' is already registered with different content (content hash ${existing.content_hash}, this one ${contentHash})`,
        );
      }
      await trx
        .insertInto('workflow_versions')
        .values({
          name,
          version,
          spec: JSON.stringify(reg),
          content_hash: contentHash,
          created_at: now,
          created_by: actor.user,
          description: reg.description ?? null,
        })
        .execute();
      await insertChunks(
        reg.tasks.map((task) => ({ name, version, task_name: task.name, spec: JSON.stringify(task) })),
        (rows) => trx.insertInto('workflow_tasks').values(rows).execute(),
      );
      if (!isFirst)
        await trx.updateTable('workflows').set({ updated_at: now }).where('name', '=', name).execute();
      await this.options.changes.record(trx, actor, {
        action: 'workflow.version_registered',
        entity: 'workflow',
        entityId: name,
        after: {
          name,
          version,
          content_hash: contentHash,
          code: reg.code,
          is_default: isFirst,
          ...(reg.description === undefined ? {} : { description: reg.description }),
        },
      });
      return 'created';
    });
  }

  /** A version (the default one when `version` is omitted), or undefined. */
  async getVersion(name: string, version?: string): Promise<WorkflowVersionRecord | undefined> {
    const row = await this.db
      .selectFrom('workflow_versions as v')
      .innerJoin('workflows as w', 'w.name', 'v.name')
      .selectAll('v')
      .select('w.default_version')
      .where('v.name', '=', name)
      .$if(version === undefined, (q) => q.whereRef('v.version', '=', 'w.default_version'))
      .$if(version !== undefined, (q) => q.where('v.version', '=', version as string))
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const { default_version, spec, ...fields } = row;
    return { ...fields, is_default: default_version === row.version, spec: JSON.parse(spec) };
  }

  /** The task versions of a workflow version, by task name. */
  async getTasks(name: string, version: string): Promise<TaskSpec[]> {
    const rows = await this.db
      .selectFrom('workflow_tasks')
      .select('spec')
      .where('name', '=', name)
      .where('version', '=', version)
      .orderBy('task_name')
      .execute();
    return rows.map((row) => JSON.parse(row.spec) as TaskSpec);
  }

  /** Workflows by name. */
  async listWorkflows(filter: WorkflowFilter, page: PageRequest): Promise<Page<WorkflowRow>> {
    const offset = decodePageToken(page.pageToken);
    const prefix = filter.namePrefix;
    const rows = await this.db
      .selectFrom('workflows')
      .selectAll()
      .$if(prefix !== undefined && prefix !== '', (q) =>
        q.where(sql<string>`substr(name, 1, ${(prefix as string).length})`, '=', prefix as string),
      )
      .orderBy('name')
      .offset(offset)
      .limit(page.maxResults + 1)
      .execute();
    return pageOf(rows, offset, page.maxResults);
  }

  /** Versions of a workflow, newest first, without their specs. */
  async listVersions(name: string, page: PageRequest): Promise<Page<WorkflowVersionSummary>> {
    const offset = decodePageToken(page.pageToken);
    const rows = await this.db
      .selectFrom('workflow_versions as v')
      .innerJoin('workflows as w', 'w.name', 'v.name')
      .select([
        'v.name',
        'v.version',
        'v.content_hash',
        'v.created_at',
        'v.created_by',
        'v.description',
        'w.default_version',
      ])
      .where('v.name', '=', name)
      .orderBy('v.created_at', 'desc')
      .orderBy('v.version', 'desc')
      .offset(offset)
      .limit(page.maxResults + 1)
      .execute();
    const items = rows.map(({ default_version, ...row }) => ({
      ...row,
      is_default: default_version === row.version,
    }));
    return pageOf(items, offset, page.maxResults);
  }

  /**
   * Makes `version` the default of `name` (rollback = setting an older one).
   *
   * @returns whether the default changed (setting the current default records nothing).
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown workflow or version.
   */
  async setDefault(name: string, version: string, actor: Actor): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const workflow = await this.#lockWorkflow(trx, name);
      if (workflow === undefined) throw notFound(`Workflow '${name}' not found`);
      const exists = await trx
        .selectFrom('workflow_versions')
        .select('version')
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
      if (exists === undefined) throw notFound(`Workflow '${name}' has no version '${version}'`);
      if (workflow.default_version === version) return false;
      await trx
        .updateTable('workflows')
        .set({ default_version: version, updated_at: this.options.clock() })
        .where('name', '=', name)
        .execute();
      await this.options.changes.record(trx, actor, {
        action: 'workflow.default_version_set',
        entity: 'workflow',
        entityId: name,
        before: { name, default_version: workflow.default_version },
        after: { name, default_version: version },
      });
      return true;
    });
  }

  /** The workflow row, locked until the transaction ends (PostgreSQL; SQLite transactions are exclusive). */
  #lockWorkflow(trx: Transaction<Database>, name: string): Promise<WorkflowRow | undefined> {
    return trx
      .selectFrom('workflows')
      .selectAll()
      .where('name', '=', name)
      .$if(this.options.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
  }

  // ---------------------------------------------------------------------------------------------
  // Executions and nodes

  /** Inserts an execution and its initial nodes in one transaction. */
  async createExecution(execution: NewExecution, nodes: readonly NewNode[]): Promise<void> {
    await this.db
      .transaction()
      .execute((trx) => insertExecution(trx, execution, nodes, this.options.clock()));
  }

  /**
   * Adds nodes expanded at run time (map items `train[3]`, branch subgraphs `pick.then.fit`).
   * Nodes that exist already are left alone, so expanding twice (at-least-once) is harmless.
   *
   * @returns how many nodes were inserted.
   */
  async insertNodes(executionId: string, nodes: readonly NewNode[]): Promise<number> {
    if (nodes.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('workflow_nodes')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('execution_id', '=', executionId)
        .executeTakeFirst();
      const first = last?.seq === null || last?.seq === undefined ? 0 : Number(last.seq) + 1;
      let inserted = 0;
      await insertChunks(
        nodes.map((node, i) => nodeRow(executionId, node, first + i)),
        async (rows) => {
          const result = await trx
            .insertInto('workflow_nodes')
            .values(rows)
            .onConflict((oc) => oc.columns(['execution_id', 'node_id']).doNothing())
            .executeTakeFirst();
          inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
        },
      );
      return inserted;
    });
  }

  /** An execution with every node, or undefined. */
  async getExecution(executionId: string): Promise<ExecutionWithNodes | undefined> {
    const row = await this.db
      .selectFrom('workflow_executions')
      .selectAll()
      .where('execution_id', '=', executionId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { ...toExecution(row), nodes: await this.getNodes(executionId) };
  }

  /** The nodes of an execution in insertion order, optionally only those in `states`. */
  async getNodes(executionId: string, states?: readonly NodeState[]): Promise<NodeRecord[]> {
    const rows = await this.db
      .selectFrom('workflow_nodes')
      .selectAll()
      .where('execution_id', '=', executionId)
      .$if(states !== undefined, (q) => q.where('state', 'in', states as NodeState[]))
      .orderBy('seq')
      .execute();
    return rows.map(toNode);
  }

  /** One node, or undefined. */
  async getNode(executionId: string, nodeId: string): Promise<NodeRecord | undefined> {
    const row = await this.db
      .selectFrom('workflow_nodes')
      .selectAll()
      .where('execution_id', '=', executionId)
      .where('node_id', '=', nodeId)
      .executeTakeFirst();
    return row === undefined ? undefined : toNode(row);
  }

  /**
   * Queued nodes that are due (`not_before <= now`), earliest first: the scheduler's work list.
   * Optionally only those of `executionIds` (the executions this process owns).
   */
  async dueNodes(now: number, limit: number, executionIds?: readonly string[]): Promise<NodeRecord[]> {
    if (executionIds !== undefined && executionIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('workflow_nodes')
      .selectAll()
      .where('state', '=', 'queued')
      .where('not_before', '<=', now)
      .$if(executionIds !== undefined, (q) => q.where('execution_id', 'in', executionIds as string[]))
      .orderBy('not_before')
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toNode);
  }

  /** Executions, newest first. */
  async listExecutions(filter: ExecutionFilter, page: PageRequest): Promise<Page<ExecutionRecord>> {
    const offset = decodePageToken(page.pageToken);
    const states = filter.state === undefined ? undefined : ([] as ExecutionState[]).concat(filter.state);
    const rows = await this.db
      .selectFrom('workflow_executions')
      .selectAll()
      .$if(filter.workflow !== undefined, (q) => q.where('workflow', '=', filter.workflow as string))
      .$if(filter.version !== undefined, (q) => q.where('version', '=', filter.version as string))
      .$if(states !== undefined, (q) => q.where('state', 'in', states as ExecutionState[]))
      .$if(filter.createdBy !== undefined, (q) => q.where('created_by', '=', filter.createdBy as string))
      .$if(filter.from !== undefined, (q) => q.where('created_at', '>=', filter.from as number))
      .$if(filter.to !== undefined, (q) => q.where('created_at', '<', filter.to as number))
      .orderBy('created_at', 'desc')
      .orderBy('execution_id', 'desc')
      .offset(offset)
      .limit(page.maxResults + 1)
      .execute();
    return pageOf(rows.map(toExecution), offset, page.maxResults);
  }

  /**
   * Compare-and-set of one node: applies `update` only if the node is in (one of) `expect.state`
   * and at `expect.attempt`, in a single UPDATE. Of any number of concurrent callers with the
   * same expectation exactly one gets `true`; this is what makes completion safe under
   * at-least-once delivery.
   */
  async transitionNode(
    executionId: string,
    nodeId: string,
    expect: NodeExpectation,
    update: NodeUpdate,
  ): Promise<boolean> {
    return transitionNodeIn(this.db, this.options.dialect, { executionId, nodeId, expect, update });
  }

  /** {@link transitionNode} for many nodes in one transaction; `result[i]` says whether transition i applied. */
  async transitionNodes(transitions: readonly NodeTransition[]): Promise<boolean[]> {
    if (transitions.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const results: boolean[] = [];
      for (const transition of transitions)
        results.push(await transitionNodeIn(trx, this.options.dialect, transition));
      return results;
    });
  }

  /** Compare-and-set of an execution (single UPDATE); `updated_at` becomes now. */
  async transitionExecution(
    executionId: string,
    expect: ExecutionExpectation,
    update: ExecutionUpdate,
  ): Promise<boolean> {
    const states = ([] as ExecutionState[]).concat(expect.state);
    const result = await this.db
      .updateTable('workflow_executions')
      .set({ ...executionFields(update), updated_at: this.options.clock() })
      .where('execution_id', '=', executionId)
      .where('state', 'in', states)
      .$if(expect.owner === null, (q) => q.where('owner', 'is', null))
      .$if(typeof expect.owner === 'string', (q) => q.where('owner', '=', expect.owner as string))
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /**
   * Takes up to `limit` active executions (queued, running, cancelling) that nobody holds — no
   * owner, or a lease that ran out before `now` — for `owner` until `now + leaseMs`. One
   * conditional UPDATE: two processes never take the same execution.
   *
   * @returns the ids taken.
   */
  async claimExecutions(owner: string, now: number, leaseMs: number, limit: number): Promise<string[]> {
    const free = (q: Kysely<Database>) =>
      q
        .selectFrom('workflow_executions')
        .select('execution_id')
        .where('state', 'in', ACTIVE_EXECUTION_STATES as ExecutionState[])
        .where((eb) => eb.or([eb('owner', 'is', null), eb('lease_until', '<', now)]))
        .orderBy('created_at')
        .limit(limit);
    // Read first: an idle scheduler polls this several times a second, and an UPDATE takes the
    // database's write lock even when it matches nothing (on SQLite it would queue behind, and hold
    // up, the prediction record inserts of a busy deployment).
    if ((await free(this.db).execute()).length === 0) return [];
    const rows = await this.db
      .updateTable('workflow_executions')
      .set({ owner, lease_until: now + leaseMs, updated_at: now })
      .where('execution_id', 'in', free(this.db))
      // Repeated outside the subquery: PostgreSQL re-checks these on a row another process just
      // took, so the later UPDATE skips it.
      .where('state', 'in', ACTIVE_EXECUTION_STATES as ExecutionState[])
      .where((eb) => eb.or([eb('owner', 'is', null), eb('lease_until', '<', now)]))
      .returning('execution_id')
      .execute();
    return rows.map((row) => row.execution_id);
  }

  /**
   * Extends the leases `owner` holds until `leaseUntil`: its active executions and its running
   * nodes. One UPDATE per table.
   */
  async renewLeases(owner: string, leaseUntil: number): Promise<{ executions: number; nodes: number }> {
    return this.db.transaction().execute(async (trx) => {
      const executions = await trx
        .updateTable('workflow_executions')
        .set({ lease_until: leaseUntil })
        .where('owner', '=', owner)
        .where('state', 'in', ACTIVE_EXECUTION_STATES as ExecutionState[])
        .executeTakeFirst();
      const nodes = await trx
        .updateTable('workflow_nodes')
        .set({ lease_until: leaseUntil })
        .where('owner', '=', owner)
        .where('state', '=', 'running')
        .executeTakeFirst();
      return { executions: Number(executions.numUpdatedRows), nodes: Number(nodes.numUpdatedRows) };
    });
  }

  /**
   * Takes back what dead processes held (crash resume): every `running` node whose lease ended
   * before `now` goes back to `queued` with `attempt + 1` (due at once, error = "process
   * stopped", system and retryable), its attempt row is marked failed; every active execution
   * whose owner's lease ended loses its owner. Each is one conditional UPDATE, so two processes
   * running this at once never requeue a node twice.
   */
  async claimExpired(now: number): Promise<ExpiredClaims> {
    // Read first, as in claimExecutions: usually nothing has expired, and then nothing is written.
    const [node, execution] = await Promise.all([
      this.db
        .selectFrom('workflow_nodes')
        .select('node_id')
        .where('state', '=', 'running')
        .where('lease_until', '<', now)
        .limit(1)
        .executeTakeFirst(),
      this.db
        .selectFrom('workflow_executions')
        .select('execution_id')
        .where('owner', 'is not', null)
        .where('lease_until', '<', now)
        .where('state', 'in', ACTIVE_EXECUTION_STATES as ExecutionState[])
        .limit(1)
        .executeTakeFirst(),
    ]);
    if (node === undefined && execution === undefined) return { nodes: [], executions: [] };
    return this.db.transaction().execute(async (trx) => {
      const error = JSON.stringify(LOST_ATTEMPT_ERROR);
      const nodes = await trx
        .updateTable('workflow_nodes')
        .set((eb) => ({
          state: 'queued',
          attempt: eb('attempt', '+', 1),
          owner: null,
          lease_until: null,
          not_before: now,
          queued_at: now,
          started_at: null,
          error,
        }))
        .where('state', '=', 'running')
        .where('lease_until', '<', now)
        .returning(['execution_id', 'node_id', 'attempt'])
        .execute();
      for (const node of nodes) {
        await trx
          .updateTable('workflow_attempts')
          .set({ state: 'failed', ended_at: now, error })
          .where('execution_id', '=', node.execution_id)
          .where('node_id', '=', node.node_id)
          .where('attempt', '=', node.attempt - 1)
          .where('state', '=', 'running')
          .execute();
      }
      const executions = await trx
        .updateTable('workflow_executions')
        .set({ owner: null, lease_until: null, updated_at: now })
        .where('owner', 'is not', null)
        .where('lease_until', '<', now)
        .where('state', 'in', ACTIVE_EXECUTION_STATES as ExecutionState[])
        .returning('execution_id')
        .execute();
      return {
        nodes: nodes.map((n) => ({ ...n, attempt: Number(n.attempt) })),
        executions: executions.map((row) => row.execution_id),
      };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Attempts

  /**
   * Records the start of an attempt (state `running`). Appending the same attempt twice
   * (at-least-once) keeps the first.
   *
   * @returns whether a row was added.
   */
  async appendAttempt(attempt: {
    execution_id: string;
    node_id: string;
    attempt: number;
    started_at: number;
    worker?: string | null;
    log_path?: string | null;
  }): Promise<boolean> {
    const result = await this.db
      .insertInto('workflow_attempts')
      .values({
        execution_id: attempt.execution_id,
        node_id: attempt.node_id,
        attempt: attempt.attempt,
        state: 'running',
        started_at: attempt.started_at,
        ended_at: null,
        error: null,
        log_path: attempt.log_path ?? null,
        worker: attempt.worker ?? null,
      })
      .onConflict((oc) => oc.columns(['execution_id', 'node_id', 'attempt']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Ends a running attempt. @returns false when it was not running (ended already, or unknown). */
  async finishAttempt(
    executionId: string,
    nodeId: string,
    attempt: number,
    end: AttemptEnd,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('workflow_attempts')
      .set({
        state: end.state,
        ended_at: end.ended_at,
        error: jsonOrNull(end.error),
        ...(end.log_path === undefined ? {} : { log_path: end.log_path }),
      })
      .where('execution_id', '=', executionId)
      .where('node_id', '=', nodeId)
      .where('attempt', '=', attempt)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Attempts of one node (or of every node of the execution), by node then attempt. */
  async listAttempts(executionId: string, nodeId?: string): Promise<AttemptRecord[]> {
    const rows = await this.db
      .selectFrom('workflow_attempts')
      .selectAll()
      .where('execution_id', '=', executionId)
      .$if(nodeId !== undefined, (q) => q.where('node_id', '=', nodeId as string))
      .orderBy('node_id')
      .orderBy('attempt')
      .execute();
    return rows.map((row) => ({
      ...row,
      state: row.state as AttemptState,
      error: parseJson<ExecutionError>(row.error),
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Cache

  /** The cached result for a key, or undefined. */
  async cacheGet(key: string): Promise<CacheEntry | undefined> {
    const row = await this.db
      .selectFrom('workflow_cache')
      .selectAll()
      .where('cache_key', '=', key)
      .executeTakeFirst();
    return row === undefined
      ? undefined
      : { ...row, hits: Number(row.hits), outputs: JSON.parse(row.outputs) };
  }

  /**
   * Stores a result. An existing entry is kept (first writer wins) unless `overwrite` (launch
   * option `cache_mode: 'overwrite'`), which replaces it and resets its hit count.
   *
   * @returns whether the entry was written.
   */
  async cachePut(
    entry: Omit<CacheEntry, 'hits' | 'created_at'> & { created_at?: number },
    overwrite = false,
  ): Promise<boolean> {
    const row: WorkflowCacheRow = {
      cache_key: entry.cache_key,
      task: entry.task,
      outputs: JSON.stringify(entry.outputs),
      execution_id: entry.execution_id,
      node_id: entry.node_id,
      created_at: entry.created_at ?? this.options.clock(),
      hits: 0,
    };
    const { cache_key, ...replaced } = row;
    const result = await this.db
      .insertInto('workflow_cache')
      .values(row)
      .onConflict((oc) =>
        overwrite ? oc.column('cache_key').doUpdateSet(replaced) : oc.column('cache_key').doNothing(),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Counts one use of a cached result. */
  async cacheHit(key: string): Promise<void> {
    await this.db
      .updateTable('workflow_cache')
      .set((eb) => ({ hits: eb('hits', '+', 1) }))
      .where('cache_key', '=', key)
      .execute();
  }

  /**
   * Reserves the computation of a cache key for `owner` for `leaseMs` (concurrent identical
   * calls run once: the others wait for the entry). One INSERT … ON CONFLICT: it takes a free
   * key, renews the owner's own reservation, or takes over one whose lease has expired; a live
   * reservation of another owner stays.
   *
   * @returns whether `owner` holds the reservation now.
   */
  async reserve(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.options.clock();
    return (await reserveKeys(this.db, [key], owner, now, leaseMs)).length === 1;
  }

  /** Drops `owner`'s reservation of a key. @returns false when `owner` did not hold it. */
  async release(key: string, owner: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('workflow_cache_reservations')
      .where('cache_key', '=', key)
      .where('owner', '=', owner)
      .executeTakeFirst();
    return result.numDeletedRows === 1n;
  }
}

/** One compare-and-set UPDATE on `db` (the store's handle or a transaction). */
export async function transitionNodeIn(
  db: Kysely<Database>,
  dialect: DialectName,
  transition: NodeTransition,
): Promise<boolean> {
  const fields = nodeFields(transition.update);
  if (Object.values(fields).every((value) => value === undefined))
    throw new Error('A node transition must change at least one field');
  const states = ([] as NodeState[]).concat(transition.expect.state);
  // SQL text rather than the query builder: a scheduler turn makes one per node it moves (see sql-text.ts).
  const params = new SqlParams(dialect);
  const set = params.assignments(fields);
  const result = await executeSql(
    db,
    `update "workflow_nodes" set ${set} where "execution_id" = ${params.bind(transition.executionId)} and "node_id" = ${params.bind(transition.nodeId)} and "attempt" = ${params.bind(transition.expect.attempt)} and "state" in (${params.list(states)})`,
    params,
  );
  return result.numAffectedRows === 1n;
}

/** Runs `insert` on slices of `rows` small enough for one statement. */
export async function insertChunks<T>(
  rows: readonly T[],
  insert: (chunk: T[]) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await insert(rows.slice(i, i + INSERT_CHUNK));
}

/** JSON text of a value; null for null or undefined. */
export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** The row of a new execution (absent fields null, `updated_at` = `now`). */
export function executionRow(execution: NewExecution, now: number): WorkflowExecutionRow {
  return {
    execution_id: execution.execution_id,
    workflow: execution.workflow,
    version: execution.version,
    state: execution.state,
    inputs: JSON.stringify(execution.inputs),
    outputs: jsonOrNull(execution.outputs),
    error: jsonOrNull(execution.error),
    cache_mode: execution.cache_mode ?? 'use',
    mode: execution.mode ?? 'launch',
    parent_execution_id: execution.parent_execution_id ?? null,
    created_by: execution.created_by,
    run_id: execution.run_id ?? null,
    created_at: execution.created_at,
    started_at: execution.started_at ?? null,
    ended_at: execution.ended_at ?? null,
    updated_at: now,
    owner: execution.owner ?? null,
    lease_until: execution.lease_until ?? null,
  };
}

/** The row of a new node at position `seq` (absent fields null, `attempt` and `not_before` 0). */
export function nodeRow(executionId: string, node: NewNode, seq: number): WorkflowNodeRow {
  return {
    execution_id: executionId,
    node_id: node.node_id,
    seq,
    kind: node.kind,
    task: node.task ?? null,
    parent_node: node.parent_node ?? null,
    state: node.state,
    attempt: node.attempt ?? 0,
    cache: node.cache ?? null,
    cache_key: node.cache_key ?? null,
    inputs: jsonOrNull(node.inputs),
    outputs: jsonOrNull(node.outputs),
    error: jsonOrNull(node.error),
    not_before: node.not_before ?? 0,
    queued_at: node.queued_at ?? null,
    started_at: node.started_at ?? null,
    ended_at: node.ended_at ?? null,
    run_id: node.run_id ?? null,
    owner: node.owner ?? null,
    lease_until: node.lease_until ?? null,
  };
}

/** The columns a node update writes: JSON fields serialised, absent fields left out. */
function nodeFields(update: NodeUpdate): Partial<WorkflowNodeRow> {
  const { inputs, outputs, error, ...plain } = update;
  const fields: Partial<WorkflowNodeRow> = { ...plain };
  if (inputs !== undefined) fields.inputs = jsonOrNull(inputs);
  if (outputs !== undefined) fields.outputs = jsonOrNull(outputs);
  if (error !== undefined) fields.error = jsonOrNull(error);
  return fields;
}

/** The columns an execution update writes: JSON fields serialised, absent fields left out. */
export function executionFields(update: ExecutionUpdate): Partial<WorkflowExecutionRow> {
  const { outputs, error, ...plain } = update;
  const fields: Partial<WorkflowExecutionRow> = { ...plain };
  if (outputs !== undefined) fields.outputs = jsonOrNull(outputs);
  if (error !== undefined) fields.error = jsonOrNull(error);
  return fields;
}

/** An execution row with its JSON columns parsed. */
export function toExecution(row: WorkflowExecutionRow): ExecutionRecord {
  return {
    ...row,
    state: row.state as ExecutionState,
    inputs: JSON.parse(row.inputs),
    outputs: parseJson(row.outputs),
    error: parseJson<ExecutionError>(row.error),
    cache_mode: row.cache_mode as CacheMode,
    mode: row.mode as ExecutionMode,
  };
}

/** A node row with its JSON columns parsed (`seq` dropped). */
export function toNode(row: WorkflowNodeRow): NodeRecord {
  const { seq: _seq, ...fields } = row;
  return {
    ...fields,
    kind: row.kind as NodeKind,
    state: row.state as NodeState,
    cache: row.cache as NodeCacheStatus | null,
    inputs: parseJson(row.inputs),
    outputs: parseJson(row.outputs),
    error: parseJson<ExecutionError>(row.error),
  };
}

/**
 * Takes the cache reservations of `keys` for `owner` in one statement: a key nobody holds, one
 * whose lease ran out, or one `owner` already holds (renewed). Returns the keys `owner` holds now.
 */
export async function reserveKeys(
  db: Kysely<Database>,
  keys: readonly string[],
  owner: string,
  now: number,
  leaseMs: number,
): Promise<string[]> {
  const rows = await db
    .insertInto('workflow_cache_reservations')
    .values(keys.map((cache_key) => ({ cache_key, owner, lease_until: now + leaseMs })))
    .onConflict((oc) =>
      oc
        .column('cache_key')
        .doUpdateSet((eb) => ({
          owner: eb.ref('excluded.owner'),
          lease_until: eb.ref('excluded.lease_until'),
        }))
        .where((eb) =>
          eb.or([
            eb('workflow_cache_reservations.lease_until', '<', now),
            eb('workflow_cache_reservations.owner', '=', owner),
          ]),
        ),
    )
    .returning('cache_key')
    .execute();
  return rows.map((row) => row.cache_key);
}

/** Inserts an execution row and its initial nodes (in the caller's transaction). */
export async function insertExecution(
  trx: Transaction<Database>,
  execution: NewExecution,
  nodes: readonly NewNode[],
  now: number,
): Promise<void> {
  await trx.insertInto('workflow_executions').values(executionRow(execution, now)).execute();
  await insertChunks(
    nodes.map((node, i) => nodeRow(execution.execution_id, node, i)),
    (rows) => trx.insertInto('workflow_nodes').values(rows).execute(),
  );
}
