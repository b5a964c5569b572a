/**
 * Adaptive micro-batching for the model server (issue 5), with the semantics of Triton's dynamic
 * batcher (serving-and-monitoring.md §2.2): concurrent requests are merged into one model call up to a
 * number of rows, with no timer wait by default (the requests of one event-loop turn go together, as in
 * DataLoader), behind a bounded queue.
 */
import { invalidParameter, KeelError, type ModelInput } from '@keel/core';
import type { Model, ModelOutput } from '../models/model.js';
import { type BatchProfile, batchProfile, countRows, mergeInputs, splitOutput } from './batch-rows.js';

/** Receives the batcher's measurements (the server's Prometheus metrics). Must not throw. */
export interface BatchObserver {
  /** One model call of `rows` rows merged from `requests` requests. */
  batch(rows: number, requests: number): void;
  /** Rows now waiting in the queue (called whenever that number changes). */
  queueDepth(rows: number): void;
}

/**
 * Options of {@link MicroBatcher}. Rows (not requests) are the unit of every limit. `keel models serve`
 * defaults: `maxBatchSize` from `--batch-max-size`, `maxDelayMs` 0, `concurrency` = the model's workers.
 */
export interface MicroBatcherOptions {
  /** Rows (not requests) per model call; 1 disables batching (each request its own call). */
  maxBatchSize: number;
  /**
   * Triton's `max_queue_delay`: how long an incomplete batch may be held for more requests while a
   * model call slot is free.
   *
   * 0 = no waiting: the requests that arrived in the same event-loop turn are merged and dispatched at
   * the end of that turn (one `setImmediate`, no timer), so an idle model gets each turn's requests as
   * one call and a request is never delayed past the end of the turn it arrived in while a slot is
   * free. Requests that arrive while every slot is busy wait for the next call to finish and are merged
   * then. > 0: a batch that could still grow is held until its oldest request has waited this long.
   */
  maxDelayMs: number;
  /**
   * Bounded queue: rows waiting (not yet in a model call); a request that would take the queue past
   * it is rejected at once with TEMPORARILY_UNAVAILABLE (503). A request larger than this limit is
   * still accepted when the queue is empty (otherwise it could never run), so the queue holds at most
   * `max(maxQueueRows, one request)` rows. Every request waits at least until the end of the turn it
   * arrived in, so the rows of one turn count in full even while call slots are free: keep this well
   * above `concurrency × maxBatchSize`.
   */
  maxQueueRows: number;
  /** Model calls in flight at once (= the model's worker count). */
  concurrency: number;
  /** Gets batch sizes and queue depth. */
  observer?: BatchObserver;
}

/** A request waiting for (or retrying) its model call. */
interface Pending {
  input: ModelInput;
  params: Record<string, unknown> | undefined;
  /** `undefined`: runs alone (unbatchable input, or a retry after a failed merged call). */
  profile: BatchProfile | undefined;
  /** Rows counted against {@link MicroBatcherOptions.maxQueueRows}. */
  rows: number;
  /** `performance.now()` when it was queued. */
  queuedAt: number;
  resolve: (output: ModelOutput) => void;
  reject: (error: unknown) => void;
}

/**
 * Merges concurrent `predict` calls into fewer model calls and gives each caller exactly its own rows.
 *
 * - Requests queue FIFO. At the end of every event-loop turn in which requests arrived, and whenever a
 *   model call finishes, batches are taken from the head of the queue while fewer than `concurrency`
 *   calls run: consecutive compatible requests (same input kind, same column names or tensor names
 *   with equal trailing dims, deep-equal `params`) while their rows fit `maxBatchSize`. The batch is cut
 *   at the first request that does not fit, so nobody is overtaken. A request larger than
 *   `maxBatchSize`, a 0-d tensor and a malformed input run alone, unchanged — never split or refused.
 * - `maxDelayMs` 0 never waits: the requests of one event-loop turn are merged and dispatched at the
 *   end of that turn (or as soon as a call finishes, if every slot was busy). Otherwise a batch that
 *   could still grow is held until its oldest request has waited `maxDelayMs`; a batch that is full,
 *   or cannot grow because the next request does not fit, leaves at the end of the turn that made it so.
 * - The output is split by rows back to the callers. An output that cannot be split (no first
 *   dimension equal to the batch's rows) makes the batch's requests run one by one, and the batcher
 *   stops merging for good: the model does not batch.
 * - A merged call rejected with a 4xx `KeelError` (some row is bad) is retried request by request, so
 *   only the bad request fails; any other error rejects every request of the batch.
 *
 * @example
 * const batcher = new MicroBatcher(model, { maxBatchSize: 64, maxDelayMs: 0, maxQueueRows: 4096, concurrency: 2 });
 * const output = await batcher.predict({ kind: 'columns', columns: { x: [1, 2] }, rowCount: 2 });
 * await batcher.close();
 */
