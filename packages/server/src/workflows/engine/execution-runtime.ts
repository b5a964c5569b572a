/**
 * One execution as the scheduler holds it in memory while it drives it: every node with its
 * graph definition and state, who waits for whom, and the writes the turn's changes need. It
 * decides; the scheduler does the I/O (cache reads, reservations, the executor, the commit).
 *
 * Changes are applied in memory at once and collected as writes ({@link ExecutionRuntime.flush}):
 * a new node becomes one INSERT in its latest state, a stored node one compare-and-set from the
 * state it was read in to its latest state, however many steps it went through in the turn. When
 * the commit fails the scheduler throws this object away and loads the execution again.
 */
import type {
  BranchNode,
  CacheMode,
  ExecutionError,
  JsonValue,
  MapNode,
  NodeCacheStatus,
  NodeState,
  TaskSpec,
  WorkflowNode,
} from '@keel/core';
import { pendingNode, TERMINAL_NODE_STATES } from '@keel/core';
import type { SchedulerWrites } from '../../store/workflow-batch-store.js';
import type {
  ExecutionRecord,
  ExecutionUpdate,
  ExecutionWithNodes,
  NodeRecord,
  NodeUpdate,
} from '../../store/workflow-store.js';
import { cacheKey } from './cache-key.js';
import type { AttemptResult, CodeRef } from './executor.js';
import {
  bindingDeps,
  branchScope,
  branchSide,
  type Catalog,
  conditionBindings,
  evaluate,
  instantiate,
  mapItem,
  type NodeDef,
  resolveAll,
  rootScope,
  type Scope,
  subworkflowScope,
} from './graph.js';

/** A node of the runtime: its definition (absent for rows no graph path names) and its row. */
export interface RuntimeNode {
  def: NodeDef | undefined;
  /** The current values (what will be written). */
  row: NodeRecord;
  /** State and attempt as stored; undefined while the node is not inserted yet. */
  saved: { state: NodeState; attempt: number } | undefined;
  /** Fields changed since `saved`. */
  changes: NodeUpdate | undefined;
  /** The task (task nodes, map nodes and map items). */
  task: TaskSpec | undefined;
  /** Not dispatched before this time (another process computes its cache key). In memory only. */
  waitUntil: number;
  /** Waits for this process's attempt of the same cache key. In memory only. */
  waitingForKey: string | undefined;
}

/** A task node whose inputs resolved and whose cache entry must be looked up. */
export interface CacheLookup {
  node: RuntimeNode;
  key: string;
}

/** How an attempt ended, as the scheduler reports it. */
export interface AttemptOutcome {
  nodeId: string;
  attempt: number;
  result: AttemptResult;
  /**
   * The attempt was lost to this process (it shuts down, or forgot the attempt): queue the node
   * again for the next attempt, with `result`'s error.
   */
  interrupted: boolean;
  endedAt: number;
  logPath: string | null;
  worker: string | null;
}

/** The retry policy: backoff of retry n (1-based) = min(baseMs·2^(n−1), maxMs). */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

const TERMINAL = new Set<NodeState>(TERMINAL_NODE_STATES);
const DONE = new Set<NodeState>(['succeeded', 'cached']);

/** Whether a node state never changes again. */
export function isTerminal(state: NodeState): boolean {
  return TERMINAL.has(state);
}

/**
 * The in-memory state of one execution the scheduler holds.
 *
 * @example
 * const runtime = ExecutionRuntime.load(loaded.execution, loaded.nextSeq, catalog, retry);
 * const lookups = runtime.advance(now);      // evaluate what changed
 * runtime.resolveLookups(lookups, hits, now);
 * runtime.flush(writes);                     // then commit `writes`
 */
