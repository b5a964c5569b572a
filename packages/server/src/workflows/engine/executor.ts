/**
 * What the scheduler hands work to. The scheduler keeps the DAG, the node states, retries and the
 * cache; an executor only runs one attempt of one task and says how it ended. Implementations:
 * `LocalProcessExecutor` (a pool of worker processes on this machine); a BullMQ or pg-boss
 * executor later implements the same interface by enqueueing the attempt and resolving when a
 * remote worker reports back.
 *
 * Delivery is at-least-once: a server killed mid-attempt runs the attempt again after restart, and
 * a remote executor may deliver a late duplicate. The scheduler therefore commits a result with a
 * compare-and-set on (node, attempt), and executors write outputs content-addressed, so a
 * duplicate run is harmless.
 */
import type { ExecutionError, JsonValue, TaskSpec } from '@keel/core';

/** A code package: an artifact-store folder with `bundle.mjs` (and `files/…` for command tasks). */
export interface CodeRef {
  /** Folder in the artifact store, e.g. `workflows/code/<sha256>`. */
  path: string;
  /** Content hash of the folder: sha256 over its sorted `"relpath\0sha256(file)\n"` lines. */
  sha256: string;
}

/** One attempt of one node: everything an executor needs, serialisable as JSON. */
export interface TaskAttempt {
  executionId: string;
  nodeId: string;
  /** 1 for the first attempt; retries and crash resumes count up. */
  attempt: number;
  task: TaskSpec;
  code: CodeRef;
  /** Input values by name: JSON, with an `ArtifactValue` wherever a file or directory goes. */
  inputs: Record<string, JsonValue>;
  /** Overrides `task.timeoutMs`; absent on both = no timeout. */
  timeoutMs?: number;
  /** Tracking run the task's `ctx.run` calls go to, when the execution has one. */
  runId?: string;
}

/** A failed attempt. */
export interface AttemptFailure {
  ok: false;
  error: ExecutionError;
}

/** How an attempt ended. A failure is a value, never a rejection. */
export type AttemptResult = { ok: true; outputs: Record<string, JsonValue> } | AttemptFailure;

/** A stream of an attempt's log. */
export type LogStream = 'stdout' | 'stderr';

/** A tracking call a task made through `ctx.run`, for the scheduler to write to the execution's run. */
export type RunCall =
  | { kind: 'param'; key: string; value: string }
  | { kind: 'metric'; key: string; value: number; step: number; timestamp: number }
  | { kind: 'tag'; key: string; value: string };

/** What an attempt reports while it runs. */
export interface AttemptEvents {
  /** The attempt got a worker, named for the attempt record (e.g. `local:12345`). */
  started?(info: { worker: string }): void;
  /** Output the task wrote, in order per stream (chunks, not necessarily whole lines). */
  log(stream: LogStream, text: string): void;
  /**
   * A `ctx.run.*` call. The task's promise settles with this one's: a rejection fails the task's
   * call (the task decides whether that fails the attempt). Absent: calls are accepted and dropped.
   */
  trackRun?(call: RunCall): void | Promise<void>;
}

/**
 * Runs task attempts.
 *
 * @example
 * const result = await executor.run(attempt, { log: (stream, text) => sink.write(stream, text) }, abort.signal);
 * if (!result.ok && result.error.retryable) scheduleRetry();
 */
export interface Executor {
  /** How many attempts run at once; more are accepted and wait in order. */
  readonly capacity: number;
  /**
   * Runs one attempt. Resolves with its result, also for failures: a task error is `user`, an
   * infrastructure error (worker died, a download failed) is `system`; `retryable` says whether a
   * retry can help. Aborting `signal` cancels the attempt: it resolves with
   * `{ kind: 'system', retryable: false, message: 'cancelled' }`. Rejects only when the executor is
   * closed before the attempt ends.
   */
  run(attempt: TaskAttempt, events: AttemptEvents, signal: AbortSignal): Promise<AttemptResult>;
  /** Stops every worker; attempts still waiting or running reject. Idempotent. */
  close(): Promise<void>;
}

/** A failed result. */
export function failure(
  kind: ExecutionError['kind'],
  retryable: boolean,
  message: string,
  stack?: string,
): AttemptFailure {
  return {
    ok: false,
    error: stack === undefined ? { kind, retryable, message } : { kind, retryable, message, stack },
  };
}

/** The result of a cancelled attempt (a fresh object each time). */
export function cancelled(): AttemptFailure {
  return failure('system', false, 'cancelled');
}