export class MicroBatcher {
  readonly #model: Pick<Model, 'predict'>;
  readonly #options: Readonly<MicroBatcherOptions>;
  readonly #queue: Pending[] = [];
  #queuedRows = 0;
  #running = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Set while a pump is scheduled (`setImmediate`) for the end of the current event-loop turn. */
  #turn: ReturnType<typeof setImmediate> | undefined;
  /** Cleared once an output could not be split: from then on every request runs alone. */
  #merge = true;
  #closed = false;
  #pumping = false;
  readonly #idle: (() => void)[] = [];

  /** @throws INVALID_PARAMETER_VALUE naming an option that is out of range. */
  constructor(model: Pick<Model, 'predict'>, options: MicroBatcherOptions) {
    this.#model = model;
    this.#options = resolveOptions(options);
  }

  /**
   * Queues one request and resolves with the model's output for its rows only.
   * Rejects at once with TEMPORARILY_UNAVAILABLE when the queue is full or the batcher is closed, and
   * with the model's own error when its call fails.
   */
  predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput> {
    if (this.#closed) return Promise.reject(closedError());
    const rows = countRows(input);
    const { maxQueueRows } = this.#options;
    if (this.#queue.length > 0 && this.#queuedRows + rows > maxQueueRows) {
      return Promise.reject(
        new KeelError(
          'TEMPORARILY_UNAVAILABLE',
          `The model server is overloaded: ${this.#queuedRows} rows are waiting (limit ${maxQueueRows}); retry later`,
        ),
      );
    }
    return new Promise<ModelOutput>((resolve, reject) => {
      const profile = batchProfile(input, params);
      this.#queue.push({ input, params, profile, rows, queuedAt: performance.now(), resolve, reject });
      this.#setQueuedRows(this.#queuedRows + rows);
      // Dispatch at the end of this event-loop turn, not now: requests whose bodies arrived in the same
      // turn join one batch without any timer wait.
      this.#turn ??= setImmediate(() => {
        this.#turn = undefined;
        this.#pump();
      });
    });
  }

  /** Rows waiting for a model call (not counting rows in calls that are running). */
  get queuedRows(): number {
    return this.#queuedRows;
  }

  /**
   * Rejects every queued request with TEMPORARILY_UNAVAILABLE, refuses new ones, and resolves once the
   * model calls in flight have settled: their callers get their answers, including the one-by-one
   * retries of a merged call that failed with a 4xx or could not be split. Leaves no timer or
   * immediate behind.
   * Idempotent; does not close the model.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#clearTimer();
      if (this.#turn !== undefined) clearImmediate(this.#turn);
      this.#turn = undefined;
      const waiting = this.#queue.splice(0);
      if (waiting.length > 0) this.#setQueuedRows(0);
      for (const pending of waiting) pending.reject(closedError());
    }
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /**
   * Starts batches while a call slot is free; arms the delay timer when the head batch is held. Runs
   * at the end of a turn in which requests arrived (`#turn`), when the timer fires, and synchronously
   * when a call finishes.
   */
  #pump(): void {
    // A model that throws synchronously settles a call inside this loop and calls back here; the loop
    // already re-reads the state, and recursing would grow the stack with the queue.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      this.#startBatches();
    } finally {
      this.#pumping = false;
    }
  }

  #startBatches(): void {
    this.#clearTimer();
    const now = performance.now();
    while (this.#running < this.#options.concurrency && this.#queue.length > 0) {
      const size = this.#nextBatchSize(now);
      if (size === 0) {
        const head = this.#queue[0] as Pending;
        const wait = Math.max(1, Math.ceil(head.queuedAt + this.#options.maxDelayMs - now));
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      const batch = this.#queue.splice(0, size);
      this.#setQueuedRows(this.#queuedRows - batch.reduce((sum, pending) => sum + pending.rows, 0));
      void this.#run(batch);
    }
  }

  /** How many requests from the head form the next batch; 0 to hold it for `maxDelayMs`. */
  #nextBatchSize(now: number): number {
    const { maxBatchSize, maxDelayMs } = this.#options;
    const head = (this.#queue[0] as Pending).profile;
    if (!this.#merge || head === undefined || head.rows >= maxBatchSize) return 1;
    let rows = head.rows;
    let size = 1;
    for (; size < this.#queue.length; size++) {
      const next = this.#queue[size]?.profile;
      // The batch cannot grow past this request without overtaking it, so waiting gains nothing.
      if (next === undefined || next.key !== head.key || rows + next.rows > maxBatchSize) return size;
      rows += next.rows;
    }
    if (rows === maxBatchSize || now - (this.#queue[0] as Pending).queuedAt >= maxDelayMs) return size;
    return 0;
  }

  async #run(batch: Pending[]): Promise<void> {
    this.#running++;
    try {
      const [first] = batch as [Pending, ...Pending[]];
      const rows = batch.reduce((sum, pending) => sum + (pending.profile?.rows ?? pending.rows), 0);
      this.#options.observer?.batch(rows, batch.length);
      if (batch.length === 1) {
        // Alone, the input goes to the model untouched and the output comes back unsplit.
        first.resolve(await this.#model.predict(first.input, first.params));
      } else {
        await this.#runMerged(batch, first.params);
      }
    } catch (error) {
      // Settling an already settled caller is a no-op, so this only reaches the ones still waiting.
      for (const pending of batch) pending.reject(error);
    } finally {
      this.#running--;
      // Synchronously, not at the end of the turn: the freed slot takes what queued while every slot
      // was busy, which waiting would only delay. Requests of this turn that it leaves behind still
      // have `#turn` (or the timer) armed to dispatch them.
      this.#pump();
      if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #runMerged(batch: Pending[], params: Record<string, unknown> | undefined): Promise<void> {
    let output: ModelOutput;
    try {
      output = await this.#model.predict(mergeInputs(batch.map((pending) => pending.input)), params);
    } catch (error) {
      if (error instanceof KeelError && error.status >= 400 && error.status < 500) this.#runAlone(batch);
      else for (const pending of batch) pending.reject(error);
      return;
    }
    const parts = splitOutput(
      output,
      batch.map((pending) => pending.profile?.rows ?? 0),
    );
    if (parts === undefined) {
      this.#merge = false;
      this.#runAlone(batch);
      return;
    }
    for (const [i, pending] of batch.entries()) pending.resolve(parts[i] as ModelOutput);
  }

  /**
   * Puts a batch's requests back at the head of the queue, each to run alone, in their order. Also
   * after close(): they were in flight, so they get their answers, and close() waits for them.
   */
  #runAlone(batch: Pending[]): void {
    this.#queue.unshift(...batch.map((pending) => ({ ...pending, profile: undefined })));
    this.#setQueuedRows(this.#queuedRows + batch.reduce((sum, pending) => sum + pending.rows, 0));
  }

  #setQueuedRows(rows: number): void {
    this.#queuedRows = rows;
    this.#options.observer?.queueDepth(rows);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function closedError(): KeelError {
  return new KeelError('TEMPORARILY_UNAVAILABLE', 'The model server is shutting down');
}

function resolveOptions(options: MicroBatcherOptions): Readonly<MicroBatcherOptions> {
  const { maxBatchSize, maxDelayMs, maxQueueRows, concurrency } = options;
  const checks: [name: string, value: number, ok: boolean, expected: string][] = [
    ['maxBatchSize', maxBatchSize, Number.isInteger(maxBatchSize) && maxBatchSize >= 1, 'a positive integer'],
    ['maxDelayMs', maxDelayMs, Number.isFinite(maxDelayMs) && maxDelayMs >= 0, 'a non-negative number'],
    [
      'maxQueueRows',
      maxQueueRows,
      Number.isInteger(maxQueueRows) && maxQueueRows >= 0,
      'a non-negative integer',
    ],
    ['concurrency', concurrency, Number.isInteger(concurrency) && concurrency >= 1, 'a positive integer'],
  ];
  for (const [name, value, ok, expected] of checks) {
    if (!ok) throw invalidParameter(`${name} must be ${expected}, got ${JSON.stringify(value)}`);
  }
  return Object.freeze({ ...options });
}
