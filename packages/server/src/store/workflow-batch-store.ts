import type { ExecutionError, ExecutionState, JsonValue } from '@keel/core';
import type { Kysely, Transaction } from 'kysely';
import type { Actor, Change, ChangeSink } from '../changes/change.js';
import type { Clock } from '../services/clock.js';
import type { DialectName } from './dialect.js';
import { groupBy } from './group-by.js';
import type { Database, WorkflowCacheRow, WorkflowNodeRow } from './schema.js';
import { executeSql, insertRows, SqlParams } from './sql-text.js';
import { TrackingBatch, type TrackingBatchWriter, TrackingWriteError } from './tracking-batch.js';
import {
  type AttemptState,
  type ExecutionExpectation,
  type ExecutionUpdate,
  type ExecutionWithNodes,
  executionFields,
  insertChunks,
  insertExecution,
  jsonOrNull,
  type NewExecution,
  type NewNode,
  type NodeTransition,
  nodeRow,
  reserveKeys,
  toExecution,
  toNode,
  transitionNodeIn,
} from './workflow-store.js';

/** What a {@link WorkflowBatchStore} needs. */
export interface WorkflowBatchStoreOptions {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Sees launches and cancellations inside their transaction (audit log). */
  changes: ChangeSink;
  clock: Clock;
}

/** The start of an attempt (state `running`). */
export interface AttemptStart {
  execution_id: string;
  node_id: string;
  attempt: number;
  started_at: number;
}

/** How an attempt ended. */
export interface AttemptFinish {
  execution_id: string;
  node_id: string;
  attempt: number;
  state: Exclude<AttemptState, 'running'>;
  ended_at: number;
  error: ExecutionError | null;
  log_path: string | null;
  worker: string | null;
}

/** A task result to cache. */
export interface CacheWrite {
  cache_key: string;
  task: string;
  outputs: Record<string, JsonValue>;
  execution_id: string;
  node_id: string;
  /** Replace an existing entry (launch option `cache: 'overwrite'`); otherwise the first writer wins. */
  overwrite: boolean;
}

/** A compare-and-set of an execution; `updated_at` is set to now. */
export interface ExecutionTransition {
  executionId: string;
  expect: ExecutionExpectation;
  update: ExecutionUpdate;
}

/**
 * The writes of one scheduler turn, applied by {@link WorkflowBatchStore.commit} in one
 * transaction, in this order: new nodes, attempt starts, node transitions, attempt ends, cache
 * entries and hits, reservation releases, execution transitions, tracking runs.
 */
export class SchedulerWrites {
  readonly nodeInserts: { executionId: string; seq: number; node: NewNode }[] = [];
  readonly attemptStarts: AttemptStart[] = [];
  readonly nodeTransitions: NodeTransition[] = [];
  readonly attemptFinishes: AttemptFinish[] = [];
  readonly cacheWrites: CacheWrite[] = [];
  /** Keys of cached results used once more. */
  readonly cacheHits: string[] = [];
  /** Reservations of the committing owner to drop. */
  readonly releases: string[] = [];
  readonly executionTransitions: ExecutionTransition[] = [];
  /** Tracking runs of executions and attempts created and ended this turn. */
  readonly tracking = new TrackingBatch();

  /** Whether there is nothing to write. */
  get empty(): boolean {
    return (
      this.tracking.empty &&
      this.nodeInserts.length === 0 &&
      this.attemptStarts.length === 0 &&
      this.nodeTransitions.length === 0 &&
      this.attemptFinishes.length === 0 &&
      this.cacheWrites.length === 0 &&
      this.cacheHits.length === 0 &&
      this.releases.length === 0 &&
      this.executionTransitions.length === 0
    );
  }

  /** The executions these writes touch. */
  executions(): Set<string> {
    const ids = new Set<string>();
    for (const insert of this.nodeInserts) ids.add(insert.executionId);
    for (const transition of this.nodeTransitions) ids.add(transition.executionId);
    for (const transition of this.executionTransitions) ids.add(transition.executionId);
    for (const finish of this.attemptFinishes) ids.add(finish.execution_id);
    return ids;
  }
}

/**
 * A compare-and-set of a {@link SchedulerWrites} batch found a node or execution changed by
 * someone else: nothing of the batch was written.
 */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';

  constructor(
    /** The executions whose rows did not match. */
    readonly executionIds: readonly string[],
  ) {
    super(`Workflow state changed concurrently in execution(s) ${executionIds.join(', ')}`);
  }
}

/** What {@link WorkflowBatchStore.cancel} did. */
export type CancelOutcome =
  /** Queued and held by no scheduler: cancelled at once, with its nodes. */
  | 'cancelled'
  /** A scheduler holds it: marked `cancelling`; the scheduler stops its attempts and finishes it. */
  | 'cancelling'
  /** It had ended already (or was being cancelled): nothing written. */
  | 'unchanged';

