/**
 * Tracking runs of workflow executions: each execution gets a run in the experiment
 * `workflows/<workflow>`, each task attempt a run nested under it (MLflow's `mlflow.parentRunId`)
 * with the task's primitive inputs as params; what a task logs through `ctx.run` goes to its
 * attempt's run. Runs are created and ended in the scheduler's turns (see {@link TrackingBatch});
 * the task's own calls go through the tracking services, like any client's.
 */
import { createHash } from 'node:crypto';
import {
  type JsonValue,
  KeelError,
  type KeyValue,
  LIMITS,
  type RunStatus,
  TAG_PARENT_RUN_ID,
  type TaskSpec,
} from '@keel/core';
import type { Transaction } from 'kysely';
import type { Actor } from '../../changes/change.js';
import type { ExperimentService } from '../../services/tracking/experiment-service.js';
import type { RunExperiment, RunService } from '../../services/tracking/run-service.js';
import type { Database } from '../../store/schema.js';
import type { TrackingBatch, TrackingBatchWriter } from '../../store/tracking-batch.js';
import type { ExecutionRecord } from '../../store/workflow-store.js';
import type { RunCall } from './executor.js';

/** Tag naming the workflow of an execution's runs. */
export const TAG_WORKFLOW = 'keel.workflow';
/** Tag naming the workflow version. */
export const TAG_WORKFLOW_VERSION = 'keel.workflow.version';
/** Tag naming the execution. */
export const TAG_EXECUTION_ID = 'keel.execution_id';
/** Tag naming the node of an attempt's run. */
export const TAG_NODE_ID = 'keel.node_id';
/** Tag naming the attempt number of an attempt's run. */
export const TAG_ATTEMPT = 'keel.attempt';

/** Who launched an execution: the actor of its runs' changes. */
export type LaunchedBy = Pick<ExecutionRecord, 'execution_id' | 'created_by'>;

/** What {@link ExecutionTracking} writes through. */
export interface ExecutionTrackingOptions {
  experiments: ExperimentService;
  runs: RunService;
}

/**
 * Creates and ends the tracking runs of executions and attempts. Runs are not written here: each
 * method adds its writes to the scheduler turn's {@link TrackingBatch}, which the scheduler
 * commits with the turn's other writes (one transaction, nothing read back); a run is known to
 * exist once its turn committed. Each method may throw (an experiment deleted meanwhile, a store
 * error); the scheduler logs and carries on without tracking rather than failing the execution.
 *
 * @example
 * const runId = await tracking.startExecution(execution, now, writes.tracking);
 * const attemptRun = tracking.startAttempt({ ...execution, run_id: runId }, 'fit[2]', 1, fitTask, { alpha: 0.1 }, now, writes.tracking);
 * // after the commit, from the task:
 * await tracking.record(execution, attemptRun, { kind: 'metric', key: 'loss', value: 0.3, step: 1, timestamp: Date.now() });
 * tracking.end(execution, attemptRun, 'FINISHED', Date.now(), nextWrites.tracking);
 */
export class ExecutionTracking implements TrackingBatchWriter {
  /** Experiment ids by workflow name. */
  readonly #experiments = new Map<string, Promise<string>>();
  /** Experiments of execution runs (their attempts' runs go there too), by run id. */
  readonly #runExperiments = new Map<string, RunExperiment>();

  constructor(private readonly options: ExecutionTrackingOptions) {}

  /**
   * Adds the run of an execution to `batch`: `<workflow>-<short id>` in experiment
   * `workflows/<workflow>` (created on first use), which must be active.
   *
   * @returns the run's id.
   */
  async startExecution(execution: ExecutionRecord, now: number, batch: TrackingBatch): Promise<string> {
    const actor = actorOf(execution);
    const experiment = await this.#activeExperimentOf(execution.workflow, actor);
    const { row, tags } = this.options.runs.newRun(
      {
        userId: execution.created_by,
        runName: `${execution.workflow}-${shortId(execution.execution_id)}`,
        startTime: now,
        tags: [
          { key: TAG_WORKFLOW, value: execution.workflow },
          { key: TAG_WORKFLOW_VERSION, value: execution.version },
          { key: TAG_EXECUTION_ID, value: execution.execution_id },
        ],
      },
      experiment,
    );
    batch.create({ row, tags, params: [], actor }, execution.execution_id);
    this.#runExperiments.set(row.run_uuid, experiment);
    return row.run_uuid;
  }

