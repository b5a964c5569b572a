/**
 * Workflows (see docs/workflows.md): the typed tasks and DAGs the SDK derives from TypeScript
 * code, as they are registered, stored and returned on Keel's wire. Browser-safe. Specs inside
 * `spec` blobs are camelCase as written here; the HTTP envelopes ({@link WorkflowVersion},
 * {@link Execution}, {@link ExecutionNode}) are snake_case like the rest of Keel's API.
 */

/** JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The scalar types of {@link TypeSpec}: JSON values checked by kind (`json` is any JSON value). */
export const SCALAR_TYPES = ['int', 'float', 'string', 'boolean', 'json'] as const;

/** File formats a `dataset` may declare. */
export const DATASET_FORMATS = ['csv', 'parquet', 'jsonl'] as const;
/** One of {@link DATASET_FORMATS}. */
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** The type of an input or output. */
export type TypeSpec =
  | { type: (typeof SCALAR_TYPES)[number] }
  /** Artifact references (content-hashed): values are {@link ArtifactValue}s. */
  | { type: 'file' | 'directory' }
  /** A file holding a table, hashed by content. */
  | { type: 'dataset'; format?: DatasetFormat }
  /** A model URI string: `runs:/…` or `models:/…`. */
  | { type: 'model' }
  | { type: 'array'; items: TypeSpec }
  /** Exactly these fields; an `optional` field may be missing (or null). */
  | { type: 'record'; fields: Record<string, TypeSpec> }
  /** The value or null. */
  | { type: 'optional'; of: TypeSpec };

/** A task's or workflow's typed interface. Names: {@link INTERFACE_NAME_PATTERN}. */
export interface TypedInterface {
  inputs: Record<string, TypeSpec>;
  outputs: Record<string, TypeSpec>;
}

/**
 * A runtime value as stored and passed between tasks: JSON for primitives/arrays/records; a file or
 * directory (or dataset) is an ArtifactValue. A directory's `sha256` is the sha256 over its sorted
 * `"relpath\0sha256\n"` lines.
 *
 * @example
 * const v: ArtifactValue = { $artifact: 'workflows/data/9f86…', sha256: '9f86…', kind: 'file', size: 4 };
 */
// A type, not an interface: only type literals are assignable to `JsonValue`'s index signature,
// and an artifact value is a JSON value wherever values travel.
export type ArtifactValue = {
  /** Path in the artifact store. */
  $artifact: string;
  /** Lowercase hex sha256 of the content. */
  sha256: string;
  kind: 'file' | 'directory';
  /** Bytes (files). */
  size?: number;
};

/** Where a node input comes from. */
export type Binding =
  | { literal: JsonValue }
  /** A workflow input. */
  | { input: string }
  /** Another node's output (a node of the same graph or of an enclosing one). */
  | { node: string; output: string }
  | { list: Binding[] }
  | { record: Record<string, Binding> };

/** A task version as registered with its workflow version. */
export interface TaskSpec {
  /** Unique within a workflow version; {@link WORKFLOW_NAME_PATTERN}. */
  name: string;
  kind: 'function' | 'command';
  interface: TypedInterface;
  /** Absent = not cached. */
  cache?: { version: string };
  /** 0..10; used by retryable failures only. */
  retries: number;
  /** 1 ms to {@link WORKFLOW_LIMITS}.maxTimeoutMs. @default no timeout */
  timeoutMs?: number;
  /**
   * Command tasks (and only they): argv with `{{inputs.x}}` placeholders; outputs are files the
   * program writes into `{{outputs.y}}` paths. Every placeholder names a declared input or output.
   */
  command?: { argv: string[]; env?: Record<string, string> };
  /** sha256 (lowercase hex) of the task's code as registered (function source text, or argv+files for command tasks). */
  codeHash: string;
}

/** Kinds of {@link NodeSpec}. */
export const NODE_KINDS = ['task', 'map', 'branch', 'workflow'] as const;
/** One of {@link NODE_KINDS}. */
export type NodeKind = (typeof NODE_KINDS)[number];

/**
 * One node of a workflow graph. Node ids ({@link NODE_ID_PATTERN}) are unique within a
 * {@link WorkflowSpec}, nested branch subgraphs included, so a binding names one node.
 *
 * - `task`: one call of `task`; inputs are the task's inputs (an `optional` one may be left out).
 * - `map`: each name in `over` is bound to an array; item i of the map gets element i of each;
 *   the node's outputs are arrays of the task's outputs.
 * - `branch`: outputs = outputs of the chosen subgraph. Both subgraphs declare the same output
 *   names; without `else` every output is `optional` (null when the condition is false).
 * - `workflow`: a sub-workflow inlined by value: `workflow` names an entry of
 *   {@link WorkflowRegistration.subworkflows}; inputs it has defaults for may be left out.
 */