export class ExecutionRuntime {
  readonly nodes = new Map<string, RuntimeNode>();
  /** Queued nodes, in the order they were queued. */
  readonly queued = new Set<RuntimeNode>();
  /** Task nodes (and items) with an attempt running. */
  readonly running = new Set<RuntimeNode>();
  /** Why the execution fails, once a node failed for good. */
  failure: ExecutionError | undefined;
  readonly #catalog: Catalog;
  readonly #retry: RetryPolicy;
  readonly #root: Scope;
  readonly #dependents = new Map<string, Set<string>>();
  readonly #dirty = new Set<string>();
  readonly #open = new Set<string>();
  /** Children (map items…) done, by parent node id. */
  readonly #doneChildren = new Map<string, number>();
  /** Nodes created this turn, in creation order. */
  readonly #unsaved: RuntimeNode[] = [];
  readonly #changed = new Set<RuntimeNode>();
  /** Inner scopes of decided branches and of workflow nodes, by node id. */
  readonly #inner = new Map<string, Scope>();
  #record: ExecutionRecord;
  #savedState: ExecutionRecord['state'];
  #recordChanges: ExecutionUpdate | undefined;
  #nextSeq: number;

  private constructor(record: ExecutionRecord, nextSeq: number, catalog: Catalog, retry: RetryPolicy) {
    this.#record = record;
    this.#savedState = record.state;
    this.#nextSeq = nextSeq;
    this.#catalog = catalog;
    this.#retry = retry;
    this.#root = rootScope(catalog.registration.workflow, record.inputs);
  }

  /** The execution's nodes before its first turn: the static graph, sub-workflows inlined, all pending. */
  static staticNodes(catalog: Catalog, inputs: Record<string, JsonValue>): NodeRecordInit[] {
    const spec = catalog.registration.workflow;
    return instantiate(catalog, spec.nodes, rootScope(spec, inputs), null).map((def) => initialRow(def));
  }

  /** Builds the runtime of a stored execution (its nodes in insertion order). */
  static load(
    stored: ExecutionWithNodes,
    nextSeq: number,
    catalog: Catalog,
    retry: RetryPolicy,
  ): ExecutionRuntime {
    const { nodes, ...record } = stored;
    const runtime = new ExecutionRuntime(record, nextSeq, catalog, retry);
    runtime.#restore(nodes);
    return runtime;
  }

  get id(): string {
    return this.#record.execution_id;
  }

  /** The execution as last changed in memory. */
  get record(): Readonly<ExecutionRecord> {
    return this.#record;
  }

  /** The code package of the execution's version. */
  get code(): CodeRef {
    return this.#catalog.registration.code;
  }

  get cacheMode(): CacheMode {
    return this.#record.cache_mode;
  }