/** Keys per `IN (…)` list: far below both dialects' bound-parameter limits. */
const KEY_CHUNK = 500;

/** Node states a cancellation ends. */
const OPEN_NODE_STATES = ['pending', 'queued'] as const;

/**
 * The workflow engine's batched SQL, beside {@link WorkflowStore}'s row-at-a-time methods: one
 * transaction per scheduler turn for any number of node transitions, new nodes, attempts and
 * cache entries ({@link commit}), multi-key cache reads and reservations, and the service's
 * launch and cancel writes, which are recorded (audit log) in their transaction.
 *
 * @example
 * const writes = new SchedulerWrites();
 * writes.nodeTransitions.push({ executionId, nodeId: 'fit', expect: { state: 'running', attempt: 1 }, update: { state: 'succeeded' } });
 * await batches.commit(writes); // throws WriteConflictError (and writes nothing) if 'fit' changed meanwhile
 */
export class WorkflowBatchStore {
  constructor(private readonly options: WorkflowBatchStoreOptions) {}

  private get db(): Kysely<Database> {
    return this.options.db;
  }

  /**
   * Applies `writes` in one transaction. Every node and execution transition is a
   * compare-and-set; when one misses, the transaction is rolled back and
   * {@link WriteConflictError} names the executions concerned. A new node whose id exists already
   * is a conflict too. The tracking runs (`writes.tracking`) are written last, by `tracking`,
   * which is required when there are any; when that fails, the transaction is rolled back and
   * {@link TrackingWriteError} names the executions concerned.
   */
  async commit(writes: SchedulerWrites, owner: string, tracking?: TrackingBatchWriter): Promise<void> {
    if (writes.empty) return;
    // The statements of a turn are SQL text rather than built with the query builder: a turn
    // writes a few rows per table, and building the statements cost more than running them
    // (see sql-text.ts).
    const { dialect } = this.options;
    await this.db.transaction().execute(async (trx) => {
      const conflicts = new Set<string>();
      await this.#insertNodes(trx, writes, conflicts);
      await insertChunks(writes.attemptStarts, (rows) =>
        insertRows(
          trx,
          dialect,
          'workflow_attempts',
          rows.map((row) => ({
            ...row,
            state: 'running',
            ended_at: null,
            error: null,
            log_path: null,
            worker: null,
          })),
          'on conflict ("execution_id", "node_id", "attempt") do nothing',
        ),
      );
      for (const transition of writes.nodeTransitions) {
        if (!(await transitionNodeIn(trx, dialect, transition))) conflicts.add(transition.executionId);
      }
      for (const finish of writes.attemptFinishes) await finishAttempt(trx, dialect, finish);
      await this.#writeCache(trx, writes);
      for (const keys of chunks(unique(writes.releases))) {
        const params = new SqlParams(dialect);
        await executeSql(
          trx,
          `delete from "workflow_cache_reservations" where "owner" = ${params.bind(owner)} and "cache_key" in (${params.list(keys)})`,
          params,
        );
      }
      for (const transition of writes.executionTransitions) {
        if (!(await this.#transitionExecution(trx, transition))) conflicts.add(transition.executionId);
      }
      if (conflicts.size > 0) throw new WriteConflictError([...conflicts]);
      await writeTracking(trx, writes.tracking, tracking);
    });
  }

  async #insertNodes(
    trx: Transaction<Database>,
    writes: SchedulerWrites,
    conflicts: Set<string>,
  ): Promise<void> {
    const rows: WorkflowNodeRow[] = writes.nodeInserts.map((insert) =>
      nodeRow(insert.executionId, insert.node, insert.seq),
    );
    await insertChunks(rows, async (chunk) => {
      const result = await insertRows(
        trx,
        this.options.dialect,
        'workflow_nodes',
        chunk,
        'on conflict ("execution_id", "node_id") do nothing',
      );
      if (Number(result.numAffectedRows ?? 0n) !== chunk.length) {
        for (const row of chunk) conflicts.add(row.execution_id);
      }
    });
  }

  async #writeCache(trx: Transaction<Database>, writes: SchedulerWrites): Promise<void> {
    const { dialect } = this.options;
    const now = this.options.clock();
    const byKey = new Map(writes.cacheWrites.map((write) => [write.cache_key, write]));
    const rows = (overwrite: boolean): WorkflowCacheRow[] =>
      [...byKey.values()]
        .filter((write) => write.overwrite === overwrite)
        .map((write) => ({
          cache_key: write.cache_key,
          task: write.task,
          outputs: JSON.stringify(write.outputs),
          execution_id: write.execution_id,
          node_id: write.node_id,
          created_at: now,
          hits: 0,
        }));
    await insertChunks(rows(false), (chunk) =>
      insertRows(trx, dialect, 'workflow_cache', chunk, 'on conflict ("cache_key") do nothing'),
    );
    await insertChunks(rows(true), (chunk) =>
      insertRows(
        trx,
        dialect,
        'workflow_cache',
        chunk,
        'on conflict ("cache_key") do update set "task" = excluded."task", "outputs" = excluded."outputs", ' +
          '"execution_id" = excluded."execution_id", "node_id" = excluded."node_id", ' +
          '"created_at" = excluded."created_at", "hits" = 0',
      ),
    );
    for (const keys of chunks(unique(writes.cacheHits))) {
      const params = new SqlParams(dialect);
      await executeSql(
        trx,
        `update "workflow_cache" set "hits" = "hits" + 1 where "cache_key" in (${params.list(keys)})`,
        params,
      );
    }
  }