export type NodeSpec =
  | { id: string; kind: 'task'; task: string; inputs: Record<string, Binding> }
  | {
      id: string;
      kind: 'map';
      task: string;
      inputs: Record<string, Binding>;
      over: string[];
      concurrency?: number;
    }
  | { id: string; kind: 'branch'; condition: Condition; then: SubGraph; else?: SubGraph }
  | { id: string; kind: 'workflow'; workflow: string; inputs: Record<string, Binding> };

/** A `task` node. */
export type TaskNode = Extract<NodeSpec, { kind: 'task' }>;
/** A `map` node. */
export type MapNode = Extract<NodeSpec, { kind: 'map' }>;
/** A `branch` node. */
export type BranchNode = Extract<NodeSpec, { kind: 'branch' }>;
/** A `workflow` (sub-workflow) node. */
export type WorkflowNode = Extract<NodeSpec, { kind: 'workflow' }>;

/** The nodes of one side of a branch, in a topological order, and what it returns. */
export interface SubGraph {
  nodes: NodeSpec[];
  outputs: Record<string, Binding>;
}

/** The condition of a branch node; comparisons of numbers or of strings, `eq`/`ne` of any values. */
export type Condition =
  | { op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'; left: Binding; right: Binding }
  | { op: 'and' | 'or'; conditions: Condition[] }
  | { op: 'not'; condition: Condition }
  | { op: 'isTrue' | 'isNull'; value: Binding };

/** A workflow: its typed interface and its graph. */
export interface WorkflowSpec {
  /** {@link WORKFLOW_NAME_PATTERN} */
  name: string;
  interface: TypedInterface;
  /** Inputs' defaults (JSON) when a launch leaves them out. */
  defaults?: Record<string, JsonValue>;
  /** In a topological order: a node only refers to nodes before it. */
  nodes: NodeSpec[];
  /** Exactly the interface's outputs, bound to top-level nodes or inputs. */
  outputs: Record<string, Binding>;
}

/** What `POST /api/2.0/keel/workflows/register` takes. */
export interface WorkflowRegistration {
  workflow: WorkflowSpec;
  /** Every workflow referenced by a `workflow` node, recursively (names distinct, none the main workflow's). */
  subworkflows: WorkflowSpec[];
  /** Every task a `task` or `map` node names (names distinct). */
  tasks: TaskSpec[];
  /** The code package: artifact-store folder holding `bundle.mjs` (+ `files/…` for command tasks) and its content hash. */
  code: { path: string; sha256: string };
  /** {@link WORKFLOW_VERSION_PATTERN}. @default the content hash of {@link canonicalWorkflowJson} */
  version?: string;
  description?: string;
}

/** States of a node, in the order a node usually goes through them. */
export const NODE_STATES = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cached',
  'skipped',
  'cancelled',
] as const;
/** One of {@link NODE_STATES}. */
export type NodeState = (typeof NODE_STATES)[number];
/** Node states that never change again. */
export const TERMINAL_NODE_STATES: readonly NodeState[] = [
  'succeeded',
  'failed',
  'cached',
  'skipped',
  'cancelled',
];

/** States of an execution. */
export const EXECUTION_STATES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelling',
  'cancelled',
] as const;
/** One of {@link EXECUTION_STATES}. */
export type ExecutionState = (typeof EXECUTION_STATES)[number];
/** Execution states that never change again. */
export const TERMINAL_EXECUTION_STATES: readonly ExecutionState[] = ['succeeded', 'failed', 'cancelled'];

/** A failure, labelled with whose fault it is and whether a retry can help. */
export interface ExecutionError {
  kind: 'user' | 'system';
  retryable: boolean;
  message: string;
  stack?: string;
}

/** Launch options for the cache. */
export const CACHE_MODES = ['use', 'skip', 'overwrite'] as const;
/** `use` (default): read and write; `skip`: neither; `overwrite`: run, then replace the entry. */
export type CacheMode = (typeof CACHE_MODES)[number];

/** How an execution came about. */
export const EXECUTION_MODES = ['launch', 'relaunch', 'recover'] as const;
/** One of {@link EXECUTION_MODES}. */
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

