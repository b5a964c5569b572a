/**
 * Workflows' rules: registering versions (content-addressed, immutable), the default version,
 * launching executions (inputs checked and file inputs content-hashed), cancelling, relaunching
 * and recovering them, and reading their logs. The scheduler does the running; this service only
 * writes what it must start from and wakes it.
 */
import { createHash } from 'node:crypto';
import {
  CACHE_MODES,
  type CacheMode,
  canonicalWorkflowJson,
  EXECUTION_STATES,
  type Execution,
  type ExecutionMode,
  type ExecutionState,
  invalidParameter,
  type JsonValue,
  notFound,
  validateWorkflowName,
  validateWorkflowRegistration,
  validateWorkflowVersion,
  type WorkflowVersion,
} from '@keel/core';
import { validateArtifactPath } from '../artifacts/artifact-path.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Actor, Change } from '../changes/change.js';
import { timeOrderedId } from '../predictions/prediction-record.js';
import type { Clock } from '../services/clock.js';
import type { RunService } from '../services/tracking/run-service.js';
import type { WorkflowBatchStore } from '../store/workflow-batch-store.js';
import type {
  ExecutionWithNodes,
  NewNode,
  NodeRecord,
  WorkflowStore,
  WorkflowVersionRecord,
} from '../store/workflow-store.js';
import { ExecutionRuntime } from './engine/execution-runtime.js';
import { Catalog } from './engine/graph.js';
import { launchInputs } from './launch-inputs.js';
import type { AttemptLog, LogSink, WorkflowLogs } from './workflow-logs.js';
import {
  type ExecutionHeader,
  toWireExecution,
  toWireExecutionHeader,
  toWireVersion,
  toWireVersionHeader,
  type WorkflowListItem,
  type WorkflowVersionHeader,
} from './workflow-wire.js';

/** What the service tells the scheduler. */
export interface SchedulerHandle {
  /** New executions are waiting. */
  wake(): void;
  /** An execution was changed outside the scheduler (cancelled). */
  notify(executionId: string): void;
}

/** What a {@link WorkflowService} needs. */
export interface WorkflowServiceOptions {
  store: WorkflowStore;
  batches: WorkflowBatchStore;
  /** Where code packages must be, and where launch inputs are read from and copied to. */
  artifacts: ArtifactStore;
  /** Resolves `runs:/…` launch inputs. */
  runs: RunService;
  logs: WorkflowLogs;
  scheduler: SchedulerHandle;
  clock: Clock;
}

/** One page request. */
export interface PageInput {
  /** @default 100; 1 to 1000 */
  maxResults?: number;
  pageToken?: string;
}

/** A page of results, with the wire's `next_page_token`. */
export interface WirePage<T> {
  items: T[];
  nextPageToken?: string;
}

/** What `executions/launch` takes. */
export interface LaunchInput {
  workflow: string;
  /** @default the workflow's default version */
  version?: string;
  /** Input values by name; file inputs may be artifact paths or URIs. */
  inputs?: unknown;
  /** @default 'use' */
  cache?: string;
}

/** Filters of `executions/list`. */
export interface ExecutionListInput extends PageInput {
  workflow?: string;
  version?: string;
  state?: string;
  createdBy?: string;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
/** The audit action of each way an execution is created. */
const CREATED_ACTIONS: Record<ExecutionMode, string> = {
  launch: 'execution.launched',
  relaunch: 'execution.relaunched',
  recover: 'execution.recovered',
};
/** Node states a recovery reuses. */
const REUSABLE = new Set(['succeeded', 'cached']);

/**
 * The workflow API's behaviour (see docs/workflows.md and `routes/workflows.ts`).
 *
 * @example
 * const { workflow_version } = await service.register(actor, registration);
 * const execution = await service.launch(actor, { workflow: 'train', inputs: { data: 'datasets/iris.csv' } });
 */
export class WorkflowService {
  constructor(private readonly options: WorkflowServiceOptions) {}

  // -------------------------------------------------------------------------------------------
  // Workflows and versions

