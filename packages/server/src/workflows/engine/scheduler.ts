/**
 * The workflow scheduler: one loop per server process that drives the executions it holds. The
 * DAG and every node's state live in the store; the scheduler claims executions (a lease it
 * renews), evaluates their graphs as node outputs become known, serves task calls from the cache,
 * hands the rest to the {@link Executor}, and commits each turn's transitions in one transaction.
 * A process killed without warning loses its leases; another (or the restarted) process takes its
 * executions over, keeps every finished node and runs the interrupted ones again.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { JsonValue } from '@keel/core';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { type Clock, systemClock } from '../../services/clock.js';
import { TrackingWriteError } from '../../store/tracking-batch.js';
import {
  SchedulerWrites,
  type WorkflowBatchStore,
  WriteConflictError,
} from '../../store/workflow-batch-store.js';
import type { ExecutionRecord, WorkflowStore } from '../../store/workflow-store.js';
import {
  type AttemptOutcome,
  type CacheLookup,
  ExecutionRuntime,
  type RuntimeNode,
} from './execution-runtime.js';
import { type ExecutionTracking, type LaunchedBy, runStatusOf } from './execution-tracking.js';
import { type AttemptFailure, type Executor, failure } from './executor.js';
import { Catalog } from './graph.js';
import {
  LOG_LINES_CONTENT_TYPE,
  type LogChannel,
  type LogHub,
  logKey,
  logPath,
  serializeLogLines,
} from './log-hub.js';

/** Where the scheduler reports trouble it cannot hand to anyone (pino's `warn`/`error` fit). */
export interface SchedulerLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** What a {@link Scheduler} needs, and its timings. */
export interface SchedulerOptions {
  store: WorkflowStore;
  batches: WorkflowBatchStore;
  /** Runs the attempts; the scheduler closes it when it stops. */
  executor: Executor;
  /** Where attempt logs are stored (`workflows/logs/<execution>/<node>/<attempt>.jsonl`). */
  artifacts: ArtifactStore;
  /** Live logs of running attempts. */
  logs: LogHub;
  /** Tracking runs of executions and attempts, written with each turn's commit. @default none are created */
  tracking?: ExecutionTracking;
  clock?: Clock;
  /** Names this process's leases. @default a random UUID */
  owner?: string;
  /** How long a lease (on an execution, a running node, a cache reservation) lasts. @default 15000 */
  leaseMs?: number;
  /** How often leases are renewed and expired ones taken back. @default 5000 */
  renewEveryMs?: number;
  /** Longest sleep between two turns when nothing wakes the loop. @default 250 */
  pollMs?: number;
  /** Retry backoff: base · 2^(n−1), capped. @default { baseMs: 1000, maxMs: 60000 } */
  retry?: { baseMs: number; maxMs: number };
  /** How long a node waits before asking again for a cache key another process computes. @default 1000 */
  reservationPollMs?: number;
  /** Executions held at once. @default 1000 */
  maxExecutions?: number;
  /** @default a logger that drops everything */
  logger?: SchedulerLogger;
}

/** The defaults of {@link SchedulerOptions}. */
export const SCHEDULER_DEFAULTS = Object.freeze({
  leaseMs: 15_000,
  renewEveryMs: 5_000,
  pollMs: 250,
  retry: Object.freeze({ baseMs: 1_000, maxMs: 60_000 }),
  reservationPollMs: 1_000,
  maxExecutions: 1_000,
});

/** An attempt this process runs. */
interface InFlight {
  executionId: string;
  nodeId: string;
  attempt: number;
  cacheKey: string | null;
  controller: AbortController;
  channel: LogChannel;
  done: Promise<void>;
}

/** An attempt's tracking run, ended by the turn that applies the attempt's outcome. */
interface AttemptRun {
  id: string;
  execution: ExecutionRecord;
}

/** Something that happened outside the loop, applied at the next turn: an attempt ended. */
interface SchedulerEvent {
  kind: 'completed';
  executionId: string;
  outcome: AttemptOutcome;
  channel: LogChannel;
  run?: AttemptRun;
}