/** What the cache did for a node: `disabled` for uncached tasks and `cache_mode: 'skip'`. */
export type NodeCacheStatus = 'hit' | 'miss' | 'disabled';

/** Workflow names, also task names (they appear in URLs and cache keys). */
export const WORKFLOW_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** Versions: no colon (Flyte's rule), 1 to 128 characters; a 64-hex content hash fits. */
export const WORKFLOW_VERSION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Input, output and record field names. */
export const INTERFACE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/**
 * Static node ids. No `.` or `[`: nodes expanded at run time get ids such as `train[3]` (map
 * items) or `pick.then.fit` (branch subgraphs), which can never clash with a static id.
 */
export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/** Bounds checked by `validateWorkflowRegistration`. */
export const WORKFLOW_LIMITS = {
  /** Nodes of a registration with every sub-workflow inlined and both sides of every branch counted. */
  maxStaticNodes: 10_000,
  maxRetries: 10,
  /** 7 days. */
  maxTimeoutMs: 7 * 24 * 3_600_000,
  maxMapConcurrency: 10_000,
  /** Inputs or outputs of one interface; fields of one record type. */
  maxInterfaceFields: 256,
  /** Nesting of array/record/optional types, and of conditions. */
  maxTypeDepth: 32,
  maxTasks: 10_000,
  maxSubworkflows: 1_000,
  maxDescriptionLength: 65_535,
  maxPathLength: 1024,
  maxCommandArgs: 1024,
  maxCacheVersionLength: 128,
} as const;

// ---------------------------------------------------------------------------------------------
// HTTP envelopes (snake_case)

/** A workflow as `workflows/list` returns it. */
export interface Workflow {
  name: string;
  default_version: string;
  /** Epoch ms of the first registration. */
  created_at: number;
  /** Epoch ms of the last registration or default change. */
  updated_at: number;
}

/** `{ "workflow_version": … }`: one registered version. */
export interface WorkflowVersion {
  name: string;
  version: string;
  /** sha256 of {@link canonicalWorkflowJson} of the registration. */
  content_hash: string;
  /** Epoch ms. */
  created_at: number;
  created_by: string;
  is_default: boolean;
  description?: string;
  spec: WorkflowRegistration;
}

/** One node of an execution, static or expanded at run time (`parent_node` then names its map or branch). */
export interface ExecutionNode {
  node_id: string;
  kind: NodeKind;
  /** Task name for `task` and `map` nodes, else null. */
  task: string | null;
  /** The map or branch node this one was expanded from; null for static nodes. */
  parent_node: string | null;
  state: NodeState;
  /** 1 for the first attempt; 0 while never attempted. */
  attempt: number;
  cache: NodeCacheStatus | null;
  cache_key: string | null;
  inputs: Record<string, JsonValue> | null;
  outputs: Record<string, JsonValue> | null;
  error: ExecutionError | null;
  /** Epoch ms, or null until it happens. */
  queued_at: number | null;
  started_at: number | null;
  ended_at: number | null;
  /** The tracking run of the node's current attempt. */
  run_id: string | null;
}

/**
 * A node as it starts: `pending`, never attempted, nothing cached, run or recorded yet.
 *
 * @example
 * pendingNode({ node_id: 'fit', kind: 'task', task: 'fit', parent_node: null });
 */
export function pendingNode(
  identity: Pick<ExecutionNode, 'node_id' | 'kind' | 'task' | 'parent_node'>,
): ExecutionNode {
  return {
    ...identity,
    state: 'pending',
    attempt: 0,
    cache: null,
    cache_key: null,
    inputs: null,
    outputs: null,
    error: null,
    queued_at: null,
    started_at: null,
    ended_at: null,
    run_id: null,
  };
}

/** `{ "execution": … }`: one execution with its nodes. */
export interface Execution {
  execution_id: string;
  workflow: string;
  version: string;
  state: ExecutionState;
  inputs: Record<string, JsonValue>;
  outputs: Record<string, JsonValue> | null;
  error: ExecutionError | null;
  /** Epoch ms. */
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  created_by: string;
  mode: ExecutionMode;
  /** The execution a relaunch or recover was made from. */
  parent_execution_id: string | null;
  cache_mode: CacheMode;
  /** The tracking run of the execution (its tasks' runs are nested under it). */
  run_id: string | null;
  nodes: ExecutionNode[];
}
