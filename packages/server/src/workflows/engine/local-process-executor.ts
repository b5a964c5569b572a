/**
 * The single-machine executor: a pool of long-lived worker processes, each running one attempt at
 * a time, like BullMQ's sandboxed processors. A task that crashes, exits or hangs takes down only
 * its own worker, which is replaced; the others keep running.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeelError } from '@keel/core';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { RestartBackoff, type RestartPolicy } from '../../models/restart-backoff.js';
import { ArtifactCache } from './artifact-cache.js';
import { ArtifactIntegrityError, uploadPath } from './artifact-values.js';
import {
  type AttemptEvents,
  type AttemptFailure,
  type AttemptResult,
  cancelled,
  type Executor,
  failure,
  type TaskAttempt,
} from './executor.js';
import {
  collectOutputs,
  commandOutputPaths,
  createDirectoryOutputs,
  materialiseInputs,
  readCommandOutputs,
  renderCommand,
  TaskUserError,
} from './task-io.js';
import { type AttemptHandlers, type AttemptRequest, TaskWorker, WorkerExitError } from './task-worker.js';
import type { WorkerReply } from './worker-source.js';

/** Options of {@link LocalProcessExecutor}. */
export interface LocalProcessExecutorOptions {
  /** Where code packages and input values are read from and outputs written to. */
  store: ArtifactStore;
  /**
   * Local folder of the executor: `file/<sha256>` and `directory/<sha256>` hold downloaded values
   * and code packages (verified, shared by all attempts); `work/<executor uuid>/<slot>` is the
   * working folder of the attempt a worker runs, emptied after each attempt and removed on close.
   */
  cacheDir: string;
  /**
   * Worker processes, so attempts running at once.
   * @default os.availableParallelism()
   */
  concurrency?: number;
  /**
   * How long a cancelled attempt may take to stop by itself (its `ctx.signal` aborts, a command's
   * program gets SIGTERM) before its worker is killed.
   * @default 5000
   */
  cancelGraceMs?: number;
  /** How fast a worker that keeps crashing is restarted. */
  restart?: RestartPolicy;
  /**
   * Environment of the workers and of command tasks' programs (a task's `command.env` is added).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * More environment for each attempt, asked for as the attempt is prepared (so a value known
   * only later, such as the server's listen address, reaches workers started before it): set in
   * the worker while a function task runs, added to a command's. A variable `env` sets is kept.
   * @default none
   */
  attemptEnv?: () => Readonly<Record<string, string>>;
}

/** The defaults of {@link LocalProcessExecutorOptions}. */
export const LOCAL_EXECUTOR_DEFAULTS = Object.freeze({ cancelGraceMs: 5000 });

interface Slot {
  /** The folder attempts on this slot run in (one at a time). */
  workDir: string;
  /** Whether `workDir` is known to hold nothing but an empty `outputs/`. */
  workDirClean: boolean;
  worker: TaskWorker | undefined;
  busy: boolean;
  backoff: RestartBackoff;
  /** Earliest time (epoch ms) a replacement worker may start. */
  notBefore: number;
}

interface Job {
  attempt: TaskAttempt;
  events: AttemptEvents;
  signal: AbortSignal;
  resolve: (result: AttemptResult) => void;
  reject: (error: Error) => void;
  /** Detaches the queued-cancel listener. */
  dequeued: () => void;
}

/** A prepared attempt: the worker request, and where a command writes its outputs. */
interface Prepared {
  request: AttemptRequest;
  outputPaths?: Record<string, string>;
}