  /**
   * Reads the experiment of an execution's existing run (one another process started), once, so
   * that {@link startAttempt} can add its attempts' runs.
   */
  async resume(execution: ExecutionRecord): Promise<void> {
    const runId = execution.run_id;
    if (runId === null || this.#runExperiments.has(runId)) return;
    const run = await this.options.runs.requireRun(runId);
    this.#runExperiments.set(runId, await this.options.experiments.requireActive(String(run.experiment_id)));
  }

  /**
   * Adds the run of one attempt to `batch`, nested under the execution's run (started or resumed
   * by this process), with the task's primitive inputs as params.
   *
   * @returns the run's id.
   */
  startAttempt(
    execution: ExecutionRecord,
    nodeId: string,
    attempt: number,
    task: TaskSpec,
    inputs: Record<string, JsonValue>,
    now: number,
    batch: TrackingBatch,
  ): string {
    const parentId = execution.run_id as string;
    const experiment = this.#runExperiments.get(parentId);
    if (experiment === undefined) {
      throw new Error(
        `The run ${parentId} of execution ${execution.execution_id} was not started or resumed`,
      );
    }
    const { row, tags } = this.options.runs.newRun(
      {
        userId: execution.created_by,
        runName: attempt === 1 ? nodeId : `${nodeId} (attempt ${attempt})`,
        startTime: now,
        tags: [
          { key: TAG_PARENT_RUN_ID, value: parentId },
          { key: TAG_WORKFLOW, value: execution.workflow },
          { key: TAG_WORKFLOW_VERSION, value: execution.version },
          { key: TAG_EXECUTION_ID, value: execution.execution_id },
          { key: TAG_NODE_ID, value: nodeId },
          { key: TAG_ATTEMPT, value: String(attempt) },
        ],
      },
      experiment,
    );
    const params = this.options.runs.newParams(primitiveParams(task, inputs));
    batch.create({ row, tags, params, actor: actorOf(execution) }, execution.execution_id);
    return row.run_uuid;
  }

  /**
   * Adds the end of a run this process started (or that a previous owner left running) to
   * `batch`; a run that is not `RUNNING` any more is left alone.
   */
  end(execution: LaunchedBy, runId: string, status: RunStatus, now: number, batch: TrackingBatch): void {
    batch.end(
      { runId, status, endTime: now, previousStatus: 'RUNNING', actor: actorOf(execution) },
      execution.execution_id,
    );
    this.#runExperiments.delete(runId);
  }

  /** Stores a turn's batch inside the turn's transaction. */
  writeBatch(trx: Transaction<Database>, batch: TrackingBatch): Promise<void> {
    return this.options.runs.writeBatch(trx, batch);
  }

  /** Writes a task's `ctx.run` call to its attempt's run. */
  async record(execution: ExecutionRecord, runId: string, call: RunCall): Promise<void> {
    const actor = actorOf(execution);
    switch (call.kind) {
      case 'param':
        return this.options.runs.logBatch({ runId, params: [{ key: call.key, value: call.value }] }, actor);
      case 'tag':
        return this.options.runs.logBatch({ runId, tags: [{ key: call.key, value: call.value }] }, actor);
      case 'metric':
        return this.options.runs.logBatch(
          {
            runId,
            metrics: [{ key: call.key, value: call.value, step: call.step, timestamp: call.timestamp }],
          },
          actor,
        );
    }
  }

  /** The experiment `workflows/<workflow>`, which must be active; a deleted one is looked up again next time. */
  async #activeExperimentOf(workflow: string, actor: Actor): Promise<RunExperiment> {
    try {
      return await this.options.experiments.requireActive(await this.#experimentOf(workflow, actor));
    } catch (error) {
      this.#experiments.delete(workflow);
      throw error;
    }
  }

  #experimentOf(workflow: string, actor: Actor): Promise<string> {
    let id = this.#experiments.get(workflow);
    if (id === undefined) {
      id = this.#findOrCreate(`workflows/${workflow}`, actor);
      // A failure (store down) is not remembered: the next execution tries again.
      id.catch(() => this.#experiments.delete(workflow));
      this.#experiments.set(workflow, id);
    }
    return id;
  }

  async #findOrCreate(name: string, actor: Actor): Promise<string> {
    const existing = await this.#find(name);
    if (existing !== undefined) return existing;
    try {
      return await this.options.experiments.create({ name }, actor);
    } catch (error) {
      // Another process created it first.
      if (error instanceof KeelError && error.code === 'RESOURCE_ALREADY_EXISTS') {
        const created = await this.#find(name);
        if (created !== undefined) return created;
      }
      throw error;
    }
  }

  async #find(name: string): Promise<string | undefined> {
    try {
      return (await this.options.experiments.getByName(name)).experimentId.toString();
    } catch (error) {
      if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }
}

/** The tracking status of an ended execution or attempt. */
export function runStatusOf(state: string): RunStatus {
  if (state === 'succeeded') return 'FINISHED';
  if (state === 'cancelled') return 'KILLED';
  return 'FAILED';
}

/** Runs of an execution are written in the name of who launched it. */
function actorOf(execution: LaunchedBy): Actor {
  return { user: execution.created_by, requestId: `workflow-execution:${execution.execution_id}` };
}

/** Eight hex digits that tell executions apart in run names (a UUIDv7's first ones are its time). */
export function shortId(executionId: string): string {
  return createHash('sha256').update(executionId).digest('hex').slice(0, 8);
}

/** Inputs of scalar types (and model URIs) as params; values too long for a param are left out. */
function primitiveParams(task: TaskSpec, inputs: Record<string, JsonValue>): KeyValue[] {
  const params: KeyValue[] = [];
  for (const [name, type] of Object.entries(task.interface.inputs)) {
    const scalar = type.type === 'optional' ? type.of.type : type.type;
    if (!['int', 'float', 'string', 'boolean', 'model'].includes(scalar)) continue;
    const value = inputs[name];
    if (value === undefined || value === null) continue;
    const text = String(value);
    if (text.length <= LIMITS.maxParamValueLength) params.push({ key: name, value: text });
  }
  return params;
}
