/**
 * Reading the log of a node's attempt: the stored lines of an ended attempt, what a running one
 * printed so far, or — following — all of that and then every new chunk until the attempt ends.
 */
import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidParameter, notFound, TERMINAL_NODE_STATES } from '@keel/core';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AttemptRecord, WorkflowStore } from '../store/workflow-store.js';
import { type LogChunk, type LogHub, type LogLine, logKey, parseStoredLog } from './engine/log-hub.js';

/** What {@link WorkflowLogs} reads from. */
export interface WorkflowLogsOptions {
  store: WorkflowStore;
  artifacts: ArtifactStore;
  logs: LogHub;
  /** How often a follower looks again while the attempt has not started or runs in another process. @default 500 */
  pollMs?: number;
}

/** Where a follower's events go. */
export interface LogSink {
  /** The execution and node exist: events follow (called once, before any other call). */
  open?(): void;
  log(chunk: LogChunk): void;
  /** The attempt ended with this state (`succeeded`, `failed`, `cancelled`); nothing follows. */
  end(state: string): void;
}

/** The log of one attempt. */
export interface AttemptLog {
  attempt: AttemptRecord;
  /** Each line with its stream (and `ctx.log` level). */
  lines: LogLine[];
  /** The whole log as text: the lines' texts, stdout and stderr as they interleaved. */
  text: string;
}

/**
 * Attempt logs of workflow executions.
 *
 * @example
 * const { text, lines } = await logs.read(executionId, 'fit', 2);
 * await logs.follow(executionId, 'fit', undefined, { log: send, end: close }, request.signal);
 */
export class WorkflowLogs {
  readonly #pollMs: number;

  constructor(private readonly options: WorkflowLogsOptions) {
    this.#pollMs = options.pollMs ?? 500;
  }

  /**
   * The log of attempt `attempt` of a node (default: its latest attempt): the stored log of an
   * ended attempt, what a running one printed so far in this process (else nothing yet).
   *
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown execution or node, or an attempt that never started.
   */
  async read(executionId: string, nodeId: string, attempt?: number): Promise<AttemptLog> {
    const record = await this.#attempt(executionId, nodeId, attempt);
    if (record === undefined) throw noAttempt(nodeId, attempt);
    const lines =
      record.state === 'running'
        ? (this.options.logs.lines(logKey(executionId, nodeId, record.attempt)) ?? [])
        : await this.#stored(record);
    return { attempt: record, lines, text: lines.map((line) => line.text).join('') };
  }

  /**
   * Sends the log of attempt `attempt` (default: the latest, waiting for the first one to start)
   * to `sink`: what was written so far, every new chunk, then `end` when the attempt ends. An
   * ended attempt's stored log arrives as one chunk per run of lines of the same stream. Returns
   * when it ended or `signal` aborts (the client went away).
   *
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown execution or node (before anything is sent).
   */
  async follow(
    executionId: string,
    nodeId: string,
    attempt: number | undefined,
    sink: LogSink,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#node(executionId, nodeId);
    sink.open?.();
    while (!signal.aborted) {
      const record = await this.#attempt(executionId, nodeId, attempt);
      if (record === undefined) {
        // Not started yet; a node that ended without running (cached, skipped) never will.
        const node = await this.#node(executionId, nodeId);
        if (attempt === undefined && node.attempt === 0 && TERMINAL_NODE_STATES.includes(node.state)) {
          sink.end(node.state);
          return;
        }
      } else if (record.state !== 'running') {
        for (const chunk of streamRuns(await this.#stored(record))) sink.log(chunk);
        sink.end(record.state);
        return;
      } else if (await this.#streamLive(executionId, nodeId, record.attempt, sink, signal)) {
        return;
      }
      await sleep(this.#pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * Streams a running attempt of this process until it ends. @returns false when it does not run
   * here (another process runs it, or it just ended): the caller looks again.
   */
  async #streamLive(
    executionId: string,
    nodeId: string,
    attempt: number,
    sink: LogSink,
    signal: AbortSignal,
  ): Promise<boolean> {
    let finished: (() => void) | undefined;
    const ended = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const subscription = this.options.logs.subscribe(logKey(executionId, nodeId, attempt), {
      log: (chunk) => sink.log(chunk),
      end: (state) => {
        sink.end(state);
        finished?.();
      },
    });
    if (subscription === undefined) return false;
    for (const chunk of subscription.history) sink.log(chunk);
    const onAbort = (): void => finished?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await ended;
    } finally {
      signal.removeEventListener('abort', onAbort);
      subscription.unsubscribe();
    }
    return true;
  }

  async #node(executionId: string, nodeId: string) {
    const node = await this.options.store.getNode(executionId, nodeId);
    if (node !== undefined) return node;
    if ((await this.options.store.getExecution(executionId)) === undefined) {
      throw notFound(`Execution '${executionId}' not found`);
    }
    throw notFound(`Execution '${executionId}' has no node '${nodeId}'`);
  }

  /** The attempt asked for, or the latest one; undefined when it has not started. */
  async #attempt(executionId: string, nodeId: string, attempt?: number): Promise<AttemptRecord | undefined> {
    if (attempt !== undefined && (!Number.isSafeInteger(attempt) || attempt < 1)) {
      throw invalidParameter(`Invalid value ${attempt} for parameter 'attempt': attempts count from 1`);
    }
    await this.#node(executionId, nodeId);
    const attempts = await this.options.store.listAttempts(executionId, nodeId);
    return attempt === undefined ? attempts.at(-1) : attempts.find((a) => a.attempt === attempt);
  }

  async #stored(record: AttemptRecord): Promise<LogLine[]> {
    if (record.log_path === null) return [];
    const object = await this.options.artifacts.get(record.log_path);
    const time = record.ended_at ?? record.started_at;
    return parseStoredLog(record.log_path, await text(object.stream), time);
  }
}

/** Consecutive lines of the same stream joined: the chunks a follower of an ended attempt gets. */
function streamRuns(lines: readonly LogLine[]): LogChunk[] {
  const chunks: LogChunk[] = [];
  for (const line of lines) {
    const last = chunks.at(-1);
    if (last?.stream === line.stream) last.text += line.text;
    else chunks.push({ stream: line.stream, text: line.text });
  }
  return chunks;
}

function noAttempt(nodeId: string, attempt: number | undefined): Error {
  return notFound(
    attempt === undefined
      ? `Node '${nodeId}' has not run yet (no attempt)`
      : `Node '${nodeId}' has no attempt ${attempt}`,
  );
}