  /**
   * Registers a workflow version. Its version is the given one or the sha256 of its canonical
   * JSON; registering identical content again changes nothing (`created: false`).
   *
   * @throws INVALID_PARAMETER_VALUE for an invalid registration (naming the field) or a code
   *   package that is not in the artifact store (`registration.code.path`);
   *   RESOURCE_ALREADY_EXISTS when the version exists with other content.
   */
  async register(
    actor: Actor,
    body: unknown,
  ): Promise<{ workflow_version: WorkflowVersion; created: boolean }> {
    const registration = validateWorkflowRegistration(body);
    await this.#checkCodePackage(registration.code.path);
    const contentHash = createHash('sha256').update(canonicalWorkflowJson(registration)).digest('hex');
    const version = registration.version ?? contentHash;
    const outcome = await this.options.store.registerVersion(registration, version, contentHash, actor);
    const record = await this.#version(registration.workflow.name, version);
    return { workflow_version: toWireVersion(record), created: outcome === 'created' };
  }

  /** Workflows by name, optionally those starting with `filter`. */
  async listWorkflows(input: PageInput & { filter?: string }): Promise<WirePage<WorkflowListItem>> {
    const page = await this.options.store.listWorkflows(
      input.filter === undefined ? {} : { namePrefix: input.filter },
      pageRequest(input),
    );
    const stats = await this.options.batches.versionStats(page.items.map((row) => row.name));
    return {
      items: page.items.map((row) => ({
        name: row.name,
        default_version: row.default_version,
        latest_version: stats.get(row.name)?.latest ?? row.default_version,
        versions: stats.get(row.name)?.versions ?? 0,
        created_at: row.created_at,
        updated_at: row.updated_at,
      })),
      ...nextToken(page.nextPageToken),
    };
  }

  /** A version (the default one when `version` is omitted). @throws RESOURCE_DOES_NOT_EXIST */
  async getVersion(name: string, version?: string): Promise<WorkflowVersion> {
    return toWireVersion(await this.#version(name, version));
  }

  /** Versions of a workflow, newest first. @throws RESOURCE_DOES_NOT_EXIST for an unknown workflow. */
  async listVersions(name: string, input: PageInput): Promise<WirePage<WorkflowVersionHeader>> {
    await this.#version(name);
    const page = await this.options.store.listVersions(name, pageRequest(input));
    return { items: page.items.map(toWireVersionHeader), ...nextToken(page.nextPageToken) };
  }

  /** Makes `version` the default (rollback = an older one). @throws RESOURCE_DOES_NOT_EXIST */
  async setDefault(actor: Actor, name: string, version: string): Promise<WorkflowVersion> {
    validateWorkflowName(name, 'name');
    validateWorkflowVersion(version, 'version');
    await this.options.store.setDefault(name, version, actor);
    return this.getVersion(name, version);
  }

  async #version(name: string, version?: string): Promise<WorkflowVersionRecord> {
    validateWorkflowName(name, 'name');
    if (version !== undefined) validateWorkflowVersion(version, 'version');
    const record = await this.options.store.getVersion(name, version);
    if (record !== undefined) return record;
    if (version === undefined || (await this.options.store.getVersion(name)) === undefined) {
      throw notFound(`Workflow '${name}' not found`);
    }
    throw notFound(`Workflow '${name}' has no version '${version}'`);
  }