/**
 * Runs attempts on `concurrency` worker processes (started on first use). Attempts beyond that
 * wait in FIFO order. Per attempt: the code package is fetched into the local cache (once per
 * sha256, verified), file inputs are copied into the attempt's folder and passed as paths, the
 * worker imports `bundle.mjs` (once per package) and calls the task, or spawns the command; what
 * the task prints between start and end is the attempt's log; outputs are checked against the
 * declared types and files are uploaded to `workflows/data/<sha256>`. A function task runs with
 * the attempt's folder as working directory; a command task in a copy of the package's `files/`.
 * The timeout counts from the moment the worker gets the attempt (downloads excluded).
 *
 * Failures: a thrown error is `user` (retryable when it is a `RetryableError` or has
 * `retryable: true`); bad outputs and non-zero command exits are `user`, not retryable; a worker
 * that dies is `system`, retryable, and is replaced (with {@link RestartBackoff}); a timeout kills
 * the worker and is `user`, retryable (Flyte: a timeout counts as a failure); a code package or
 * input whose content does not match its hash is `system`, not retryable; other infrastructure
 * errors (store unreachable) are `system`, retryable.
 *
 * @example
 * const executor = new LocalProcessExecutor({ store, cacheDir: join(dataDir, 'workflows'), concurrency: 4 });
 * const result = await executor.run(attempt, { log: (stream, text) => process[stream].write(text) }, signal);
 * await executor.close();
 */
export class LocalProcessExecutor implements Executor {
  readonly capacity: number;
  readonly #store: ArtifactStore;
  readonly #cache: ArtifactCache;
  /** `work/<uuid>`: this executor's own, so executors sharing a cacheDir never share a folder. */
  readonly #workRoot: string;
  readonly #cancelGraceMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #attemptEnv: (() => Readonly<Record<string, string>>) | undefined;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #closing = new AbortController();

