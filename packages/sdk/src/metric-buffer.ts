import { LIMITS } from '@keel/core';
import { type BufferedMetric, MetricFlushError } from './errors.js';

/**
 * When buffered metrics are sent; each documents its default.
 * @example await keel.startRun({ flush: { maxBatch: 200, intervalMs: 250 } });
 */
export interface FlushOptions {
  /** Send as soon as this many points are waiting (at most 1000 go in one `log-batch`). @default 1000 */
  maxBatch?: number;
  /** Send points that have waited this long, even if fewer than `maxBatch`. @default 1000 */
  intervalMs?: number;
}

/** The defaults of {@link FlushOptions}. */
export const DEFAULT_FLUSH_OPTIONS: Readonly<Required<FlushOptions>> = Object.freeze({
  maxBatch: 1000,
  intervalMs: 1000,
});

/**
 * Buffers metric points and sends them in order, in batches, with one send in flight at a time.
 * A send starts when `maxBatch` points are waiting or the oldest waiting point is `intervalMs`
 * old; while a send is in flight new points wait, and go in the next batch as soon as it ends.
 * A failed send is kept (never dropped silently) and thrown by the next {@link flush} as a
 * {@link MetricFlushError} carrying the points that were not written.
 *
 * @example
 * const buffer = new MetricBuffer(runId, (points) => client.logBatch(runId, { metrics: points }));
 * buffer.add({ key: 'loss', value: 0.3, timestamp: Date.now(), step: 1 });
 * await buffer.flush();
 */
export class MetricBuffer {
  private readonly options: Readonly<Required<FlushOptions>>;
  private pending: BufferedMetric[] = [];
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures: { error: unknown; metrics: BufferedMetric[] }[] = [];

  constructor(
    private readonly runId: string,
    private readonly send: (metrics: BufferedMetric[]) => Promise<void>,
    options: FlushOptions = {},
  ) {
    const maxBatch = options.maxBatch ?? DEFAULT_FLUSH_OPTIONS.maxBatch;
    const intervalMs = options.intervalMs ?? DEFAULT_FLUSH_OPTIONS.intervalMs;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`Invalid flush.maxBatch ${maxBatch}: expected a positive integer`);
    }
    if (!Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new RangeError(`Invalid flush.intervalMs ${intervalMs}: expected a non-negative number`);
    }
    this.options = Object.freeze({ maxBatch, intervalMs });
  }

  /** Points waiting to be sent (not counting the batch in flight). */
  get size(): number {
    return this.pending.length;
  }

  /** Whether a failed send is waiting to be reported by {@link flush}. */
  get hasFailure(): boolean {
    return this.failures.length > 0;
  }

  /** Queues a point; returns at once. */
  add(metric: BufferedMetric): void {
    this.pending.push(metric);
    if (this.pending.length >= this.options.maxBatch) this.kick();
    else if (this.timer === undefined && this.inFlight === undefined) {
      // Unref'd: a waiting timer must not keep the process alive; the exit hook flushes instead.
      this.timer = setTimeout(() => this.kick(), this.options.intervalMs).unref();
    }
  }

  /**
   * Sends everything waiting, waits for the send in flight, then throws the failures gathered
   * since the last flush (once) as a {@link MetricFlushError}.
   */
  async flush(): Promise<void> {
    for (;;) {
      this.kick();
      const running = this.inFlight;
      if (running === undefined) break;
      await running;
    }
    const failures = this.failures;
    if (failures.length === 0) return;
    this.failures = [];
    throw new MetricFlushError(
      this.runId,
      failures.flatMap((f) => f.metrics),
      failures[0]?.error,
    );
  }

  /** Stops the timer (points already queued stay until the next flush). */
  stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    this.stopTimer();
    if (this.inFlight !== undefined || this.pending.length === 0) return;
    this.inFlight = this.drain();
  }

  private async drain(): Promise<void> {
    // Yield first, so `inFlight` is assigned before this function can finish.
    await undefined;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, Math.min(this.options.maxBatch, LIMITS.maxMetricsPerBatch));
        try {
          await this.send(batch);
        } catch (error) {
          this.failures.push({ error, metrics: batch });
        }
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}