  /** The code package must be uploaded before it is registered: its `bundle.mjs` must exist. */
  async #checkCodePackage(path: string): Promise<void> {
    const field = 'registration.code.path';
    const dir = validateArtifactPath(path, { field });
    const entries = await this.options.artifacts.list(dir);
    if (!entries.some((entry) => entry.name === 'bundle.mjs' && !entry.is_dir)) {
      throw invalidParameter(
        `${field}: no code package at '${dir}' in the artifact store (${dir}/bundle.mjs is missing); upload the package before registering`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Executions

  /**
   * Launches a version (the default one unless given): inputs are checked against its interface,
   * defaults applied, file inputs given as artifact paths or URIs copied content-addressed. The
   * execution and its static nodes are written in one transaction; the scheduler starts it.
   *
   * @throws INVALID_PARAMETER_VALUE naming the input or `cache`; RESOURCE_DOES_NOT_EXIST for an unknown workflow or version.
   */
  async launch(actor: Actor, input: LaunchInput): Promise<Execution> {
    const record = await this.#version(input.workflow, input.version);
    const cacheMode = parseCacheMode(input.cache);
    const inputs = await launchInputs(record.spec.workflow, inputsObject(input.inputs), {
      artifacts: this.options.artifacts,
      runs: this.options.runs,
    });
    return this.#create(actor, record, inputs, { mode: 'launch', cacheMode, parent: null });
  }

  /** An execution with its nodes. @throws RESOURCE_DOES_NOT_EXIST */
  async getExecution(executionId: string): Promise<Execution> {
    const execution = await this.#execution(executionId);
    return toWireExecution(execution, execution.nodes);
  }

  /** Executions, newest first. */
  async listExecutions(input: ExecutionListInput): Promise<WirePage<ExecutionHeader>> {
    const page = await this.options.store.listExecutions(
      {
        ...(input.workflow === undefined ? {} : { workflow: input.workflow }),
        ...(input.version === undefined ? {} : { version: input.version }),
        ...(input.state === undefined ? {} : { state: parseExecutionState(input.state) }),
        ...(input.createdBy === undefined ? {} : { createdBy: input.createdBy }),
      },
      pageRequest(input),
    );
    return { items: page.items.map(toWireExecutionHeader), ...nextToken(page.nextPageToken) };
  }

  /**
   * Cancels an execution: a queued one nobody runs yet ends at once; a running one becomes
   * `cancelling` while the scheduler stops its attempts, then `cancelled`. Cancelling an
   * execution that ended already changes nothing.
   */
  async cancel(actor: Actor, executionId: string): Promise<Execution> {
    const execution = await this.#execution(executionId);
    const outcome = await this.options.batches.cancel(
      executionId,
      actor,
      executionChange('execution.cancel_requested', execution.execution_id, {
        execution_id: execution.execution_id,
        workflow: execution.workflow,
        version: execution.version,
      }),
    );
    if (outcome === 'cancelling') this.options.scheduler.notify(executionId);
    return this.getExecution(executionId);
  }

  /** A new execution of the same version with the same inputs, run afresh (mode `relaunch`). */
  async relaunch(actor: Actor, executionId: string, cache?: string): Promise<Execution> {
    const parent = await this.#execution(executionId);
    const cacheMode = parseCacheMode(cache);
    const record = await this.#version(parent.workflow, parent.version);
    return this.#create(actor, record, parent.inputs, { mode: 'relaunch', cacheMode, parent });
  }

  /**
   * A new execution that reuses what a failed or cancelled one finished (mode `recover`): its
   * succeeded and cached nodes are copied as `cached` with their outputs, the rest runs again
   * (same version and inputs, the parent's cache mode).
   *
   * @throws INVALID_PARAMETER_VALUE when the execution did not fail and was not cancelled.
   */
  async recover(actor: Actor, executionId: string): Promise<Execution> {
    const parent = await this.#execution(executionId);
    if (parent.state !== 'failed' && parent.state !== 'cancelled') {
      throw invalidParameter(
        `Execution '${executionId}' is ${parent.state}; only a failed or cancelled execution can be recovered`,
      );
    }
    const record = await this.#version(parent.workflow, parent.version);
    return this.#create(actor, record, parent.inputs, {
      mode: 'recover',
      cacheMode: parent.cache_mode,
      parent,
    });
  }

  async #execution(executionId: string): Promise<ExecutionWithNodes> {
    const execution = await this.options.store.getExecution(executionId);
    if (execution === undefined) throw notFound(`Execution '${executionId}' not found`);
    return execution;
  }

