import {
  type Execution,
  type ExecutionNode,
  NODE_STATES,
  type NodeState,
  TERMINAL_EXECUTION_STATES,
} from '@keel/core';
import type { KeelClient } from '@keel/sdk';
import { CliError } from '../../cli-error.js';
import { writeJson } from '../../format.js';
import type { CliIo } from '../../io.js';
import { formatTable } from '../../table.js';
import { executionDuration, NODE_HEADERS, nodeLine, nodeRow } from './execution-cells.js';

/** How often the live view polls the execution and redraws. */
export const WATCH_INTERVAL_MS = 500;

/** A progress display fed with every execution polled. */
interface ProgressView {
  update(execution: Execution): void;
}

/**
 * Follows an execution until it ends and returns it, showing progress on stdout: on a terminal, a
 * compact table of nodes (state, attempt, cache, duration) redrawn in place every
 * {@link WATCH_INTERVAL_MS}; otherwise one line per node state change (and per execution state
 * change), for logs. Ends with a summary line; {@link exitOnFailure} then sets the exit code.
 *
 * @example
 * const final = await watchExecution(client, io, launched.execution_id);
 * exitOnFailure(final);
 */
export async function watchExecution(client: KeelClient, io: CliIo, executionId: string): Promise<Execution> {
  const stdout = io.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  const view: ProgressView = stdout.isTTY === true ? new LiveTable(stdout) : new StateChangeLog(stdout);
  const final = await client.executions.wait(executionId, {
    intervalMs: WATCH_INTERVAL_MS,
    onUpdate: (execution) => view.update(execution),
  });
  io.stdout.write(
    `Execution ${final.execution_id} ${final.state} in ${executionDuration(final, Date.now())}\n`,
  );
  return final;
}

/**
 * Turns an execution that failed or was cancelled into a CliError (exit code 1), so that
 * `launch --wait` and `status --watch` can gate scripts.
 * @throws {CliError} `execution <id> failed: <error>` or `execution <id> was cancelled`.
 */
export function exitOnFailure(execution: Execution): void {
  if (execution.state === 'failed') {
    const error = execution.error ?? execution.nodes.find((n) => n.state === 'failed')?.error;
    throw new CliError(`execution ${execution.execution_id} failed${error ? `: ${error.message}` : ''}`);
  }
  if (execution.state === 'cancelled')
    throw new CliError(`execution ${execution.execution_id} was cancelled`);
}

/** Counts of nodes by state, in lifecycle order: `3 succeeded, 1 running, 6 pending`. */
export function stateCounts(nodes: readonly ExecutionNode[]): string {
  const counts = new Map<NodeState, number>();
  for (const node of nodes) counts.set(node.state, (counts.get(node.state) ?? 0) + 1);
  return NODE_STATES.filter((state) => counts.has(state))
    .map((state) => `${counts.get(state)} ${state}`)
    .join(', ');
}

/** The terminal view: the frame is redrawn in place, never wider than the terminal. */
class LiveTable implements ProgressView {
  private drawnLines = 0;

  constructor(private readonly stream: NodeJS.WritableStream & { columns?: number; rows?: number }) {}

  update(execution: Execution): void {
    // A pseudo-terminal without a size reports 0 columns and rows.
    const columns = Math.max(40, this.stream.columns || 100);
    const rows = Math.max(8, this.stream.rows || 24);
    const lines = frame(execution, rows - 2).map((line) => clip(line, columns));
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[J` : '';
    this.stream.write(`${up}${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}

/**
 * The lines of one frame, at most `maxLines`: a header, then the nodes table. When there are more
 * nodes than fit, the active ones (running, queued, failed…) come first and the rest are counted.
 */
function frame(execution: Execution, maxLines: number): string[] {
  const now = Date.now();
  const header = [
    execution.execution_id,
    `${execution.workflow}@${shortVersion(execution.version)}`,
    execution.state,
    executionDuration(execution, now),
    stateCounts(execution.nodes),
  ].join(' · ');
  const room = Math.max(1, maxLines - 2);
  const nodes =
    execution.nodes.length <= room ? execution.nodes : activeFirst(execution.nodes).slice(0, room - 1);
  const table = formatTable(
    NODE_HEADERS,
    nodes.map((node) => nodeRow(node, now)),
  ).trimEnd();
  const hidden = execution.nodes.length - nodes.length;
  return [header, ...table.split('\n'), ...(hidden > 0 ? [`… ${hidden} more nodes`] : [])];
}

/** A content-hash version cut to 12 characters, as git shortens commits; named versions stay whole. */
function shortVersion(version: string): string {
  return /^[0-9a-f]{64}$/.test(version) ? version.slice(0, 12) : version;
}

/** Nodes that are doing something or went wrong first, then pending ones, then the finished. */
function activeFirst(nodes: readonly ExecutionNode[]): ExecutionNode[] {
  const rank = (node: ExecutionNode): number => {
    if (node.state === 'failed' || node.state === 'running' || node.state === 'queued') return 0;
    if (node.state === 'pending') return 1;
    return 2;
  };
  return [...nodes].sort((a, b) => rank(a) - rank(b));
}

/** Cuts a line to the terminal width: a wrapped line would break the redraw. */
function clip(line: string, columns: number): string {
  const chars = [...line];
  return chars.length < columns ? line : `${chars.slice(0, columns - 2).join('')}…`;
}

/** The log view: a line when the execution's or a node's state changes. */
class StateChangeLog implements ProgressView {
  private executionState: string | undefined;
  private readonly nodeStates = new Map<string, NodeState>();

  constructor(private readonly stream: NodeJS.WritableStream) {}

  update(execution: Execution): void {
    const lines: string[] = [];
    for (const node of execution.nodes) {
      const before = this.nodeStates.get(node.node_id) ?? 'pending';
      this.nodeStates.set(node.node_id, node.state);
      // Nodes start pending: only what changed from there gets a line.
      if (node.state !== before) lines.push(nodeLine(node));
    }
    if (execution.state !== this.executionState) {
      const line = `execution ${execution.execution_id}: ${execution.state}`;
      // The execution starts before its nodes and ends after them.
      if (TERMINAL_EXECUTION_STATES.includes(execution.state)) lines.push(line);
      else lines.unshift(line);
      this.executionState = execution.state;
    }
    if (lines.length > 0) this.stream.write(`${lines.join('\n')}\n`);
  }
}

/** Flags of the commands that start an execution (`launch`, `relaunch`, `recover`). */
export interface StartFlags {
  wait?: boolean;
  json?: boolean;
}

/**
 * What a command that started an execution prints: `line` (or the execution as JSON); with
 * `--wait`, then the live view until it ends (with `--json`, no view: the final execution as
 * JSON), failing the command when the execution fails or is cancelled.
 */
export async function reportStarted(
  client: KeelClient,
  io: CliIo,
  execution: Execution,
  flags: StartFlags,
  line: string,
): Promise<void> {
  if (!flags.wait) {
    if (flags.json) writeJson(io, execution);
    else io.stdout.write(`${line}\n`);
    return;
  }
  let final: Execution;
  if (flags.json) {
    final = await client.executions.wait(execution.execution_id, { intervalMs: WATCH_INTERVAL_MS });
    writeJson(io, final);
  } else {
    io.stdout.write(`${line}\n`);
    final = await watchExecution(client, io, execution.execution_id);
  }
  exitOnFailure(final);
}