/** An attempt a turn starts once its writes are committed. */
interface AttemptStart {
  runtime: ExecutionRuntime;
  node: RuntimeNode;
  attempt: number;
  /** Its tracking run, created by the same commit. */
  runId?: string;
}

/** What a turn decided, acted on once its writes are committed. */
interface TurnDecisions {
  /** Executions that reached a final state. */
  ended: ExecutionRuntime[];
  starts: AttemptStart[];
}

/** A node chosen to start this turn. */
interface Pick {
  runtime: ExecutionRuntime;
  node: RuntimeNode;
}

const LOST_MESSAGE = 'The process running this attempt stopped; the node was queued again';
const STOPPED_MESSAGE = 'The server stopped while the attempt ran; the node was queued again';

const silentLogger: SchedulerLogger = { warn: () => undefined, error: () => undefined };

/**
 * Drives workflow executions. {@link start} begins the loop; the service calls {@link wake} after
 * a launch and {@link notify} after a cancellation; {@link stop} hands everything back.
 *
 * One turn: take back expired leases (every `renewEveryMs`), claim executions, apply attempt
 * outcomes, evaluate what changed (map expansion, branch decisions, cache lookups in bulk),
 * finish executions, pick queued nodes up to the executor's free capacity (identical cached calls
 * run once: this process's own attempts by key, other processes' by reservation), then commit
 * all of it in one transaction and start the picked attempts.
 *
 * @example
 * const scheduler = new Scheduler({ store, batches, executor, artifacts, logs: new LogHub() });
 * scheduler.start();
 * // after a launch:
 * scheduler.wake();
 * await scheduler.stop();
 */