  /** Whether the execution reached a final state. */
  get ended(): boolean {
    return ['succeeded', 'failed', 'cancelled'].includes(this.#record.state);
  }

  /** Whether running attempts must stop (the execution fails or is being cancelled). */
  get stopping(): boolean {
    return this.failure !== undefined || this.#record.state === 'cancelling';
  }

  /** Changes execution fields (written by the next {@link flush}). */
  updateRecord(update: ExecutionUpdate): void {
    this.#record = { ...this.#record, ...update };
    this.#recordChanges = { ...this.#recordChanges, ...update };
  }

  // -------------------------------------------------------------------------------------------
  // Loading

  #restore(rows: readonly NodeRecord[]): void {
    const spec = this.#catalog.registration.workflow;
    const defs = new Map(instantiate(this.#catalog, spec.nodes, this.#root, null).map((d) => [d.id, d]));
    for (const row of rows) {
      const node = this.#adopt(row, defs.get(row.node_id));
      if (node.def === undefined && row.parent_node !== null) {
        const parent = this.nodes.get(row.parent_node);
        const index = itemIndex(row.node_id, row.parent_node);
        if (parent?.def?.spec.kind === 'map' && index !== undefined) node.def = mapItem(parent.def, index);
      }
      if (node.def?.spec.kind === 'branch' && node.row.state === 'running') {
        for (const def of this.#openBranch(node)) defs.set(def.id, def);
      }
    }
    for (const node of this.nodes.values()) {
      if (node.def === undefined) continue;
      this.#watch(node);
      if (!isTerminal(node.row.state)) this.#dirty.add(node.row.node_id);
    }
    if (this.#record.state === 'running' || this.#record.state === 'cancelling') {
      const failed = [...this.nodes.values()].find((n) => n.row.state === 'failed' && n.row.error !== null);
      if (failed !== undefined) this.failure = executionErrorOf(failed);
    }
  }

  /** Adds a stored row as a node. */
  #adopt(row: NodeRecord, def: NodeDef | undefined): RuntimeNode {
    const task = row.task === null ? undefined : this.#catalog.tasks.get(row.task);
    const node: RuntimeNode = {
      def,
      row,
      saved: { state: row.state, attempt: row.attempt },
      changes: undefined,
      task,
      waitUntil: 0,
      waitingForKey: undefined,
    };
    this.nodes.set(row.node_id, node);
    this.#track(node, undefined);
    return node;
  }

  // -------------------------------------------------------------------------------------------
  // Evaluation

  /** Marks every node for evaluation (after a change made outside, e.g. cancellation). */
  touchAll(): void {
    for (const node of this.nodes.values())
      if (!isTerminal(node.row.state)) this.#dirty.add(node.row.node_id);
  }

  /**
   * Evaluates the nodes whose inputs may have changed: expands maps and branches, completes
   * maps, branches and sub-workflows whose outputs are known, queues tasks whose inputs are
   * known. Tasks whose cache must be read first are returned, still pending.
   */
  advance(now: number): CacheLookup[] {
    const lookups: CacheLookup[] = [];
    if (this.stopping || this.ended) {
      this.#dirty.clear();
      return lookups;
    }
    while (this.#dirty.size > 0) {
      const [id] = this.#dirty;
      this.#dirty.delete(id as string);
      const node = this.nodes.get(id as string);
      if (node?.def !== undefined) this.#evaluate(node, node.def, now, lookups);
    }
    return lookups;
  }

  #evaluate(node: RuntimeNode, def: NodeDef, now: number, lookups: CacheLookup[]): void {
    const { spec } = def;
    const state = node.row.state;
    const outputsOf = this.#outputsOf;
    if (state === 'pending') {
      switch (spec.kind) {
        case 'task': {
          const inputs = resolveAll(spec.inputs, def.scope, outputsOf);
          if (inputs !== undefined) this.#ready(node, inputs, now, lookups);
          return;
        }
        case 'map': {
          if (def.item !== undefined) {
            const inputs = resolveAll(spec.inputs, def.scope, outputsOf);
            if (inputs !== undefined) this.#ready(node, itemInputs(spec, inputs, def.item), now, lookups);
            return;
          }
          const inputs = resolveAll(spec.inputs, def.scope, outputsOf);
          if (inputs !== undefined) this.#expandMap(node, def, inputs, now, lookups);
          return;
        }
        case 'branch': {
          const condition = evaluate(spec.condition, def.scope, outputsOf);
          if (condition !== undefined) this.#decide(node, def, condition, now);
          return;
        }
        case 'workflow': {
          const sub = this.#catalog.workflow(spec.workflow);
          const scope = this.#inner.get(node.row.node_id) ?? this.#workflowScope(def);
          const outputs = resolveAll(sub.outputs, scope, outputsOf);
          if (outputs !== undefined) this.#succeed(node, outputs, now);
          return;
        }
      }
    }
    if (state === 'running' && spec.kind === 'map' && def.item === undefined) this.#completeMap(node, now);
    if (state === 'running' && spec.kind === 'branch') {
      const side = spec.then;
      const chosen = node.row.inputs?.condition === true ? side : spec.else;
      const scope = this.#inner.get(node.row.node_id);
      if (chosen === undefined || scope === undefined) return;
      const outputs = resolveAll(chosen.outputs, scope, outputsOf);
      if (outputs !== undefined) this.#succeed(node, outputs, now);
    }
  }

  readonly #outputsOf = (nodeId: string): Record<string, JsonValue> | undefined => {
    const node = this.nodes.get(nodeId);
    return node !== undefined && DONE.has(node.row.state) ? (node.row.outputs ?? {}) : undefined;
  };

