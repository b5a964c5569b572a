/**
 * A fixed-size pool of `worker_threads` that run one request each at a time. Used by flavors whose
 * inference blocks the thread it runs on (onnxruntime's `session.run()`), so the event loop stays free.
 */
import type { Transferable, Worker } from 'node:worker_threads';
import { type ErrorCode, KeelError } from '@keel/core';
import { RestartBackoff, type RestartPolicy } from './restart-backoff.js';

/** Message a pool worker posts once it can take requests, or when it could not start. */
export type WorkerStartMessage<Info> = { kind: 'ready'; info: Info } | { kind: 'failed'; message: string };

/**
 * Message a pool worker posts for each request: the result, or the error it raised. An error with a
 * `code` rejects with that code and the message as is (e.g. `BAD_REQUEST` for a user's predict that
 * threw); without one it is an `INTERNAL_ERROR` prefixed with the pool's label.
 */
export type WorkerReplyMessage<Res> =
  | { kind: 'result'; id: number; result: Res }
  | { kind: 'error'; id: number; message: string; code?: ErrorCode };

/**
 * Messages the pool posts to a worker: a request, or `stop`. On `stop` the worker lets the request it
 * is running (if any) finish **without answering it**, releases its resources and calls
 * `process.exit(code)`. A `run` with `crashForTesting` is run, then the worker exits with code 1
 * without answering (how tests kill a worker mid-flight deterministically). Workers are never `terminate()`d while busy: terminating a thread inside a
 * native call (onnxruntime's `session.run`) aborts the whole process.
 */
export type WorkerRequestMessage<Req> =
  | { kind: 'run'; id: number; request: Req; crashForTesting?: true }
  | { kind: 'stop'; code: number };

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Number of workers. */
  size: number;
  /** Creates one worker; it must post a {@link WorkerStartMessage} first, then answer every request. */
  createWorker: () => Worker;
  /** Used in error messages, e.g. `ONNX worker`. */
  label: string;
  /**
   * How long `close()` waits for a busy worker to finish before terminating it anyway.
   * @default 30_000
   */
  closeTimeoutMs?: number;
  /**
   * How fast a dead worker is replaced: the first death in a quiet period at once, the next ones with
   * exponential backoff (see {@link RestartPolicy}).
   * @default DEFAULT_RESTART_POLICY
   */
  restart?: RestartPolicy;
  /**
   * A worker that has not posted `ready` within this time is terminated and counts as failed to start.
   * Leave unset for workers whose start runs native code (terminating a thread inside a native call
   * aborts the process).
   * @default no limit
   */
  startTimeoutMs?: number;
}

interface Job<Req, Res> {
  request: Req;
  transfer: Transferable[];
  resolve: (result: Res) => void;
  reject: (error: Error) => void;
}

interface Slot<Req, Res> {
  worker: Worker;
  ready: boolean;
  job: Job<Req, Res> | undefined;
  /** Set from the worker's `error` event (or a `failed` message), reported when it exits. */
  crash: Error | undefined;
  startTimer: NodeJS.Timeout | undefined;
  /** Whether this worker has answered a request yet. */
  answered: boolean;
}

/**
 * Runs requests on a pool of workers: requests wait in a FIFO queue and go to the first idle worker.
 * A worker that dies (uncaught error, native crash, `terminate()`, a start that fails) is replaced;
 * the request it was running rejects with `INTERNAL_ERROR` and the others are unaffected.
 *
 * Replacement is rate limited by a {@link RestartBackoff}: a worker that keeps dying is restarted after
 * growing delays, never in a tight loop (a replacement's first successful answer forgets earlier
 * failures, so a crash on one bad request now and then is replaced at once). While no worker is alive
 * or starting (all wait for their backoff), {@link ready} is `false` and requests reject at once with
 * `TEMPORARILY_UNAVAILABLE` (503) instead of waiting an unknown time.
 *
 * @example
 * const pool = await WorkerPool.start<Req, Res, Info>({ size: 2, label: 'ONNX worker', createWorker });
 * const result = await pool.run(request, [request.data.buffer]);
 * await pool.close();
 */