  async #transitionExecution(trx: Transaction<Database>, transition: ExecutionTransition): Promise<boolean> {
    const { expect } = transition;
    const states = ([] as ExecutionState[]).concat(expect.state);
    const result = await trx
      .updateTable('workflow_executions')
      .set({ ...executionFields(transition.update), updated_at: this.options.clock() })
      .where('execution_id', '=', transition.executionId)
      .where('state', 'in', states)
      .$if(expect.owner === null, (q) => q.where('owner', 'is', null))
      .$if(typeof expect.owner === 'string', (q) => q.where('owner', '=', expect.owner as string))
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** An execution with its nodes, and the `seq` the next inserted node gets; undefined when unknown. */
  async loadExecution(
    executionId: string,
  ): Promise<{ execution: ExecutionWithNodes; nextSeq: number } | undefined> {
    const row = await this.db
      .selectFrom('workflow_executions')
      .selectAll()
      .where('execution_id', '=', executionId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const nodes = await this.db
      .selectFrom('workflow_nodes')
      .selectAll()
      .where('execution_id', '=', executionId)
      .orderBy('seq')
      .execute();
    const last = nodes.at(-1);
    return {
      execution: { ...toExecution(row), nodes: nodes.map(toNode) },
      nextSeq: last === undefined ? 0 : Number(last.seq) + 1,
    };
  }

  /** The cached outputs of those of `keys` that have an entry. */
  async cacheGetMany(keys: Iterable<string>): Promise<Map<string, Record<string, JsonValue>>> {
    const found = new Map<string, Record<string, JsonValue>>();
    for (const chunk of chunks(unique(keys))) {
      const rows = await this.db
        .selectFrom('workflow_cache')
        .select(['cache_key', 'outputs'])
        .where('cache_key', 'in', chunk)
        .execute();
      for (const row of rows) found.set(row.cache_key, JSON.parse(row.outputs));
    }
    return found;
  }

  /**
   * Reserves the computation of `keys` for `owner` until now + `leaseMs` (see
   * `WorkflowStore.reserve`): free keys, keys `owner` holds and keys whose reservation expired.
   *
   * @returns the keys `owner` holds now.
   */
  async reserveMany(keys: Iterable<string>, owner: string, leaseMs: number): Promise<Set<string>> {
    const now = this.options.clock();
    const held = new Set<string>();
    for (const chunk of chunks(unique(keys))) {
      for (const key of await reserveKeys(this.db, chunk, owner, now, leaseMs)) held.add(key);
    }
    return held;
  }

  /** State and owner of the given executions (the scheduler checks those it holds). */
  async executionStates(
    executionIds: readonly string[],
  ): Promise<Map<string, { state: ExecutionState; owner: string | null }>> {
    const states = new Map<string, { state: ExecutionState; owner: string | null }>();
    for (const chunk of chunks(executionIds)) {
      const rows = await this.db
        .selectFrom('workflow_executions')
        .select(['execution_id', 'state', 'owner'])
        .where('execution_id', 'in', chunk)
        .execute();
      for (const row of rows) {
        states.set(row.execution_id, { state: row.state as ExecutionState, owner: row.owner });
      }
    }
    return states;
  }

  /**
   * The tracking runs of attempts `claimExpired` took back (its `nodes`), with who launched their
   * executions: only nodes still queued at the attempt they were given, whose `run_id` is then the
   * run of the lost attempt.
   */
  async lostRuns(
    nodes: readonly { execution_id: string; node_id: string; attempt: number }[],
  ): Promise<{ execution_id: string; created_by: string; run_id: string }[]> {
    const lost: { execution_id: string; created_by: string; run_id: string }[] = [];
    for (const [executionId, group] of groupBy(nodes, (node) => node.execution_id)) {
      const attempts = new Map(group.map((node) => [node.node_id, node.attempt]));
      for (const ids of chunks([...attempts.keys()])) {
        const rows = await this.db
          .selectFrom('workflow_nodes as n')
          .innerJoin('workflow_executions as e', 'e.execution_id', 'n.execution_id')
          .select(['n.node_id', 'n.attempt', 'n.run_id', 'e.created_by'])
          .where('n.execution_id', '=', executionId)
          .where('n.node_id', 'in', ids)
          .where('n.state', '=', 'queued')
          .where('n.run_id', 'is not', null)
          .execute();
        for (const row of rows) {
          if (Number(row.attempt) !== attempts.get(row.node_id)) continue;
          lost.push({ execution_id: executionId, created_by: row.created_by, run_id: row.run_id as string });
        }
      }
    }
    return lost;
  }

  /** Inserts an execution and its initial nodes, and records `change`, in one transaction. */
  async createExecution(
    execution: NewExecution,
    nodes: readonly NewNode[],
    actor: Actor,
    change: Change,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await insertExecution(trx, execution, nodes, this.options.clock());
      await this.options.changes.record(trx, actor, change);
    });
  }

  /**
   * Cancels an execution, recording `change` when something changed: a queued execution no
   * scheduler holds (no owner, or an expired lease) ends at once with its pending and queued
   * nodes `cancelled`; one a scheduler holds becomes `cancelling`.
   */
  async cancel(executionId: string, actor: Actor, change: Change): Promise<CancelOutcome> {
    return this.db.transaction().execute(async (trx) => {
      const now = this.options.clock();
      const row = await trx
        .selectFrom('workflow_executions')
        .select(['state', 'owner', 'lease_until'])
        .where('execution_id', '=', executionId)
        .$if(this.options.dialect === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst();
      if (row === undefined || (row.state !== 'queued' && row.state !== 'running')) return 'unchanged';
      const held = row.owner !== null && (row.lease_until ?? 0) >= now;
      const outcome: CancelOutcome = row.state === 'queued' && !held ? 'cancelled' : 'cancelling';
      await trx
        .updateTable('workflow_executions')
        .set(
          outcome === 'cancelled'
            ? { state: 'cancelled', ended_at: now, owner: null, lease_until: null, updated_at: now }
            : { state: 'cancelling', updated_at: now },
        )
        .where('execution_id', '=', executionId)
        .execute();
      if (outcome === 'cancelled') {
        await trx
          .updateTable('workflow_nodes')
          .set({ state: 'cancelled', ended_at: now })
          .where('execution_id', '=', executionId)
          .where('state', 'in', [...OPEN_NODE_STATES])
          .execute();
      }
      await this.options.changes.record(trx, actor, change);
      return outcome;
    });
  }

  /** Per workflow name: how many versions it has and the newest one's name. */
  async versionStats(names: readonly string[]): Promise<Map<string, { versions: number; latest: string }>> {
    const stats = new Map<string, { versions: number; latest: string }>();
    for (const chunk of chunks(names)) {
      const rows = await this.db
        .selectFrom('workflow_versions as v')
        .select((eb) => [
          'v.name',
          eb.fn.countAll<number>().as('versions'),
          eb
            .selectFrom('workflow_versions as l')
            .select('l.version')
            .whereRef('l.name', '=', 'v.name')
            .orderBy('l.created_at', 'desc')
            .orderBy('l.version', 'desc')
            .limit(1)
            .as('latest'),
        ])
        .where('v.name', 'in', chunk)
        .groupBy('v.name')
        .execute();
      for (const row of rows) {
        stats.set(row.name, { versions: Number(row.versions), latest: row.latest ?? '' });
      }
    }
    return stats;
  }
}

