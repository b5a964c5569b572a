/**
 * Workflow records as Keel's API returns them: the snake_case envelopes of `@keel/core`
 * ({@link WorkflowVersion}, {@link Execution}, {@link ExecutionNode}) without the scheduler's
 * bookkeeping (owners, leases, due times). Values inside (`spec`, `inputs`, `outputs`) are
 * returned exactly as stored.
 */
import type { Execution, ExecutionNode, WorkflowVersion } from '@keel/core';
import type {
  ExecutionRecord,
  NodeRecord,
  WorkflowVersionRecord,
  WorkflowVersionSummary,
} from '../store/workflow-store.js';

/** A version as returned by `workflows/versions`: everything but the spec. */
export type WorkflowVersionHeader = Omit<WorkflowVersion, 'spec'>;

/** A workflow as `workflows/list` returns it. */
export interface WorkflowListItem {
  name: string;
  default_version: string;
  latest_version: string;
  /** How many versions are registered. */
  versions: number;
  created_at: number;
  updated_at: number;
}

/** An execution without its nodes, as `executions/list` returns it. */
export type ExecutionHeader = Omit<Execution, 'nodes'>;

/** A registered version on the wire. */
export function toWireVersion(record: WorkflowVersionRecord): WorkflowVersion {
  return { ...toWireVersionHeader(record), spec: record.spec };
}

/** A version's fields without its spec. */
export function toWireVersionHeader(record: WorkflowVersionSummary): WorkflowVersionHeader {
  return {
    name: record.name,
    version: record.version,
    content_hash: record.content_hash,
    created_at: record.created_at,
    created_by: record.created_by,
    is_default: record.is_default,
    ...(record.description === null ? {} : { description: record.description }),
  };
}

/** An execution's own fields on the wire. */
export function toWireExecutionHeader(record: ExecutionRecord): ExecutionHeader {
  return {
    execution_id: record.execution_id,
    workflow: record.workflow,
    version: record.version,
    state: record.state,
    inputs: record.inputs,
    outputs: record.outputs,
    error: record.error,
    created_at: record.created_at,
    started_at: record.started_at,
    ended_at: record.ended_at,
    created_by: record.created_by,
    mode: record.mode,
    parent_execution_id: record.parent_execution_id,
    cache_mode: record.cache_mode,
    run_id: record.run_id,
  };
}

/** An execution with its nodes on the wire. */
export function toWireExecution(record: ExecutionRecord, nodes: readonly NodeRecord[]): Execution {
  return { ...toWireExecutionHeader(record), nodes: nodes.map(toWireNode) };
}

/** A node on the wire. */
export function toWireNode(node: NodeRecord): ExecutionNode {
  return {
    node_id: node.node_id,
    kind: node.kind,
    task: node.task,
    parent_node: node.parent_node,
    state: node.state,
    attempt: node.attempt,
    cache: node.cache,
    cache_key: node.cache_key,
    inputs: node.inputs,
    outputs: node.outputs,
    error: node.error,
    queued_at: node.queued_at,
    started_at: node.started_at,
    ended_at: node.ended_at,
    run_id: node.run_id,
  };
}
