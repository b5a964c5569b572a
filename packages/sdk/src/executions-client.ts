import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CacheMode,
  type Execution,
  type ExecutionState,
  type JsonValue,
  type NodeState,
  TERMINAL_EXECUTION_STATES,
  type WorkflowVersion,
} from '@keel/core';
import type { TransferOptions } from './artifact-transfer.js';
import { KeelConnectionError } from './errors.js';
import { keelRpc, keelUrl } from './keel-rpc.js';
import { paginate } from './paginate.js';
import type { KeelRestClient } from './rest-client.js';
import { parseServerSentEvents } from './sse.js';
import { type ContentUploader, mentionsLocalPath, uploadLocalInputs } from './workflow-data.js';
import type { WorkflowsClient } from './workflows-client.js';

/** Where Keel mounts its execution RPCs, below the tracking URI. */
export const EXECUTIONS_API_PREFIX = '/api/2.0/keel/executions';

/** An execution as `executions/list` returns it: without its nodes. */
export type ExecutionSummary = Omit<Execution, 'nodes'>;

/** Options of {@link ExecutionsClient.launch}. */
export interface LaunchOptions {
  /** @default the workflow's default version (or the given `WorkflowVersion`'s) */
  version?: string;
  /** `use` reads and writes the task cache, `skip` neither, `overwrite` runs and replaces. @default 'use' */
  cache?: CacheMode;
  /** Concurrency and progress of the uploads of local file inputs. */
  transfer?: TransferOptions;
}

/** Options of {@link ExecutionsClient.relaunch}. */
export interface RelaunchOptions {
  /** @default 'use' */
  cache?: CacheMode;
}

/** Filters of {@link ExecutionsClient.list}; all optional, combined with AND. */
export interface ListExecutionsOptions {
  workflow?: string;
  version?: string;
  state?: ExecutionState;
  createdBy?: string;
  /** Page size (the iterator fetches page after page). @default the server's */
  maxResults?: number;
}

/** Options of {@link ExecutionsClient.logs}. */
export interface LogsOptions {
  /** @default the node's latest attempt */
  attempt?: number;
}

/** Options of {@link ExecutionsClient.followLogs}. */
export interface FollowLogsOptions extends LogsOptions {
  /** Stops following (the iterator then ends without an error). */
  signal?: AbortSignal;
}

/** One piece of a task attempt's output. */
export interface LogChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * One line of a task attempt's log, as the server stores it: `logLines` returns them in the order
 * the lines began; joining their `text`s gives what `logs` returns.
 */
export interface LogLine {
  /** Epoch ms when the line's first character arrived at the server. */
  time: number;
  stream: 'stdout' | 'stderr';
  /** The line with its `\n` (a stream's last line may have none). */
  text: string;
  /** Set on lines `ctx.log` wrote (`[info] …` on stdout, `[warn] …` and `[error] …` on stderr). */
  level?: 'info' | 'warn' | 'error';
}

/** Options of {@link ExecutionsClient.wait}. */
export interface WaitOptions {
  /** Time between two polls. @default 1000 */
  intervalMs?: number;
  /** Stops waiting: `wait` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with every execution polled, the final one included. */
  onUpdate?: (execution: Execution) => void;
}

/** What the `end` event of a followed log says: how the attempt ended. */
export interface LogEnd {
  state: NodeState;
}

/**
 * Executions of Keel's workflows through `/api/2.0/keel/executions/*`: launch (uploading local
 * file inputs), inspect, list, cancel, relaunch (same inputs, fresh), recover (reuse what
 * succeeded, rerun from the failure), read and follow task logs, and wait for the end. Reached as
 * `client.executions`; errors are the SDK's typed errors.
 *
 * @example
 * const keel = new KeelClient();
 * const launched = await keel.executions.launch('train', { data: './train.csv', alphas: [0.1, 1] });
 * for await (const { text } of keel.executions.followLogs(launched.execution_id, 'split')) process.stdout.write(text);
 * const done = await keel.executions.wait(launched.execution_id);
 * console.log(done.state, done.outputs);
 */
export class ExecutionsClient {
  /** Use `KeelClient.executions`; this shares the client's HTTP settings. */
  constructor(
    private readonly rest: KeelRestClient,
    private readonly workflows: WorkflowsClient,
    private readonly uploader: ContentUploader,
  ) {}

