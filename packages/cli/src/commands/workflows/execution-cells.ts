import type { Execution, ExecutionNode } from '@keel/core';
import { formatDuration, formatTime } from '../../format.js';
import { formatFields, formatTable } from '../../table.js';

/** Headers of the nodes table, in `status` and in the live view. */
export const NODE_HEADERS = ['NODE', 'TASK', 'STATE', 'ATTEMPT', 'CACHE', 'DURATION'] as const;

/**
 * A node as a table row: id, task, state, attempt, cache status, duration (so far, for a
 * running node, measured against `now`).
 */
export function nodeRow(node: ExecutionNode, now: number): string[] {
  return [
    node.node_id,
    node.task ?? node.kind,
    node.state,
    node.attempt === 0 ? '-' : String(node.attempt),
    node.cache ?? '-',
    formatDuration(
      node.started_at ?? undefined,
      node.ended_at ?? (node.state === 'running' ? now : undefined),
    ),
  ];
}

/** How long an execution ran, or has been running (`-` before it starts). */
export function executionDuration(execution: Execution | Omit<Execution, 'nodes'>, now: number): string {
  return formatDuration(
    execution.started_at ?? undefined,
    execution.ended_at ?? (execution.started_at === null ? undefined : now),
  );
}

/**
 * An execution as text: its fields, then its nodes as a table, then each failed node's error.
 *
 * @example
 * // Execution  0193…
 * // Workflow   train (version 3f2a…)
 * // State      failed
 * // …
 * // NODE   TASK   STATE      ATTEMPT  CACHE  DURATION
 * // split  split  succeeded  1        miss   1.2s
 */
export function formatExecution(execution: Execution, now = Date.now()): string {
  const fields: [string, string][] = [
    ['Execution', execution.execution_id],
    ['Workflow', `${execution.workflow} (version ${execution.version})`],
    ['State', execution.state],
    [
      'Mode',
      execution.parent_execution_id
        ? `${execution.mode} of ${execution.parent_execution_id}`
        : execution.mode,
    ],
    ['Cache', execution.cache_mode],
    ['Created', `${formatTime(execution.created_at)} by ${execution.created_by || '-'}`],
    ['Started', formatTime(execution.started_at ?? undefined)],
    ['Ended', formatTime(execution.ended_at ?? undefined)],
    ['Duration', executionDuration(execution, now)],
    ['Run', execution.run_id ?? '-'],
    ['Inputs', JSON.stringify(execution.inputs)],
    ['Outputs', execution.outputs === null ? '-' : JSON.stringify(execution.outputs)],
  ];
  if (execution.error) fields.push(['Error', `${execution.error.kind}: ${execution.error.message}`]);
  const nodes = formatTable(
    NODE_HEADERS,
    execution.nodes.map((node) => nodeRow(node, now)),
  );
  const errors = execution.nodes
    .filter((node) => node.error !== null)
    .map((node) => `${node.node_id}: ${node.error?.kind} error: ${node.error?.message}\n`);
  return `${formatFields(fields)}\n${nodes}${errors.length === 0 ? '' : `\n${errors.join('')}`}`;
}

/**
 * One line about a node, for logs: `fit[2]: succeeded (attempt 1, cache miss, 1.2s)`; the
 * duration once the node has ended, the error's message when it failed.
 */
export function nodeLine(node: ExecutionNode): string {
  const details = [
    ...(node.attempt > 0 ? [`attempt ${node.attempt}`] : []),
    ...(node.cache === null ? [] : [`cache ${node.cache}`]),
    ...(node.started_at === null || node.ended_at === null
      ? []
      : [formatDuration(node.started_at, node.ended_at)]),
  ];
  const error = node.error ? `: ${node.error.message}` : '';
  return `${node.node_id}: ${node.state}${details.length === 0 ? '' : ` (${details.join(', ')})`}${error}`;
}