  /** Writes a new queued execution with its static nodes (and, for a recovery, the parent's finished ones). */
  async #create(
    actor: Actor,
    record: WorkflowVersionRecord,
    inputs: Record<string, JsonValue>,
    how: { mode: ExecutionMode; cacheMode: CacheMode; parent: ExecutionWithNodes | null },
  ): Promise<Execution> {
    const now = this.options.clock();
    const executionId = timeOrderedId(now);
    const fresh: NewNode[] = ExecutionRuntime.staticNodes(new Catalog(record.spec), inputs);
    const nodes =
      how.mode === 'recover' && how.parent !== null ? reuseFinished(fresh, how.parent.nodes) : fresh;
    const parentId = how.parent?.execution_id ?? null;
    await this.options.batches.createExecution(
      {
        execution_id: executionId,
        workflow: record.name,
        version: record.version,
        state: 'queued',
        inputs,
        created_by: actor.user,
        created_at: now,
        mode: how.mode,
        cache_mode: how.cacheMode,
        parent_execution_id: parentId,
      },
      nodes,
      actor,
      executionChange(CREATED_ACTIONS[how.mode], executionId, {
        execution_id: executionId,
        workflow: record.name,
        version: record.version,
        mode: how.mode,
        cache_mode: how.cacheMode,
        ...(parentId === null ? {} : { parent_execution_id: parentId }),
      }),
    );
    this.options.scheduler.wake();
    return this.getExecution(executionId);
  }

  // -------------------------------------------------------------------------------------------
  // Logs

  /** The log of a node's attempt (default: the latest). @throws RESOURCE_DOES_NOT_EXIST */
  readLog(executionId: string, nodeId: string, attempt?: number): Promise<AttemptLog> {
    return this.options.logs.read(executionId, nodeId, attempt);
  }

  /** Streams a node's attempt log until the attempt ends or `signal` aborts (see `WorkflowLogs.follow`). */
  followLog(
    executionId: string,
    nodeId: string,
    attempt: number | undefined,
    sink: LogSink,
    signal: AbortSignal,
  ): Promise<void> {
    return this.options.logs.follow(executionId, nodeId, attempt, sink, signal);
  }
}

/** Static nodes, with those the parent finished replaced by `cached` copies; the parent's expanded finished nodes follow. */
function reuseFinished(fresh: readonly NewNode[], parentNodes: readonly NodeRecord[]): NewNode[] {
  const finished = new Map(
    parentNodes.filter((node) => REUSABLE.has(node.state)).map((node) => [node.node_id, node]),
  );
  const copy = (node: NodeRecord): NewNode => ({
    node_id: node.node_id,
    kind: node.kind,
    task: node.task,
    parent_node: node.parent_node,
    state: 'cached',
    attempt: 0,
    cache: 'hit',
    cache_key: node.cache_key,
    inputs: node.inputs,
    outputs: node.outputs,
    ended_at: node.ended_at,
  });
  const nodes = fresh.map((node) => {
    const done = finished.get(node.node_id);
    if (done === undefined) return node;
    finished.delete(node.node_id);
    return copy(done);
  });
  return [...nodes, ...[...finished.values()].map(copy)];
}

function executionChange(action: string, executionId: string, after: Record<string, unknown>): Change {
  return { action, entity: 'execution', entityId: executionId, after };
}

function parseCacheMode(cache: string | undefined): CacheMode {
  if (cache === undefined || cache === '') return 'use';
  const mode = CACHE_MODES.find((m) => m === cache);
  if (mode === undefined) {
    throw invalidParameter(
      `Invalid value '${cache}' for parameter 'cache': it must be one of ${CACHE_MODES.join(', ')}`,
    );
  }
  return mode;
}

function parseExecutionState(state: string): ExecutionState {
  const found = EXECUTION_STATES.find((s) => s === state);
  if (found === undefined) {
    throw invalidParameter(
      `Invalid value '${state}' for parameter 'state': it must be one of ${EXECUTION_STATES.join(', ')}`,
    );
  }
  return found;
}

function inputsObject(inputs: unknown): Record<string, unknown> {
  if (inputs === undefined || inputs === null) return {};
  if (typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw invalidParameter(
      "Invalid value for parameter 'inputs': it must be an object of input name → value",
    );
  }
  return inputs as Record<string, unknown>;
}

function pageRequest(input: PageInput): { maxResults: number; pageToken?: string } {
  const maxResults = input.maxResults ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(maxResults) || maxResults < 1 || maxResults > MAX_PAGE) {
    throw invalidParameter(
      `Invalid value ${maxResults} for parameter 'max_results': it must be between 1 and ${MAX_PAGE}`,
    );
  }
  return { maxResults, ...(input.pageToken === undefined ? {} : { pageToken: input.pageToken }) };
}

function nextToken(token: string | undefined): { nextPageToken?: string } {
  return token === undefined ? {} : { nextPageToken: token };
}