  /**
   * Starts an execution (state `queued`). `workflow` is a name or a version from
   * `keel.workflows.get` (then its version is launched and its interface is not fetched again).
   * A string that names a local file or folder at a `file`, `dataset` or `directory` input —
   * inside arrays and records too — is uploaded, content-addressed, to `workflows/data/<sha256>`
   * and sent as an `ArtifactValue`; URIs and other values are sent as they are.
   *
   * @example
   * const execution = await keel.executions.launch('train', { data: 'data/train.csv', alpha: 0.5 }, { cache: 'skip' });
   */
  async launch(
    workflow: string | WorkflowVersion,
    inputs: Readonly<Record<string, unknown>> = {},
    options: LaunchOptions = {},
  ): Promise<Execution> {
    const name = typeof workflow === 'string' ? workflow : workflow.name;
    let version = options.version ?? (typeof workflow === 'string' ? undefined : workflow.version);
    let values = inputs as Record<string, JsonValue>;
    if (await mentionsLocalPath(inputs)) {
      const target =
        typeof workflow !== 'string' && version === workflow.version
          ? workflow
          : await this.workflows.get(name, version);
      // Pin the version whose interface the inputs were read with.
      version = target.version;
      values = await uploadLocalInputs(target.spec.workflow.interface, inputs, (path) =>
        this.uploader.upload(path, options.transfer),
      );
    }
    return this.execution('POST', 'launch', {
      workflow: name,
      version,
      inputs: values,
      cache: options.cache,
    });
  }

  /**
   * An execution with its nodes (state, attempt, cache hit, times, inputs, outputs, errors).
   * @example const { state, nodes } = await keel.executions.get(id);
   */
  get(executionId: string): Promise<Execution> {
    return this.execution('GET', 'get', { execution_id: executionId });
  }

  /**
   * Matching executions (without nodes), newest first, fetching page after page.
   * @example for await (const e of keel.executions.list({ workflow: 'train', state: 'failed' })) console.log(e.execution_id);
   */
  list(filter: ListExecutionsOptions = {}): AsyncGenerator<ExecutionSummary> {
    return paginate(async (pageToken) => {
      const page = await keelRpc<{ executions?: ExecutionSummary[]; next_page_token?: string }>(
        this.rest,
        EXECUTIONS_API_PREFIX,
        'GET',
        'list',
        {
          workflow: filter.workflow,
          version: filter.version,
          state: filter.state,
          created_by: filter.createdBy,
          max_results: filter.maxResults,
          page_token: pageToken,
        },
      );
      return { items: page.executions ?? [], nextPageToken: page.next_page_token };
    });
  }

  /**
   * Asks a running execution to stop (state `cancelling`, then `cancelled` once its running tasks
   * are stopped).
   * @example await keel.executions.cancel(id);
   */
  cancel(executionId: string): Promise<Execution> {
    return this.execution('POST', 'cancel', { execution_id: executionId });
  }

  /**
   * A fresh execution of the same version with the same inputs (mode `relaunch`).
   * @example const again = await keel.executions.relaunch(id, { cache: 'skip' });
   */
  relaunch(executionId: string, options: RelaunchOptions = {}): Promise<Execution> {
    return this.execution('POST', 'relaunch', { execution_id: executionId, cache: options.cache });
  }

  /**
   * A new execution (mode `recover`) of a failed or cancelled one that reuses the nodes that
   * succeeded and reruns from the failure.
   * @example const recovered = await keel.executions.recover(id);
   */
  recover(executionId: string): Promise<Execution> {
    return this.execution('POST', 'recover', { execution_id: executionId });
  }

  /**
   * The log (stdout and stderr as they interleaved) of a node's attempt, as text.
   * @example console.log(await keel.executions.logs(id, 'fit', { attempt: 1 }));
   */
  async logs(executionId: string, nodeId: string, options: LogsOptions = {}): Promise<string> {
    const { response, done } = await this.rest.request({
      method: 'GET',
      url: this.logsUrl(executionId, nodeId, { attempt: options.attempt, follow: 0 }),
      headers: { accept: 'text/plain' },
    });
    try {
      return await response.text();
    } finally {
      done();
    }
  }