/** Writes a turn's tracking batch; a failure becomes a {@link TrackingWriteError}. */
async function writeTracking(
  trx: Transaction<Database>,
  batch: TrackingBatch,
  writer: TrackingBatchWriter | undefined,
): Promise<void> {
  if (batch.empty) return;
  try {
    if (writer === undefined) throw new Error('the turn has tracking writes but no tracking writer');
    await writer.writeBatch(trx, batch);
  } catch (error) {
    throw new TrackingWriteError([...batch.sources], error);
  }
}

async function finishAttempt(
  trx: Transaction<Database>,
  dialect: DialectName,
  finish: AttemptFinish,
): Promise<void> {
  const params = new SqlParams(dialect);
  const set = params.assignments({
    state: finish.state,
    ended_at: finish.ended_at,
    error: jsonOrNull(finish.error),
    log_path: finish.log_path,
    worker: finish.worker,
  });
  await executeSql(
    trx,
    `update "workflow_attempts" set ${set} where "execution_id" = ${params.bind(finish.execution_id)} and "node_id" = ${params.bind(finish.node_id)} and "attempt" = ${params.bind(finish.attempt)} and "state" = ${params.bind('running')}`,
    params,
  );
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

function* chunks<T>(values: readonly T[]): Generator<T[]> {
  for (let i = 0; i < values.length; i += KEY_CHUNK) yield values.slice(i, i + KEY_CHUNK);
}
