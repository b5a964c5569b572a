/**
 * A fixed-size pool of `worker_threads` that run one request each at a time. Used by flavors whose
 * inference blocks the thread it runs on (onnxruntime's `session.run()`), so the event loop stays free.
 */
import type { Transferable, Worker } from 'node:worker_threads';
import { KeelError } from '@keel/core';

/** Message a pool worker posts once it can take requests, or when it could not start. */
export type WorkerStartMessage<Info> = { kind: 'ready'; info: Info } | { kind: 'failed'; message: string };

/** Message a pool worker posts for each request: the result, or the error it raised. */
export type WorkerReplyMessage<Res> =
  | { kind: 'result'; id: number; result: Res }
  | { kind: 'error'; id: number; message: string };

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
  /** Set from the worker's `error` event, reported when it exits. */
  crash: Error | undefined;
}

/**
 * Runs requests on a pool of workers: requests wait in a FIFO queue and go to the first idle worker.
 * A worker that dies (uncaught error, native crash, `terminate()`) is replaced; the request it was
 * running rejects with `INTERNAL_ERROR` and the others are unaffected.
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
  #nextId = 0;
  #closed = false;
  #crashNext = false;
  /** What the first worker reported when it became ready (e.g. the model's inputs). */
  info!: Info;

  private constructor(options: WorkerPoolOptions) {
    this.#options = options;
  }

  /**
   * Starts `size` workers and waits until each is ready.
   * @throws INVALID_PARAMETER_VALUE when a worker reports it could not start (e.g. an unreadable model).
   */
  static async start<Req, Res, Info>(options: WorkerPoolOptions): Promise<WorkerPool<Req, Res, Info>> {
    const pool = new WorkerPool<Req, Res, Info>(options);
    try {
      const infos = await Promise.all(Array.from({ length: options.size }, () => pool.#spawn()));
      pool.info = infos[0] as Info;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Number of live workers (for tests and metrics). */
  get size(): number {
    return this.#slots.size;
  }

  /** Requests waiting for a worker. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /**
   * Queues `request`; resolves with the worker's result. `transfer` lists buffers moved (not copied)
   * to the worker. Rejects with `INTERNAL_ERROR` when the worker dies or the pool closes first.
   */
  run(request: Req, transfer: Transferable[] = []): Promise<Res> {
    if (this.#closed) return Promise.reject(this.#closedError());
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
   * Rejects queued requests and stops every worker: a busy one finishes its native call first, then
   * exits, and its request rejects. Resolves when all have exited. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
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

  #spawn(): Promise<Info> {
    const worker = this.#options.createWorker();
    const slot: Slot<Req, Res> = { worker, ready: false, job: undefined, crash: undefined };
    this.#slots.add(slot);
    return new Promise<Info>((resolveStart, rejectStart) => {
      worker.on('message', (message: WorkerStartMessage<Info> | WorkerReplyMessage<Res>) => {
        switch (message.kind) {
          case 'ready':
            slot.ready = true;
            resolveStart(message.info);
            this.#dispatch();
            return;
          case 'failed':
            // The worker exits on its own after reporting; the exit handler does not respawn it.
            rejectStart(new KeelError('INVALID_PARAMETER_VALUE', message.message));
            return;
          case 'result':
          case 'error': {
            const job = slot.job;
            slot.job = undefined;
            if (message.kind === 'result') job?.resolve(message.result);
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
        // Replace only workers that had started: one that cannot start would fail again in a loop.
        if (!this.#closed && slot.ready) {
          this.#spawn().catch((error: Error) => {
            if (this.#slots.size === 0) for (const job of this.#queue.splice(0)) job.reject(error);
          });
        }
      });
    });
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