export class WorkerPool<Req, Res, Info> {
  readonly #options: WorkerPoolOptions;
  readonly #slots = new Set<Slot<Req, Res>>();
  readonly #queue: Job<Req, Res>[] = [];
  readonly #backoff: RestartBackoff;
  /** Pending respawns: timer → when it fires. */
  readonly #respawns = new Map<NodeJS.Timeout, number>();
  #lastFailure = '';
  #nextId = 0;
  #started = false;
  #closed = false;
  #crashNext = false;
  /** What the first worker reported when it became ready (e.g. the model's inputs). */
  info!: Info;

  private constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#backoff = new RestartBackoff(options.restart);
  }

  /**
   * Starts `size` workers and waits until each is ready.
   * @throws INVALID_PARAMETER_VALUE when a worker reports it could not start (e.g. an unreadable model);
   *   INTERNAL_ERROR when one dies or times out before it is ready.
   */
  static async start<Req, Res, Info>(options: WorkerPoolOptions): Promise<WorkerPool<Req, Res, Info>> {
    const pool = new WorkerPool<Req, Res, Info>(options);
    try {
      const infos = await Promise.all(Array.from({ length: options.size }, () => pool.#spawn()));
      pool.info = infos[0] as Info;
      pool.#started = true;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Number of live workers, ready or starting (for tests and metrics). */
  get size(): number {
    return this.#slots.size;
  }

  /** Whether at least one worker is ready to take a request. */
  get ready(): boolean {
    if (this.#closed) return false;
    for (const slot of this.#slots) if (slot.ready) return true;
    return false;
  }

  /** Requests waiting for a worker. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /**
   * Queues `request`; resolves with the worker's result. `transfer` lists buffers moved (not copied)
   * to the worker. Rejects with `INTERNAL_ERROR` when the worker dies or the pool closes first, and
   * with `TEMPORARILY_UNAVAILABLE` when no worker is alive (every one waits for its restart).
   */
  run(request: Req, transfer: Transferable[] = []): Promise<Res> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#slots.size === 0) return Promise.reject(this.#unavailableError());
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ request, transfer, resolve, reject });
      this.#dispatch();
    });
  }

  /**
   * Test hook: the next request dispatched makes its worker run it, then exit with code 1 without
   * answering, as a crash in the middle of `session.run` would.
   * @internal
   */
  crashNextRequestForTesting(): void {
    this.#crashNext = true;
  }

  /**
   * Rejects queued requests, cancels pending restarts and stops every worker: a busy one finishes its
   * native call first, then exits, and its request rejects. Resolves when all have exited. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#respawns.keys()) clearTimeout(timer);
    this.#respawns.clear();
    for (const job of this.#queue.splice(0)) job.reject(this.#closedError());
    await Promise.all([...this.#slots].map((slot) => this.#stop(slot, 0)));
  }

  #stop(slot: Slot<Req, Res>, code: number): Promise<void> {
    const { worker } = slot;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), this.#options.closeTimeoutMs ?? 30_000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      const message: WorkerRequestMessage<Req> = { kind: 'stop', code };
      try {
        worker.postMessage(message);
      } catch {
        void worker.terminate();
      }
    });
  }

  #closedError(): KeelError {
    return new KeelError('INTERNAL_ERROR', `${this.#options.label} pool is closed`);
  }

  #unavailableError(): KeelError {
    const next = Math.min(...this.#respawns.values());
    const wait = Number.isFinite(next)
      ? ` Next start in ${Math.max(0, Math.ceil((next - Date.now()) / 1000))} s.`
      : '';
    return new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `No ${this.#options.label} is running: ${this.#backoff.recentFailures} failed in the last minute, restarting with backoff.${wait} Last failure: ${this.#lastFailure}`,
    );
  }

  #spawn(): Promise<Info> {
    const worker = this.#options.createWorker();
    const slot: Slot<Req, Res> = {
      worker,
      ready: false,
      job: undefined,
      crash: undefined,
      startTimer: undefined,
      answered: false,
    };
    this.#slots.add(slot);
    const { startTimeoutMs } = this.#options;
    if (startTimeoutMs !== undefined) {
      slot.startTimer = setTimeout(() => {
        slot.crash = new Error(`not ready within ${startTimeoutMs} ms`);
        void worker.terminate();
      }, startTimeoutMs);
    }
    return new Promise<Info>((resolveStart, rejectStart) => {
      worker.on('message', (message: WorkerStartMessage<Info> | WorkerReplyMessage<Res>) => {
        switch (message.kind) {
          case 'ready':
            clearTimeout(slot.startTimer);
            slot.ready = true;
            resolveStart(message.info);
            this.#dispatch();
            return;
          case 'failed':
            // The worker exits on its own after reporting; the exit handler decides about a restart.
            slot.crash = new Error(message.message);
            rejectStart(new KeelError('INVALID_PARAMETER_VALUE', message.message));
            return;
          case 'result':
          case 'error': {
            const job = slot.job;
            slot.job = undefined;
            if (message.kind === 'result') {
              // Only a worker's first answer: with one worker healthy and another failing to start,
              // the healthy one's steady answers must not keep the other's restarts at zero delay.
              if (!slot.answered) this.#backoff.reset();
              slot.answered = true;
              job?.resolve(message.result);
            } else if (message.code !== undefined) job?.reject(new KeelError(message.code, message.message));
            else job?.reject(new KeelError('INTERNAL_ERROR', `${this.#options.label}: ${message.message}`));
            this.#dispatch();
            return;
          }
          default: {
            const never: never = message;
            throw new Error(`Unknown worker message ${JSON.stringify(never)}`);
          }
        }
      });
      worker.on('error', (error) => {
        slot.crash = error;
      });
      worker.on('exit', (code) => {
        clearTimeout(slot.startTimer);
        this.#slots.delete(slot);
        const why = slot.crash?.message ?? `exit code ${code}`;
        if (!slot.ready)
          rejectStart(new KeelError('INTERNAL_ERROR', `${this.#options.label} failed to start: ${why}`));
        slot.job?.reject(
          this.#closed
            ? this.#closedError()
            : new KeelError(
                'INTERNAL_ERROR',
                `${this.#options.label} exited while running the request (${why})`,
              ),
        );
        slot.job = undefined;
        // During start() a worker that cannot start fails the whole start instead.
        if (this.#closed || !(this.#started || slot.ready)) return;
        this.#replace(slot.ready ? why : `failed to start: ${why}`);
      });
    });
  }

  /** Starts a replacement for a dead worker, at once or after the backoff's delay. */
  #replace(why: string): void {
    this.#lastFailure = why;
    const delay = this.#backoff.recordFailure();
    if (delay === 0) {
      this.#respawn();
      return;
    }
    const timer = setTimeout(() => {
      this.#respawns.delete(timer);
      if (!this.#closed) this.#respawn();
    }, delay);
    // A pending restart alone must not keep the process alive.
    timer.unref();
    this.#respawns.set(timer, Date.now() + delay);
    if (this.#slots.size === 0) {
      const error = this.#unavailableError();
      for (const job of this.#queue.splice(0)) job.reject(error);
    }
  }

  #respawn(): void {
    // A failed start is handled by the exit handler, which schedules the next attempt.
    this.#spawn().catch(() => undefined);
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.job !== undefined) continue;
      const job = this.#queue.shift() as Job<Req, Res>;
      slot.job = job;
      const message: WorkerRequestMessage<Req> = { kind: 'run', id: this.#nextId++, request: job.request };
      if (this.#crashNext) {
        this.#crashNext = false;
        message.crashForTesting = true;
      }
      try {
        slot.worker.postMessage(message, job.transfer);
      } catch (error) {
        slot.job = undefined;
        job.reject(new KeelError('INTERNAL_ERROR', `${this.#options.label}: ${(error as Error).message}`));
      }
    }
  }
}
