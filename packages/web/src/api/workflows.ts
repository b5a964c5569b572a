/**
 * Keel's workflow API (docs/workflows.md → REST API): workflows and their versions, executions
 * (get, list, cancel, relaunch, recover) and a node's logs, followed live as server-sent events.
 */
import type { Execution, ExecutionState, Workflow, WorkflowVersion } from '@keel/core';
import { apiRequest, KEEL_API, keelGet } from './client';

/** A workflow as `workflows/list` returns it. */
export interface WorkflowSummary extends Workflow {
  /** The most recently registered version. */
  latest_version?: string;
  /** How many versions are registered. */
  versions?: number;
}

/** A version as `workflows/versions` lists it: without its spec. */
export type WorkflowVersionSummary = Omit<WorkflowVersion, 'spec'>;

/** An execution as `executions/list` returns it: without its nodes. */
export type ExecutionSummary = Omit<Execution, 'nodes'>;

/** A page of a list call. */
export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  nextPageToken: string | undefined;
}

/** `workflows/list`: one page of workflows (`filter` is a name prefix). */
export async function listWorkflows(
  options: { filter?: string; maxResults?: number; pageToken?: string } = {},
  signal?: AbortSignal,
): Promise<Page<WorkflowSummary>> {
  const answer = await keelGet<{ workflows?: WorkflowSummary[]; next_page_token?: string }>(
    'workflows/list',
    { filter: options.filter || undefined, max_results: options.maxResults, page_token: options.pageToken },
    signal,
  );
  return { items: answer.workflows ?? [], nextPageToken: answer.next_page_token || undefined };
}

/** `workflows/versions`: a workflow's versions, newest first (one page of up to `maxResults`). */
export async function listWorkflowVersions(
  name: string,
  options: { maxResults?: number } = {},
  signal?: AbortSignal,
): Promise<WorkflowVersionSummary[]> {
  const answer = await keelGet<{ versions?: WorkflowVersionSummary[] }>(
    'workflows/versions',
    { name, max_results: options.maxResults ?? 100 },
    signal,
  );
  return answer.versions ?? [];
}

/** `workflows/get`: one version with its spec (the default version when `version` is left out). */
export async function getWorkflowVersion(
  name: string,
  version?: string,
  signal?: AbortSignal,
): Promise<WorkflowVersion> {
  const answer = await keelGet<{ workflow_version: WorkflowVersion }>(
    'workflows/get',
    { name, version },
    signal,
  );
  return answer.workflow_version;
}

/** Filters of {@link listExecutions}. */
export interface ExecutionFilters {
  workflow?: string;
  version?: string;
  state?: ExecutionState;
  createdBy?: string;
  /** @default 20 */
  maxResults?: number;
  pageToken?: string;
}

/** `executions/list`: one page of executions, newest first. */
export async function listExecutions(
  filters: ExecutionFilters,
  signal?: AbortSignal,
): Promise<Page<ExecutionSummary>> {
  const answer = await keelGet<{ executions?: ExecutionSummary[]; next_page_token?: string }>(
    'executions/list',
    {
      workflow: filters.workflow || undefined,
      version: filters.version || undefined,
      state: filters.state,
      created_by: filters.createdBy || undefined,
      max_results: filters.maxResults ?? 20,
      page_token: filters.pageToken,
    },
    signal,
  );
  return { items: answer.executions ?? [], nextPageToken: answer.next_page_token || undefined };
}

/** `executions/get`: an execution with its nodes. */
export async function getExecution(executionId: string, signal?: AbortSignal): Promise<Execution> {
  const answer = await keelGet<{ execution: Execution }>(
    'executions/get',
    { execution_id: executionId },
    signal,
  );
  return answer.execution;
}

async function executionAction(
  action: 'cancel' | 'relaunch' | 'recover',
  executionId: string,
): Promise<Execution> {
  const answer = await apiRequest<{ execution: Execution }>(`${KEEL_API}/executions/${action}`, {
    method: 'POST',
    body: { execution_id: executionId },
  });
  return answer.execution;
}

/** `executions/cancel`: stops a queued or running execution (it goes `cancelling`, then `cancelled`). */
export function cancelExecution(executionId: string): Promise<Execution> {
  return executionAction('cancel', executionId);
}

/** `executions/relaunch`: a new execution of the same version with the same inputs. */
export function relaunchExecution(executionId: string): Promise<Execution> {
  return executionAction('relaunch', executionId);
}

/** `executions/recover`: a new execution that reuses every node a failed or cancelled one finished. */
export function recoverExecution(executionId: string): Promise<Execution> {
  return executionAction('recover', executionId);
}

/** One chunk of a node's log: consecutive lines of one stream. */
export interface LogChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** What {@link followNodeLogs} reports. */
export interface LogFollower {
  log(chunk: LogChunk): void;
  /** The attempt ended (`succeeded`, `failed`, …); the stream is closed. */
  end(state: string): void;
  /** The stream could not be opened, or broke before its end. */
  error(message: string): void;
}

/**
 * Follows a node's log (its latest attempt, or `attempt`) through server-sent events:
 * `event: log` `{"stream","text"}` — what was written so far, then live output — and a final
 * `event: end` `{"state"}`. Returns a function that stops following.
 */
export function followNodeLogs(
  executionId: string,
  nodeId: string,
  attempt: number | undefined,
  follower: LogFollower,
): () => void {
  const query = new URLSearchParams({ follow: '1' });
  if (attempt !== undefined) query.set('attempt', String(attempt));
  const url = `${KEEL_API}/executions/${encodeURIComponent(executionId)}/nodes/${encodeURIComponent(nodeId)}/logs?${query}`;
  const source = new EventSource(url);
  let ended = false;
  source.addEventListener('log', (event) => {
    const chunk = JSON.parse((event as MessageEvent<string>).data) as LogChunk;
    follower.log(chunk);
  });
  source.addEventListener('end', (event) => {
    ended = true;
    source.close();
    const { state } = JSON.parse((event as MessageEvent<string>).data) as { state: string };
    follower.end(state);
  });
  source.addEventListener('error', () => {
    if (ended) return;
    // The server closes the stream after `end`; any other close, or a refused request, is an error.
    // EventSource would reconnect and replay the log from the start: stop instead.
    source.close();
    follower.error('The log stream was interrupted');
  });
  return () => {
    ended = true;
    source.close();
  };
}