export class Scheduler {
  /** Names this process's leases. */
  readonly owner: string;
  readonly #options: SchedulerOptions;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #renewEveryMs: number;
  readonly #pollMs: number;
  readonly #retry: { baseMs: number; maxMs: number };
  readonly #reservationPollMs: number;
  readonly #maxExecutions: number;
  #logger: SchedulerLogger;
  readonly #executions = new Map<string, ExecutionRuntime>();
  readonly #reload = new Set<string>();
  readonly #events: SchedulerEvent[] = [];
  readonly #inflight = new Map<string, InFlight>();
  /** Cache keys this process's attempts compute, and who waits for them. */
  readonly #keys = new Map<string, { executionId: string; nodeId: string }[]>();
  readonly #catalogs = new Map<string, Promise<Catalog>>();
  /** Executions whose tracking writes failed: they continue without tracking. */
  readonly #untracked = new Set<string>();
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  #wakeUp: (() => void) | undefined;
  #woken = false;
  #claimRequested = true;
  #lastClaim = 0;
  #nextMaintenance = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.owner = options.owner ?? randomUUID();
    this.#clock = options.clock ?? systemClock;
    this.#leaseMs = options.leaseMs ?? SCHEDULER_DEFAULTS.leaseMs;
    this.#renewEveryMs = options.renewEveryMs ?? SCHEDULER_DEFAULTS.renewEveryMs;
    this.#pollMs = options.pollMs ?? SCHEDULER_DEFAULTS.pollMs;
    this.#retry = Object.freeze({ ...(options.retry ?? SCHEDULER_DEFAULTS.retry) });
    this.#reservationPollMs = options.reservationPollMs ?? SCHEDULER_DEFAULTS.reservationPollMs;
    this.#maxExecutions = options.maxExecutions ?? SCHEDULER_DEFAULTS.maxExecutions;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Whether the loop runs. */
  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Starts the loop (a no-op when it runs); expired leases are taken back first. */
  start(logger?: SchedulerLogger): void {
    if (this.#loop !== undefined) return;
    if (logger !== undefined) this.#logger = logger;
    this.#abort = new AbortController();
    this.#nextMaintenance = 0;
    this.#loop = this.#run(this.#abort.signal);
  }

  /** Runs a turn soon: new executions may be waiting. */
  wake(): void {
    this.#claimRequested = true;
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** An execution changed outside the scheduler (cancelled): read it again. */
  notify(executionId: string): void {
    if (this.#executions.has(executionId)) this.#reload.add(executionId);
    this.wake();
  }

  /**
   * Stops the loop and closes the executor. With `release` (the default) the attempts that were
   * running are queued again and the executions handed back (no owner), so another process
   * continues them at once; with `release: false` nothing more is written, as if the process had
   * been killed (their leases must expire first).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    const loop = this.#loop;
    if (loop === undefined) return;
    this.#abort.abort();
    this.#wakeUp?.();
    await loop;
    await this.#options.executor.close();
    await Promise.all([...this.#inflight.values()].map((flight) => flight.done));
    if (options.release !== false) await this.#handBack();
    for (const event of this.#events.splice(0)) event.channel.close('failed');
    this.#executions.clear();
    this.#untracked.clear();
    this.#reload.clear();
    this.#keys.clear();
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let busy = false;
      try {
        busy = await this.#turn();
      } catch (error) {
        this.#logger.error({ err: error }, 'workflow scheduler: turn failed');
      }
      if (!busy && !signal.aborted) await this.#sleep(signal);
      // Let the I/O that arrived meanwhile (attempt results from several workers) join the next
      // turn: one transaction for all of them instead of one each.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #sleep(signal: AbortSignal): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    const ms = this.#sleepMs(this.#clock());
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wakeUp = undefined;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wakeUp = done;
    });
  }

  /** Until the next poll, or sooner when a queued node becomes due (a retry's backoff ends). */
  #sleepMs(now: number): number {
    let ms = this.#pollMs;
    for (const runtime of this.#executions.values()) {
      for (const node of runtime.queued) {
        const due = Math.max(node.row.not_before, node.waitUntil);
        if (due > now) ms = Math.min(ms, due - now);
      }
    }
    return Math.max(1, ms);
  }

  // -------------------------------------------------------------------------------------------
  // One turn

  /** @returns whether it wrote something (another turn follows at once). */
  async #turn(): Promise<boolean> {
    // Taken before `now`: attempts this turn starts in the slots of those that ended start later.
    const events = this.#events.splice(0);
    const now = this.#clock();
    const writes = new SchedulerWrites();
    try {
      if (now >= this.#nextMaintenance) await this.#maintain(now, writes);
      if (this.#claimRequested || now - this.#lastClaim >= this.#pollMs) await this.#claim(now, writes);
      for (const id of [...this.#reload]) await this.#loadSafely(id, now, writes);
    } catch (error) {
      this.#events.unshift(...events);
      throw error;
    }
    let decided: TurnDecisions;
    try {
      decided = await this.#decide(now, events, writes);
      await this.#options.batches.commit(writes, this.owner, this.#options.tracking);
    } catch (error) {
      this.#rollBack(error, events);
      return false;
    }
    this.#afterCommit(events, decided.ended);
    for (const start of decided.starts) this.#launch(start);
    this.#stopAttempts();
    return !writes.empty;
  }

  /**
   * The turn's decisions, in memory and in `writes`: attempt outcomes applied (their runs ended),
   * graphs evaluated, ended executions settled (their runs ended), attempts to start picked (their
   * runs created).
   */
  async #decide(
    now: number,
    events: readonly SchedulerEvent[],
    writes: SchedulerWrites,
  ): Promise<TurnDecisions> {
    this.#apply(events, now, writes);
    await this.#evaluate(now, writes);
    const ended = [...this.#executions.values()].filter((runtime) => runtime.settle(now) !== undefined);
    // In the same commit, so that whoever sees the execution ended sees its run ended too.
    for (const runtime of ended) this.#endRun(runtime, writes);
    // The attempts whose outcomes this turn applies have left their workers already.
    const picks = await this.#pick(now, writes, events.length);
    const starts = picks.map(({ runtime, node }): AttemptStart => {
      const attempt = runtime.start(node, now, this.owner, now + this.#leaseMs, writes);
      const runId = this.#startAttemptRun(runtime, node, attempt, now, writes);
      return { runtime, node, attempt, ...(runId === undefined ? {} : { runId }) };
    });
    for (const runtime of this.#executions.values()) runtime.flush(writes, this.owner);
    return { ended, starts };
  }

  /**
   * Renews this process's leases and takes back those of processes that stopped renewing (the
   * runs of their lost attempts are ended with the turn).
   */
  async #maintain(now: number, writes: SchedulerWrites): Promise<void> {
    this.#nextMaintenance = now + this.#renewEveryMs;
    const { store, batches } = this.#options;
    // Nothing held, nothing to renew (and no write to make).
    if (this.#executions.size > 0 || this.#inflight.size > 0 || this.#reload.size > 0) {
      await store.renewLeases(this.owner, now + this.#leaseMs);
    }
    const keys = [...this.#keys.keys()];
    if (keys.length > 0) await batches.reserveMany(keys, this.owner, this.#leaseMs);
    const expired = await store.claimExpired(now);
    for (const node of expired.nodes) {
      if (this.#executions.has(node.execution_id)) this.#reload.add(node.execution_id);
    }
    if (this.#options.tracking !== undefined && expired.nodes.length > 0) {
      for (const lost of await batches.lostRuns(expired.nodes)) {
        this.#endAttemptRun(lost.run_id, lost, 'failed', now, writes);
      }
    }
    if (expired.executions.length > 0) this.#claimRequested = true;
    const held = [...this.#executions.keys()];
    if (held.length === 0) return;
    const states = await batches.executionStates(held);
    for (const id of held) {
      const current = states.get(id);
      const runtime = this.#executions.get(id) as ExecutionRuntime;
      if (current === undefined || current.owner !== this.owner) this.#drop(id);
      else if (current.state !== runtime.record.state) this.#reload.add(id);
    }
  }

  /** Claims executions nobody holds, up to `maxExecutions`. */
  async #claim(now: number, writes: SchedulerWrites): Promise<void> {
    this.#claimRequested = false;
    this.#lastClaim = now;
    const room = this.#maxExecutions - this.#executions.size;
    if (room <= 0) return;
    const ids = await this.#options.store.claimExecutions(this.owner, now, this.#leaseMs, room);
    for (const id of ids) await this.#loadSafely(id, now, writes);
  }

  /** {@link #load}; a failure is logged and the load tried again next turn. */
  async #loadSafely(id: string, now: number, writes: SchedulerWrites): Promise<void> {
    try {
      await this.#load(id, now, writes);
    } catch (error) {
      this.#executions.delete(id);
      this.#reload.add(id);
      this.#logger.error({ err: error, executionId: id }, 'workflow scheduler: loading an execution failed');
    }
  }

  /**
   * (Re)builds the runtime of a held execution from the store. Running nodes whose attempt this
   * process does not run (any more) are queued again; a queued execution starts; a cancelling
   * one stops its work; a new one gets its tracking run.
   */
  async #load(id: string, now: number, writes: SchedulerWrites): Promise<void> {
    this.#reload.delete(id);
    this.#executions.delete(id);
    const loaded = await this.#options.batches.loadExecution(id);
    if (loaded === undefined || loaded.execution.owner !== this.owner) return;
    const { execution } = loaded;
    if (['succeeded', 'failed', 'cancelled'].includes(execution.state)) return;
    const catalog = await this.#catalog(execution.workflow, execution.version);
    const runtime = ExecutionRuntime.load(execution, loaded.nextSeq, catalog, this.#retry);
    for (const node of [...runtime.running]) {
      const flight = this.#inflight.get(logKey(id, node.row.node_id, node.row.attempt));
      const lost = node.row.owner === this.owner || (node.row.lease_until ?? 0) < now;
      if (flight === undefined && lost) {
        // The run of the lost attempt was left running by the process that died.
        if (node.row.run_id !== null) this.#endAttemptRun(node.row.run_id, execution, 'failed', now, writes);
        runtime.complete(lostOutcome(node, now, LOST_MESSAGE), now, writes);
      }
    }
    if (execution.state === 'queued') runtime.updateRecord({ state: 'running', started_at: now });
    if (execution.state === 'cancelling') runtime.cancel(now);
    await this.#trackExecution(runtime, now, writes);
    this.#executions.set(id, runtime);
  }

  /**
   * Adds the tracking run of a new execution to the turn's writes, or reads where the runs of an
   * execution that has one go; without tracking from then on when that fails.
   */
  async #trackExecution(runtime: ExecutionRuntime, now: number, writes: SchedulerWrites): Promise<void> {
    const { tracking } = this.#options;
    if (tracking === undefined || this.#untracked.has(runtime.id)) return;
    try {
      if (runtime.record.run_id === null) {
        runtime.updateRecord({ run_id: await tracking.startExecution(runtime.record, now, writes.tracking) });
      } else {
        await tracking.resume(runtime.record);
      }
    } catch (error) {
      this.#untracked.add(runtime.id);
      this.#logger.warn(
        { err: error, executionId: runtime.id },
        'workflow scheduler: no tracking run for the execution',
      );
    }
  }

  /** The parts of a registered version (versions never change, so they are kept). */
  #catalog(workflow: string, version: string): Promise<Catalog> {
    const key = `${workflow}\u0000${version}`;
    let catalog = this.#catalogs.get(key);
    if (catalog === undefined) {
      catalog = this.#options.store.getVersion(workflow, version).then((record) => {
        if (record === undefined)
          throw new Error(`Workflow '${workflow}' version '${version}' is not registered`);
        return new Catalog(record.spec);
      });
      catalog.catch(() => this.#catalogs.delete(key));
      this.#catalogs.set(key, catalog);
    }
    return catalog;
  }

  #apply(events: readonly SchedulerEvent[], now: number, writes: SchedulerWrites): void {
    for (const { executionId, outcome, run } of events) {
      if (run !== undefined) {
        this.#endAttemptRun(run.id, run.execution, outcomeState(outcome.result), outcome.endedAt, writes);
      }
      this.#executions.get(executionId)?.complete(outcome, now, writes);
    }
  }

  /** Evaluates every held execution until no cache lookup is left (one bulk read per round). */
  async #evaluate(now: number, writes: SchedulerWrites): Promise<void> {
    for (;;) {
      const rounds: { runtime: ExecutionRuntime; lookups: CacheLookup[] }[] = [];
      for (const runtime of this.#executions.values()) {
        const lookups = runtime.advance(now);
        if (lookups.length > 0) rounds.push({ runtime, lookups });
      }
      if (rounds.length === 0) return;
      const hits = await this.#options.batches.cacheGetMany(
        rounds.flatMap(({ lookups }) => lookups.map((lookup) => lookup.key)),
      );
      for (const { runtime, lookups } of rounds) runtime.resolveLookups(lookups, hits, now, writes);
    }
  }

  /**
   * Queued nodes to start now, round-robin over executions, up to the executor's free capacity
   * (`finished` of the attempts in flight have ended: this turn applies their outcomes). A cached task starts only if no attempt of this process computes its key (else it waits for
   * it) and this process holds the key's reservation (else it asks again later); a result that
   * appeared meanwhile ends it `cached`.
   */
  async #pick(now: number, writes: SchedulerWrites, finished: number): Promise<Pick[]> {
    const free = this.#options.executor.capacity - (this.#inflight.size - finished);
    if (free <= 0) return [];
    const candidates = roundRobin(
      [...this.#executions.values()].map((runtime) => ({ runtime, due: runtime.due(now) })),
      free,
    );
    const picks: Pick[] = [];
    const keyed = new Map<string, Pick>();
    for (const pick of candidates) {
      const key = pick.node.row.cache_key;
      if (key === null) picks.push(pick);
      else if (this.#keys.has(key) || keyed.has(key)) this.#waitFor(key, pick);
      else keyed.set(key, pick);
    }
    if (keyed.size === 0) return picks;
    const held = await this.#options.batches.reserveMany(keyed.keys(), this.owner, this.#leaseMs);
    const recheck = [...held].filter((key) => (keyed.get(key) as Pick).runtime.cacheMode === 'use');
    const hits: Map<string, Record<string, JsonValue>> = recheck.length === 0
      ? new Map()
      : await this.#options.batches.cacheGetMany(recheck);
    for (const [key, pick] of keyed) {
      const outputs = hits.get(key);
      if (held.has(key) && outputs === undefined) {
        if (!this.#keys.has(key)) this.#keys.set(key, []);
        picks.push(pick);
        continue;
      }
      if (!held.has(key)) {
        pick.node.waitUntil = now + this.#reservationPollMs;
      } else if (outputs !== undefined) {
        pick.runtime.cached(pick.node, outputs, now);
        writes.cacheHits.push(key);
        writes.releases.push(key);
      }
      // Nodes of this turn that waited for this pick look again next turn.
      this.#releaseKey(key);
    }
    return picks;
  }

  /** A node waits for this process's attempt computing the same key. */
  #waitFor(key: string, pick: Pick): void {
    pick.node.waitingForKey = key;
    const waiters = this.#keys.get(key);
    if (waiters === undefined) {
      // The key is computed by another pick of this very turn.
      this.#keys.set(key, [{ executionId: pick.runtime.id, nodeId: pick.node.row.node_id }]);
    } else {
      waiters.push({ executionId: pick.runtime.id, nodeId: pick.node.row.node_id });
    }
  }

  /**
   * The commit failed (nothing of the turn was written): every held execution is loaded again
   * and the turn's events are applied again.
   */
  #rollBack(error: unknown, events: SchedulerEvent[]): void {
    if (error instanceof WriteConflictError) {
      this.#logger.warn(
        { executions: error.executionIds },
        'workflow scheduler: concurrent change; reloading',
      );
    } else if (error instanceof TrackingWriteError) {
      // Without their tracking writes, the next turn commits the rest.
      for (const id of error.sources) this.#untracked.add(id);
      this.#logger.warn(
        { err: error.cause, executions: error.sources },
        'workflow scheduler: writing tracking runs failed; these executions continue without tracking',
      );
    } else {
      this.#logger.error({ err: error }, 'workflow scheduler: commit failed');
    }
    for (const id of this.#executions.keys()) this.#reload.add(id);
    // Keys reserved for picks that did not start: nothing computes them.
    const computed = new Set([...this.#inflight.values()].map((flight) => flight.cacheKey));
    for (const key of [...this.#keys.keys()]) if (!computed.has(key)) this.#keys.delete(key);
    this.#events.unshift(...events);
  }

  #afterCommit(events: readonly SchedulerEvent[], ended: readonly ExecutionRuntime[]): void {
    for (const event of events) {
      const { outcome } = event;
      event.channel.close(outcome.result.ok ? 'succeeded' : outcomeState(outcome.result));
      const key = logKey(event.executionId, outcome.nodeId, outcome.attempt);
      const cacheKey = this.#inflight.get(key)?.cacheKey;
      if (cacheKey !== undefined && cacheKey !== null) this.#releaseKey(cacheKey);
      this.#inflight.delete(key);
    }
    for (const runtime of ended) {
      this.#executions.delete(runtime.id);
      this.#untracked.delete(runtime.id);
    }
  }

  /** This process finished computing a key: its waiters may look at the cache again. */
  #releaseKey(key: string): void {
    for (const waiter of this.#keys.get(key) ?? []) {
      const node = this.#executions.get(waiter.executionId)?.nodes.get(waiter.nodeId);
      if (node?.waitingForKey === key) node.waitingForKey = undefined;
    }
    this.#keys.delete(key);
  }

  /** Aborts the attempts of executions that fail or are being cancelled. */
  #stopAttempts(): void {
    for (const flight of this.#inflight.values()) {
      const runtime = this.#executions.get(flight.executionId);
      if (runtime?.stopping && !flight.controller.signal.aborted) flight.controller.abort();
    }
  }

  /** Forgets an execution another process holds now; its attempts here are stopped. */
  #drop(id: string): void {
    this.#executions.delete(id);
    this.#untracked.delete(id);
    for (const flight of this.#inflight.values()) if (flight.executionId === id) flight.controller.abort();
  }

  /** Adds the end of an ended execution's tracking run to the turn's writes. */
  #endRun(runtime: ExecutionRuntime, writes: SchedulerWrites): void {
    const { tracking } = this.#options;
    const record = runtime.record;
    if (tracking === undefined || record.run_id === null || this.#untracked.has(runtime.id)) return;
    tracking.end(
      record,
      record.run_id,
      runStatusOf(record.state),
      record.ended_at ?? this.#clock(),
      writes.tracking,
    );
  }

  /** Adds the end of an attempt's tracking run to the turn's writes; `state` is the attempt's. */
  #endAttemptRun(
    runId: string,
    execution: LaunchedBy,
    state: string,
    endedAt: number,
    writes: SchedulerWrites,
  ): void {
    const { tracking } = this.#options;
    if (tracking === undefined || this.#untracked.has(execution.execution_id)) return;
    tracking.end(execution, runId, runStatusOf(state), endedAt, writes.tracking);
  }

  /**
   * Adds the tracking run of an attempt to the turn's writes and records it on the node; a failure
   * is logged: tracking never fails an attempt.
   */
  #startAttemptRun(
    runtime: ExecutionRuntime,
    node: RuntimeNode,
    attempt: number,
    now: number,
    writes: SchedulerWrites,
  ): string | undefined {
    const { tracking } = this.#options;
    const nodeId = node.row.node_id;
    if (
      tracking === undefined ||
      runtime.record.run_id === null ||
      node.task === undefined ||
      this.#untracked.has(runtime.id)
    )
      return undefined;
    try {
      const runId = tracking.startAttempt(
        runtime.record,
        nodeId,
        attempt,
        node.task,
        node.row.inputs ?? {},
        now,
        writes.tracking,
      );
      runtime.setRunId(nodeId, attempt, runId);
      return runId;
    } catch (error) {
      this.#logger.warn({ err: error, nodeId }, 'workflow scheduler: no tracking run for the attempt');
      return undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Attempts

  /** Starts an attempt that was committed `running` (with its tracking run). */
  #launch({ runtime, node, attempt, runId }: AttemptStart): void {
    const key = logKey(runtime.id, node.row.node_id, attempt);
    const controller = new AbortController();
    const channel = this.#options.logs.open(key);
    const flight: InFlight = {
      executionId: runtime.id,
      nodeId: node.row.node_id,
      attempt,
      cacheKey: node.row.cache_key,
      controller,
      channel,
      done: Promise.resolve(),
    };
    const run = runId === undefined ? undefined : { id: runId, execution: runtime.record };
    flight.done = this.#runAttempt(runtime, node, attempt, run, controller.signal, channel).then(
      (outcome) => {
        this.#events.push({
          kind: 'completed',
          executionId: runtime.id,
          outcome,
          channel,
          ...(run === undefined ? {} : { run }),
        });
        this.#woken = true;
        this.#wakeUp?.();
      },
    );
    this.#inflight.set(key, flight);
  }