  /** A task (or map item) whose inputs are known: look its cache up, or queue it. */
  #ready(node: RuntimeNode, inputs: Record<string, JsonValue>, now: number, lookups: CacheLookup[]): void {
    const task = node.task as TaskSpec;
    const mode = this.cacheMode;
    const key = task.cache !== undefined && mode !== 'skip' ? cacheKey(task, inputs) : null;
    this.#set(node, { inputs, cache_key: key });
    if (key !== null && mode === 'use') lookups.push({ node, key });
    else this.#enqueue(node, key === null ? 'disabled' : 'miss', now);
  }

  /**
   * Applies cache lookups: hits end their node `cached` with the stored outputs, misses queue it.
   * `hits` may hold more keys than asked.
   */
  resolveLookups(
    lookups: readonly CacheLookup[],
    hits: ReadonlyMap<string, Record<string, JsonValue>>,
    now: number,
    writes: SchedulerWrites,
  ): void {
    for (const { node, key } of lookups) {
      if (node.row.state !== 'pending') continue;
      const outputs = hits.get(key);
      if (outputs === undefined) {
        this.#enqueue(node, 'miss', now);
      } else {
        this.cached(node, outputs, now);
        writes.cacheHits.push(key);
      }
    }
  }

  /** A pending or queued node's result comes from the cache. */
  cached(node: RuntimeNode, outputs: Record<string, JsonValue>, now: number): void {
    this.#set(node, { state: 'cached', cache: 'hit', outputs, error: null, ended_at: now });
    this.#finished(node);
  }

  #enqueue(node: RuntimeNode, cache: NodeCacheStatus, now: number): void {
    this.#set(node, { state: 'queued', cache, queued_at: now, not_before: now });
  }

  #expandMap(
    node: RuntimeNode,
    def: NodeDef,
    inputs: Record<string, JsonValue>,
    now: number,
    lookups: CacheLookup[],
  ): void {
    const spec = def.spec as MapNode;
    const count = mapLength(spec, inputs);
    if (typeof count === 'string') {
      this.#set(node, { inputs, started_at: now });
      this.fail(node, { kind: 'user', retryable: false, message: count }, now);
      return;
    }
    this.#set(node, { state: 'running', inputs, started_at: now });
    for (let index = 0; index < count; index++) {
      const itemDef = mapItem(def, index);
      const item = this.#node(itemDef);
      if (item.row.state === 'pending') this.#ready(item, itemInputs(spec, inputs, index), now, lookups);
    }
    this.#dirty.add(node.row.node_id);
  }

  #completeMap(node: RuntimeNode, now: number): void {
    const def = node.def as NodeDef;
    const spec = def.spec as MapNode;
    const count = mapLength(spec, node.row.inputs ?? {});
    if (typeof count === 'string') return;
    // Most item completions leave others to wait for: answer those without a pass over all items.
    if ((this.#doneChildren.get(def.id) ?? 0) < count) return;
    const task = node.task as TaskSpec;
    const outputs: Record<string, JsonValue[]> = Object.fromEntries(
      Object.keys(task.interface.outputs).map((name) => [name, []]),
    );
    let cachedItems = 0;
    for (let index = 0; index < count; index++) {
      const item = this.nodes.get(`${def.id}[${index}]`);
      if (item === undefined || !DONE.has(item.row.state)) return;
      if (item.row.state === 'cached') cachedItems++;
      for (const [name, values] of Object.entries(outputs)) values.push(item.row.outputs?.[name] ?? null);
    }
    // Served entirely from the cache (or a recovered execution), the map ran nothing itself either.
    if (count > 0 && cachedItems === count) this.cached(node, outputs, now);
    else this.#succeed(node, outputs, now);
  }

  #decide(node: RuntimeNode, def: NodeDef, condition: boolean, now: number): void {
    const spec = def.spec as BranchNode;
    if (!condition && spec.else === undefined) {
      const outputs = Object.fromEntries(Object.keys(spec.then.outputs).map((name) => [name, null]));
      this.#set(node, { inputs: { condition }, started_at: now });
      this.#succeed(node, outputs, now);
      return;
    }
    this.#set(node, { state: 'running', inputs: { condition }, started_at: now });
    for (const sideDef of this.#openBranch(node)) {
      const inner = this.#node(sideDef);
      if (!isTerminal(inner.row.state)) this.#dirty.add(sideDef.id);
    }
    this.#watch(node);
    this.#dirty.add(node.row.node_id);
  }

  /** The definitions of a decided branch's side (and registers the side's scope). */
  #openBranch(node: RuntimeNode): NodeDef[] {
    const def = node.def as NodeDef;
    const spec = def.spec as BranchNode;
    const side = node.row.inputs?.condition === true ? 'then' : 'else';
    this.#inner.set(def.id, branchScope(spec, def.id, side, def.scope));
    return branchSide(this.#catalog, def, side);
  }

  #workflowScope(def: NodeDef): Scope {
    const spec = def.spec as WorkflowNode;
    return subworkflowScope(this.#catalog.workflow(spec.workflow), def.id, spec.inputs, def.scope);
  }

  /** The node of a definition: the stored one (given its definition), or a new pending one. */
  #node(def: NodeDef): RuntimeNode {
    const existing = this.nodes.get(def.id);
    if (existing !== undefined) {
      existing.def = def;
      this.#watch(existing);
      return existing;
    }
    const row: NodeRecord = {
      ...initialRow(def),
      execution_id: this.id,
      not_before: 0,
      owner: null,
      lease_until: null,
    };
    const node: RuntimeNode = {
      def,
      row,
      saved: undefined,
      changes: undefined,
      task: row.task === null ? undefined : this.#catalog.task(row.task),
      waitUntil: 0,
      waitingForKey: undefined,
    };
    this.nodes.set(def.id, node);
    this.#unsaved.push(node);
    this.#track(node, undefined);
    this.#watch(node);
    return node;
  }

  /** Registers the nodes whose completion `node` waits for in its current phase. */
  #watch(node: RuntimeNode): void {
    const def = node.def;
    if (def === undefined || isTerminal(node.row.state)) return;
    const deps = new Set<string>();
    const { spec } = def;
    if (spec.kind === 'task' || spec.kind === 'map') {
      for (const binding of Object.values(spec.inputs)) bindingDeps(binding, def.scope, deps);
    } else if (spec.kind === 'branch') {
      for (const binding of conditionBindings(spec.condition)) bindingDeps(binding, def.scope, deps);
      const scope = this.#inner.get(def.id);
      const chosen = node.row.inputs?.condition === true ? spec.then : spec.else;
      if (node.row.state === 'running' && scope !== undefined && chosen !== undefined) {
        for (const binding of Object.values(chosen.outputs)) bindingDeps(binding, scope, deps);
      }
    } else {
      const scope = this.#inner.get(def.id) ?? this.#workflowScope(def);
      this.#inner.set(def.id, scope);
      for (const binding of Object.values(this.#catalog.workflow(spec.workflow).outputs)) {
        bindingDeps(binding, scope, deps);
      }
    }
    for (const dep of deps) {
      let set = this.#dependents.get(dep);
      if (set === undefined) {
        set = new Set();
        this.#dependents.set(dep, set);
      }
      set.add(def.id);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Dispatch and completion

  /**
   * Queued nodes that may start now, in queue order: due (`not_before`), not waiting for a cache
   * key, within their map's `concurrency`.
   */
  *due(now: number): Generator<RuntimeNode> {
    if (this.stopping || this.ended) return;
    const runningPerMap = new Map<string, number>();
    for (const node of this.running) {
      const parent = node.row.parent_node;
      if (parent !== null) runningPerMap.set(parent, (runningPerMap.get(parent) ?? 0) + 1);
    }
    for (const node of this.queued) {
      if (node.row.not_before > now || node.waitUntil > now || node.waitingForKey !== undefined) continue;
      const limit = node.def?.item === undefined ? undefined : (node.def.spec as MapNode).concurrency;
      const parent = node.row.parent_node;
      if (limit !== undefined && parent !== null) {
        const busy = runningPerMap.get(parent) ?? 0;
        if (busy >= limit) continue;
        runningPerMap.set(parent, busy + 1);
      }
      yield node;
    }
  }

  /** Starts the next attempt of a queued node. @returns the attempt number. */
  start(node: RuntimeNode, now: number, owner: string, leaseUntil: number, writes: SchedulerWrites): number {
    const attempt = Math.max(1, node.row.attempt);
    this.#set(node, {
      state: 'running',
      attempt,
      started_at: now,
      ended_at: null,
      owner,
      lease_until: leaseUntil,
      error: null,
    });
    writes.attemptStarts.push({ execution_id: this.id, node_id: node.row.node_id, attempt, started_at: now });
    return attempt;
  }

  /** Records the tracking run of a running attempt. */
  setRunId(nodeId: string, attempt: number, runId: string): void {
    const node = this.nodes.get(nodeId);
    if (node?.row.state === 'running' && node.row.attempt === attempt) this.#set(node, { run_id: runId });
  }

  /**
   * Applies how an attempt ended: success (its outputs, cached when the task is), a retry with
   * backoff, cancellation, requeueing after an interruption, or failure, which fails the
   * execution (fail fast). Outcomes of attempts that are not current any more are ignored.
   *
   * @returns whether the outcome applied.
   */
  complete(outcome: AttemptOutcome, now: number, writes: SchedulerWrites): boolean {
    const node = this.nodes.get(outcome.nodeId);
    if (node === undefined || node.row.state !== 'running' || node.row.attempt !== outcome.attempt)
      return false;
    const { result } = outcome;
    const attemptState = result.ok
      ? 'succeeded'
      : isCancellation(result, this.stopping)
        ? 'cancelled'
        : 'failed';
    writes.attemptFinishes.push({
      execution_id: this.id,
      node_id: outcome.nodeId,
      attempt: outcome.attempt,
      state: outcome.interrupted ? 'failed' : attemptState,
      ended_at: outcome.endedAt,
      error: result.ok ? null : result.error,
      log_path: outcome.logPath,
      worker: outcome.worker,
    });
    const key = node.row.cache_key;
    if (key !== null) writes.releases.push(key);
    if (outcome.interrupted && !result.ok) {
      this.#requeue(node, outcome.attempt + 1, now, result.error);
    } else if (result.ok) {
      this.#succeed(node, result.outputs, outcome.endedAt);
      if (key !== null && node.task !== undefined) {
        writes.cacheWrites.push({
          cache_key: key,
          task: node.task.name,
          outputs: result.outputs,
          execution_id: this.id,
          node_id: outcome.nodeId,
          overwrite: this.cacheMode === 'overwrite',
        });
      }
    } else if (attemptState === 'cancelled') {
      this.#set(node, { state: 'cancelled', error: result.error, ended_at: outcome.endedAt });
      this.#finished(node);
    } else if (result.error.retryable && outcome.attempt <= (node.task?.retries ?? 0) && !this.stopping) {
      this.#requeue(node, outcome.attempt + 1, now + this.backoffMs(outcome.attempt), result.error);
    } else {
      this.fail(node, result.error, outcome.endedAt);
    }
    return true;
  }

  /** Delay before retrying after failed attempt `attempt`. */
  backoffMs(attempt: number): number {
    return Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** (attempt - 1));
  }

  /** Puts a running node back in the queue for attempt `attempt`. */
  #requeue(node: RuntimeNode, attempt: number, notBefore: number, error: ExecutionError): void {
    this.#set(node, {
      state: 'queued',
      attempt,
      not_before: notBefore,
      queued_at: notBefore,
      owner: null,
      lease_until: null,
      error,
    });
  }

  /** A node failed for good: its map too, and the execution (fail fast). */
  fail(node: RuntimeNode, error: ExecutionError, now: number): void {
    this.#set(node, { state: 'failed', error, ended_at: now });
    this.#finished(node);
    const parent = node.row.parent_node === null ? undefined : this.nodes.get(node.row.parent_node);
    if (parent?.def?.spec.kind === 'map' && !isTerminal(parent.row.state)) {
      this.#set(parent, { state: 'failed', error, ended_at: now });
      this.#finished(parent);
    }
    if (this.failure === undefined) {
      this.failure = executionErrorOf(node);
      this.#closeOpenNodes('skipped', now);
    }
  }

  /** Cancellation was asked for: nodes not started end `cancelled`; running attempts must stop. */
  cancel(now: number): void {
    this.#closeOpenNodes('cancelled', now);
  }

  /** Ends every node that is not running an attempt and not ended yet. */
  #closeOpenNodes(state: 'skipped' | 'cancelled', now: number): void {
    for (const id of [...this.#open]) {
      const node = this.nodes.get(id) as RuntimeNode;
      if (this.running.has(node)) continue;
      const ended: NodeState =
        node.row.state === 'pending' || node.row.state === 'queued' ? state : 'cancelled';
      this.#set(node, { state: ended, ended_at: now, owner: null, lease_until: null });
      this.#finished(node);
    }
  }

  #succeed(node: RuntimeNode, outputs: Record<string, JsonValue>, now: number): void {
    this.#set(node, {
      state: 'succeeded',
      outputs,
      error: null,
      ended_at: now,
      owner: null,
      lease_until: null,
    });
    this.#finished(node);
  }

  /** A node reached a final state: its dependents (and its map) are evaluated again. */
  #finished(node: RuntimeNode): void {
    const id = node.row.node_id;
    for (const dependent of this.#dependents.get(id) ?? []) this.#dirty.add(dependent);
    if (node.row.parent_node !== null) this.#dirty.add(node.row.parent_node);
  }

  /**
   * Finishes the execution when nothing is left to do: `cancelled` after a cancellation,
   * `failed` after a failure (once no attempt runs), `succeeded` with the workflow's outputs when
   * every node is done.
   *
   * @returns the final state, or undefined while the execution goes on.
   */
  settle(now: number): 'succeeded' | 'failed' | 'cancelled' | undefined {
    if (this.ended) return undefined;
    const end = { ended_at: now, owner: null, lease_until: null };
    if (this.#record.state === 'cancelling') {
      if (this.running.size > 0) return undefined;
      this.cancel(now);
      this.updateRecord({ state: 'cancelled', ...end });
      return 'cancelled';
    }
    if (this.failure !== undefined) {
      if (this.running.size > 0) return undefined;
      this.#closeOpenNodes('skipped', now);
      this.updateRecord({ state: 'failed', error: this.failure, ...end });
      return 'failed';
    }
    if (this.#open.size > 0) return undefined;
    const spec = this.#catalog.registration.workflow;
    const outputs = resolveAll(spec.outputs, this.#root, this.#outputsOf);
    if (outputs === undefined) {
      const error: ExecutionError = {
        kind: 'system',
        retryable: false,
        message: 'Every node ended but the workflow outputs could not be resolved',
      };
      this.updateRecord({ state: 'failed', error, ...end });
      return 'failed';
    }
    this.updateRecord({ state: 'succeeded', outputs, ...end });
    return 'succeeded';
  }

  // -------------------------------------------------------------------------------------------
  // State bookkeeping and writes

  /** Changes a node's fields; keeps the queued/running/open sets in step. */
  #set(node: RuntimeNode, update: NodeUpdate): void {
    const before = node.row.state;
    node.row = { ...node.row, ...update };
    if (node.saved !== undefined) {
      node.changes = { ...node.changes, ...update };
      this.#changed.add(node);
    }
    if (update.state !== undefined && update.state !== before) this.#track(node, before);
  }

  #track(node: RuntimeNode, before: NodeState | undefined): void {
    const state = node.row.state;
    if (before === 'queued') this.queued.delete(node);
    if (before === 'running' && node.task !== undefined) this.running.delete(node);
    if (state === 'queued') this.queued.add(node);
    if (state === 'running' && node.task !== undefined && node.row.kind === 'task') this.running.add(node);
    if (isTerminal(state)) this.#open.delete(node.row.node_id);
    else this.#open.add(node.row.node_id);
    const parent = node.row.parent_node;
    const done = DONE.has(state) ? 1 : 0;
    const wasDone = before !== undefined && DONE.has(before) ? 1 : 0;
    if (parent !== null && done !== wasDone) {
      this.#doneChildren.set(parent, (this.#doneChildren.get(parent) ?? 0) + done - wasDone);
    }
  }

  /**
   * Moves the turn's changes into `writes`: new nodes as inserts, changed nodes as
   * compare-and-sets from their stored state, the execution's changes as a compare-and-set on its
   * stored state and `owner`. What is flushed counts as stored from now on.
   */
  flush(writes: SchedulerWrites, owner: string): void {
    for (const node of this.#unsaved) {
      writes.nodeInserts.push({ executionId: this.id, seq: this.#nextSeq++, node: node.row });
      node.saved = { state: node.row.state, attempt: node.row.attempt };
    }
    this.#unsaved.length = 0;
    for (const node of this.#changed) {
      if (node.saved === undefined || node.changes === undefined) continue;
      writes.nodeTransitions.push({
        executionId: this.id,
        nodeId: node.row.node_id,
        expect: node.saved,
        update: node.changes,
      });
      node.saved = { state: node.row.state, attempt: node.row.attempt };
      node.changes = undefined;
    }
    this.#changed.clear();
    if (this.#recordChanges !== undefined) {
      writes.executionTransitions.push({
        executionId: this.id,
        expect: { state: this.#savedState, owner },
        update: this.#recordChanges,
      });
      this.#savedState = this.#record.state;
      this.#recordChanges = undefined;
    }
  }
}

/** A new node's fields (what {@link ExecutionRuntime.staticNodes} returns). */
export type NodeRecordInit = Omit<NodeRecord, 'execution_id' | 'not_before' | 'owner' | 'lease_until'>;

function initialRow(def: NodeDef): NodeRecordInit {
  const { spec } = def;
  const kind = def.item === undefined ? spec.kind : 'task';
  return pendingNode({
    node_id: def.id,
    kind,
    task: spec.kind === 'task' || spec.kind === 'map' ? spec.task : null,
    parent_node: def.parent,
  });
}

/** The error an execution fails with when `node` failed. */
function executionErrorOf(node: RuntimeNode): ExecutionError {
  const error = node.row.error ?? { kind: 'system', retryable: false, message: 'failed' };
  return { ...error, message: `Node '${node.row.node_id}' failed: ${error.message}` };
}

function isCancellation(result: AttemptResult, stopping: boolean): boolean {
  return !result.ok && stopping && result.error.kind === 'system' && result.error.message === 'cancelled';
}

/** Item `index`'s inputs: element `index` of every mapped list, the other inputs as they are. */
function itemInputs(
  spec: MapNode,
  inputs: Record<string, JsonValue>,
  index: number,
): Record<string, JsonValue> {
  const values: Record<string, JsonValue> = { ...inputs };
  for (const name of spec.over) {
    const list = inputs[name];
    values[name] = Array.isArray(list) ? (list[index] ?? null) : null;
  }
  return values;
}

/** The number of items of a map, or why its lists cannot be mapped. */
function mapLength(spec: MapNode, inputs: Record<string, JsonValue>): number | string {
  const lengths = spec.over.map((name) => {
    const list = inputs[name];
    return Array.isArray(list) ? list.length : -1;
  });
  const bad = spec.over.find((_, i) => lengths[i] === -1);
  if (bad !== undefined) return `Map '${spec.id}': input '${bad}' is not a list`;
  const first = lengths[0] ?? 0;
  const other = lengths.findIndex((length) => length !== first);
  if (other !== -1) {
    return `Map '${spec.id}': the mapped inputs differ in length (${spec.over[0]}: ${first} items, ${spec.over[other]}: ${lengths[other]} items)`;
  }
  return first;
}

/** The index of map item `id` of map `parent` (`fits[3]` → 3). */
function itemIndex(id: string, parent: string): number | undefined {
  const match = /^\[(\d+)\]$/.exec(id.slice(parent.length));
  return id.startsWith(parent) && match !== null ? Number(match[1]) : undefined;
}