  /**
   * The log of a node's attempt, line by line, each line with its stream (and `ctx.log` level).
   * A log stored by a server older than this split is one `stdout` line.
   * @example
   * for (const line of await keel.executions.logLines(id, 'fit')) {
   *   (line.stream === 'stderr' ? process.stderr : process.stdout).write(line.text);
   * }
   */
  async logLines(executionId: string, nodeId: string, options: LogsOptions = {}): Promise<LogLine[]> {
    const { response, done } = await this.rest.request({
      method: 'GET',
      url: this.logsUrl(executionId, nodeId, { attempt: options.attempt, follow: 0, format: 'jsonl' }),
      headers: { accept: 'application/x-ndjson' },
    });
    try {
      const body = await response.text();
      return body
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogLine);
    } finally {
      done();
    }
  }

  /**
   * A node attempt's log as it is written: what was logged so far, then live output, ending when
   * the attempt ends (the generator returns the `end` event's state) or when `signal` aborts.
   *
   * @throws KeelConnectionError when the stream breaks before the attempt ends.
   * @example
   * for await (const { stream, text } of keel.executions.followLogs(id, 'fit')) {
   *   (stream === 'stderr' ? process.stderr : process.stdout).write(text);
   * }
   */
  async *followLogs(
    executionId: string,
    nodeId: string,
    options: FollowLogsOptions = {},
  ): AsyncGenerator<LogChunk, LogEnd | undefined> {
    const { signal } = options;
    if (signal?.aborted) return undefined;
    const url = this.logsUrl(executionId, nodeId, { attempt: options.attempt, follow: 1 });
    const { response, done } = await this.rest.request({
      method: 'GET',
      url,
      headers: { accept: 'text/event-stream' },
    });
    // A followed log may stay quiet for as long as the task runs: no idle timeout.
    done();
    const body = response.body;
    if (body === null) throw brokenStream(url);
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const stop = (): void => {
      void reader.cancel().catch(() => undefined);
    };
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const event of parseServerSentEvents(readChunks(reader))) {
        if (event.event === 'log') yield JSON.parse(event.data) as LogChunk;
        else if (event.event === 'end') return JSON.parse(event.data) as LogEnd;
      }
      if (signal?.aborted) return undefined;
      throw brokenStream(url);
    } catch (error) {
      if (signal?.aborted) return undefined;
      if (error instanceof KeelConnectionError || error instanceof SyntaxError) throw error;
      throw brokenStream(url, error);
    } finally {
      signal?.removeEventListener('abort', stop);
      stop();
    }
  }

  /**
   * Polls an execution until it ends (succeeded, failed or cancelled) and returns it.
   * @example const done = await keel.executions.wait(id, { onUpdate: (e) => console.log(e.state) });
   */
  async wait(executionId: string, options: WaitOptions = {}): Promise<Execution> {
    const { signal, onUpdate, intervalMs = 1_000 } = options;
    for (;;) {
      signal?.throwIfAborted();
      const execution = await this.get(executionId);
      onUpdate?.(execution);
      if (TERMINAL_EXECUTION_STATES.includes(execution.state)) return execution;
      try {
        await sleep(intervalMs, undefined, signal === undefined ? {} : { signal });
      } catch (error) {
        // The timer rejects with a generic AbortError; the caller gave a reason.
        signal?.throwIfAborted();
        throw error;
      }
    }
  }

  private async execution(
    method: 'GET' | 'POST',
    path: string,
    message: Record<string, unknown>,
  ): Promise<Execution> {
    const answer = await keelRpc<{ execution: Execution }>(
      this.rest,
      EXECUTIONS_API_PREFIX,
      method,
      path,
      message,
    );
    return answer.execution;
  }

  private logsUrl(
    executionId: string,
    nodeId: string,
    query: { attempt?: number; follow: number; format?: 'jsonl' },
  ): string {
    const path = `${encodeURIComponent(executionId)}/nodes/${encodeURIComponent(nodeId)}/logs`;
    return keelUrl(this.rest, EXECUTIONS_API_PREFIX, path, query);
  }
}

async function* readChunks(reader: ReadableStreamDefaultReader<string>): AsyncGenerator<string> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

function brokenStream(url: string, cause?: unknown): KeelConnectionError {
  return new KeelConnectionError(url, `GET ${url}: the log stream ended before the attempt did`, {
    ...(cause === undefined ? {} : { cause }),
  });
}