  /** @throws RangeError when `concurrency` is not a positive integer or `cancelGraceMs` is negative. */
  constructor(options: LocalProcessExecutorOptions) {
    const concurrency = options.concurrency ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    const cancelGraceMs = options.cancelGraceMs ?? LOCAL_EXECUTOR_DEFAULTS.cancelGraceMs;
    if (!Number.isFinite(cancelGraceMs) || cancelGraceMs < 0) {
      throw new RangeError(`cancelGraceMs must be a non-negative number, got ${cancelGraceMs}`);
    }
    this.capacity = concurrency;
    this.#store = options.store;
    this.#cache = new ArtifactCache(options.store, options.cacheDir);
    this.#workRoot = join(options.cacheDir, 'work', randomUUID());
    this.#cancelGraceMs = cancelGraceMs;
    this.#env = options.env ?? process.env;
    this.#attemptEnv = options.attemptEnv;
    this.#slots = Array.from({ length: concurrency }, (_, index) => ({
      workDir: join(this.#workRoot, String(index)),
      workDirClean: false,
      worker: undefined,
      busy: false,
      backoff: new RestartBackoff(options.restart),
      notBefore: 0,
    }));
  }

  run(attempt: TaskAttempt, events: AttemptEvents, signal: AbortSignal): Promise<AttemptResult> {
    if (this.#closing.signal.aborted) return Promise.reject(closedError());
    if (signal.aborted) return Promise.resolve(cancelled());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#queue.indexOf(job);
        if (index === -1) return;
        this.#queue.splice(index, 1);
        resolve(cancelled());
      };
      const job: Job = {
        attempt,
        events,
        signal,
        resolve,
        reject,
        dequeued: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(job);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    for (const job of this.#queue.splice(0)) {
      job.dequeued();
      job.reject(closedError());
    }
    const workers = this.#slots.flatMap((slot) => (slot.worker === undefined ? [] : [slot.worker]));
    for (const worker of workers) worker.kill();
    await Promise.all([...workers.map((worker) => worker.exited), ...this.#running]);
    await rm(this.#workRoot, { recursive: true, force: true });
  }

  /** Hands queued jobs to free slots. */
  #pump(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.busy) continue;
      const job = this.#queue.shift() as Job;
      job.dequeued();
      slot.busy = true;
      const running = this.#execute(slot, job);
      this.#running.add(running);
      void running.finally(() => this.#running.delete(running));
    }
  }

  async #execute(slot: Slot, job: Job): Promise<void> {
    let result: AttemptResult;
    try {
      result = await this.#attempt(slot, job);
    } catch (error) {
      result = classify(error);
    } finally {
      slot.busy = false;
    }
    if (this.#closing.signal.aborted) job.reject(closedError());
    else job.resolve(result);
    this.#pump();
  }

  async #attempt(slot: Slot, job: Job): Promise<AttemptResult> {
    const { attempt, events, signal } = job;
    const { task } = attempt;
    const { workDir } = slot;
    try {
      if (!slot.workDirClean) await resetWorkDir(workDir);
      slot.workDirClean = false;
      const prepared = await this.#prepare(attempt, workDir);
      if (signal.aborted) return cancelled();
      const worker = await this.#workerFor(slot);
      if (signal.aborted) return cancelled();
      events.started?.({ worker: `local:${worker.pid}` });
      const handlers: AttemptHandlers = {
        log: (stream, text) => events.log(stream, text),
        call: async (call) => {
          await events.trackRun?.(call);
        },
      };
      const ran = await this.#runOn(slot, worker, prepared.request, handlers, attempt, signal);
      if ('error' in ran) return ran;
      if (!ran.reply.ok) {
        const { retryable, message, stack } = ran.reply.error;
        return failure('user', retryable, message, stack);
      }
      const returned =
        prepared.outputPaths === undefined
          ? ran.reply.outputs
          : await readCommandOutputs(task, prepared.outputPaths);
      const outputs = await collectOutputs(task, returned, workDir, (path) => uploadPath(this.#store, path));
      return { ok: true, outputs };
    } catch (error) {
      return classify(error);
    } finally {
      slot.workDirClean = await emptyWorkDir(workDir);
    }
  }

  /** Fetches the code and inputs into `workDir` and builds the worker request. */
  async #prepare(attempt: TaskAttempt, workDir: string): Promise<Prepared> {
    const { task } = attempt;
    const outputsDir = join(workDir, OUTPUTS);
    const codeDir = await this.#cache.codePackage(attempt.code);
    const inputs = await materialiseInputs(
      task.interface.inputs,
      attempt.inputs,
      join(workDir, 'inputs'),
      (value) => this.#cache.fetch(value),
    );
    const extraEnv = this.#extraEnv();
    const base = {
      type: 'run' as const,
      attempt: attempt.attempt,
      executionId: attempt.executionId,
      nodeId: attempt.nodeId,
      workDir,
      outputsDir,
      runId: attempt.runId,
    };
    if (task.kind === 'function') {
      return {
        request: {
          ...base,
          kind: 'function',
          bundle: join(codeDir, 'bundle.mjs'),
          task: task.name,
          inputs,
          ...(extraEnv === undefined ? {} : { env: extraEnv }),
        },
      };
    }
    const cwd = join(workDir, 'files');
    await copyPackageFiles(codeDir, cwd);
    const outputPaths = commandOutputPaths(task, outputsDir);
    await createDirectoryOutputs(task, outputPaths);
    const { argv, env } = renderCommand(task, inputs, outputPaths, cwd);
    return {
      request: {
        ...base,
        kind: 'command',
        argv,
        cwd,
        env: { ...definedEnv(this.#env), ...extraEnv, ...env },
      },
      outputPaths,
    };
  }

  /** The variables of `attemptEnv` that `env` does not set; undefined when there are none. */
  #extraEnv(): Record<string, string> | undefined {
    const extra = Object.entries(this.#attemptEnv?.() ?? {}).filter(
      ([name]) => this.#env[name] === undefined,
    );
    return extra.length === 0 ? undefined : Object.fromEntries(extra);
  }

  /** The slot's worker, started (after the slot's restart delay) when it has none or it died. */
  async #workerFor(slot: Slot): Promise<TaskWorker> {
    if (this.#closing.signal.aborted) throw closedError();
    if (slot.worker?.usable) return slot.worker;
    slot.worker?.kill();
    slot.worker = undefined;
    const wait = slot.notBefore - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal: this.#closing.signal });
    let worker: TaskWorker;
    try {
      worker = await TaskWorker.start(withServerPackages(this.#env));
    } catch (error) {
      slot.notBefore = Date.now() + slot.backoff.recordFailure();
      throw error;
    }
    if (this.#closing.signal.aborted) {
      worker.kill();
      throw closedError();
    }
    slot.worker = worker;
    return worker;
  }

  /** Runs the request on `worker`, enforcing the timeout and cancellation. */
  async #runOn(
    slot: Slot,
    worker: TaskWorker,
    request: AttemptRequest,
    handlers: AttemptHandlers,
    attempt: TaskAttempt,
    signal: AbortSignal,
  ): Promise<{ reply: WorkerReply } | AttemptFailure> {
    const timeoutMs = attempt.timeoutMs ?? attempt.task.timeoutMs;
    let timedOut = false;
    let cancelRequested = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      cancelRequested = true;
      worker.cancel();
      graceTimer = setTimeout(() => worker.kill(), this.#cancelGraceMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            worker.kill();
          }, timeoutMs);
    try {
      const reply = await worker.run(request, handlers);
      if (timedOut) return timeoutFailure(timeoutMs);
      if (cancelRequested) return cancelled();
      slot.backoff.reset();
      return { reply };
    } catch (error) {
      if (timedOut) return timeoutFailure(timeoutMs);
      if (cancelRequested) return cancelled();
      if (error instanceof WorkerExitError) slot.notBefore = Date.now() + slot.backoff.recordFailure();
      throw error;
    } finally {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Subfolder of a work dir that `ctx.outputPath` and command outputs point into. */
const OUTPUTS = 'outputs';

/** Recreates a work dir holding only an empty `outputs/`. */
async function resetWorkDir(workDir: string): Promise<void> {
  await rm(workDir, { recursive: true, force: true });
  await mkdir(join(workDir, OUTPUTS), { recursive: true });
}

/**
 * Empties a work dir after an attempt, keeping `outputs/`; returns whether that worked. Cheaper
 * than removing and recreating it: most attempts leave nothing behind, and then this costs two
 * `readdir`s (per-attempt overhead matters for fan-outs of thousands of small tasks).
 */
async function emptyWorkDir(workDir: string): Promise<boolean> {
  try {
    for (const entry of await readdir(workDir)) {
      if (entry !== OUTPUTS) await rm(join(workDir, entry), { recursive: true, force: true });
    }
    const outputsDir = join(workDir, OUTPUTS);
    for (const entry of await readdir(outputsDir))
      await rm(join(outputsDir, entry), { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

/** Copies the package's `files/` (command tasks' programs and data) into the attempt's folder. */
async function copyPackageFiles(codeDir: string, dest: string): Promise<void> {
  const files = join(codeDir, 'files');
  const present = await stat(files).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (present) await cp(files, dest, { recursive: true });
  else await mkdir(dest, { recursive: true });
}

/** Turns an error met outside the task's own code into a result. */
function classify(error: unknown): AttemptFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TaskUserError) return failure('user', false, message);
  // Corrupt or missing content stays so: a retry downloads the same bytes again.
  if (error instanceof ArtifactIntegrityError) return failure('system', false, message);
  if (error instanceof KeelError && error.code === 'RESOURCE_DOES_NOT_EXIST')
    return failure('system', false, message);
  return failure('system', true, message);
}

function timeoutFailure(timeoutMs: number | undefined): AttemptFailure {
  return failure('user', true, `timed out after ${timeoutMs} ms`);
}

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

function closedError(): Error {
  return new Error('The workflow executor is closed');
}

/**
 * The workers' environment: `env` with `NODE_PATH` extended by the folders this server resolves
 * packages from, so that a bundle's runtime `require` of a package it does not contain (the SDK
 * loads `protobufjs` that way when it exports ONNX) finds the server's installation. ES `import`s
 * of the packages bundles leave out (`onnxruntime-node`…) do not read `NODE_PATH`.
 */
function withServerPackages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = (env.NODE_PATH ?? '').split(delimiter).filter((path) => path !== '');
  const server = createRequire(import.meta.url).resolve.paths('keel-worker-package') ?? [];
  return { ...env, NODE_PATH: [...own, ...server.filter((path) => !own.includes(path))].join(delimiter) };
}