  /** Runs one attempt: the executor (`ctx.run` calls go to `run`), its stored log. Never rejects. */
  async #runAttempt(
    runtime: ExecutionRuntime,
    node: RuntimeNode,
    attempt: number,
    run: AttemptRun | undefined,
    signal: AbortSignal,
    channel: LogChannel,
  ): Promise<AttemptOutcome> {
    const nodeId = node.row.node_id;
    const task = node.task;
    const inputs = node.row.inputs ?? {};
    const { tracking } = this.#options;
    let worker: string | null = null;
    let interrupted = false;
    let result: AttemptOutcome['result'];
    try {
      if (task === undefined) throw new Error(`Node '${nodeId}' has no task`);
      result = await this.#options.executor.run(
        {
          executionId: runtime.id,
          nodeId,
          attempt,
          task,
          code: runtime.code,
          inputs,
          ...(run === undefined ? {} : { runId: run.id }),
        },
        {
          started: (info) => {
            worker = info.worker;
          },
          log: (stream, text) => channel.write(stream, text),
          ...(run === undefined || tracking === undefined
            ? {}
            : { trackRun: (call) => tracking.record(run.execution, run.id, call) }),
        },
        signal,
      );
    } catch (error) {
      interrupted = this.#abort.signal.aborted;
      result = interrupted
        ? failure('system', true, STOPPED_MESSAGE)
        : failure('system', true, error instanceof Error ? error.message : String(error));
    }
    const endedAt = this.#clock();
    const stored = await this.#storeLog(runtime.id, nodeId, attempt, serializeLogLines(channel.lines()));
    return { nodeId, attempt, result, interrupted, endedAt, logPath: stored, worker };
  }

  /** Stores an attempt's log (JSON lines); null when it printed nothing or the store failed. */
  async #storeLog(
    executionId: string,
    nodeId: string,
    attempt: number,
    text: string,
  ): Promise<string | null> {
    if (text === '') return null;
    const path = logPath(executionId, nodeId, attempt);
    const body = Buffer.from(text, 'utf8');
    try {
      await this.#options.artifacts.put(path, Readable.from([body]), {
        size: body.length,
        contentType: LOG_LINES_CONTENT_TYPE,
      });
      return path;
    } catch (error) {
      this.#logger.warn({ err: error, path }, 'workflow scheduler: storing an attempt log failed');
      return null;
    }
  }

  /** After a graceful stop: interrupted attempts queued again, executions without owner. */
  async #handBack(): Promise<void> {
    const now = this.#clock();
    const writes = new SchedulerWrites();
    const events = this.#events.splice(0);
    this.#apply(events, now, writes);
    for (const runtime of this.#executions.values()) {
      runtime.updateRecord({ owner: null, lease_until: null });
      runtime.flush(writes, this.owner);
    }
    try {
      await this.#options.batches.commit(writes, this.owner, this.#options.tracking);
    } catch (error) {
      this.#logger.warn(
        { err: error },
        'workflow scheduler: handing executions back failed; their leases will expire',
      );
    }
    for (const event of events) event.channel.close(outcomeState(event.outcome.result));
  }
}

/** Takes up to `limit` items from the generators, one from each in turn. */
function roundRobin(
  sources: { runtime: ExecutionRuntime; due: Generator<RuntimeNode> }[],
  limit: number,
): Pick[] {
  const picks: Pick[] = [];
  let active = sources;
  while (picks.length < limit && active.length > 0) {
    const next: typeof active = [];
    for (const source of active) {
      if (picks.length >= limit) break;
      const item = source.due.next();
      if (item.done === true) continue;
      picks.push({ runtime: source.runtime, node: item.value });
      next.push(source);
    }
    active = next;
  }
  return picks;
}

/** The attempt state a result stands for. */
function outcomeState(result: AttemptOutcome['result']): string {
  if (result.ok) return 'succeeded';
  return result.error.message === 'cancelled' && result.error.kind === 'system' ? 'cancelled' : 'failed';
}

/** The outcome of an attempt this process has no trace of (its process died). */
function lostOutcome(node: RuntimeNode, now: number, message: string): AttemptOutcome {
  const result: AttemptFailure = failure('system', true, message);
  return {
    nodeId: node.row.node_id,
    attempt: node.row.attempt,
    result,
    interrupted: true,
    endedAt: now,
    logPath: null,
    worker: null,
  };
}
