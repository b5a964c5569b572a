import { describe, expect, it } from 'vitest';
import type { BufferedMetric } from './errors.js';
import { MetricBuffer } from './metric-buffer.js';
import { waitFor } from './testing/test-server.js';

const point = (step: number): BufferedMetric => ({ key: 'k', value: step, timestamp: 1, step });

/** A send function that takes `delayMs` per call and records batches and concurrency. */
function recorder(delayMs: number, fail?: (batch: BufferedMetric[]) => boolean) {
  const batches: number[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (batch: BufferedMetric[]) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    inFlight -= 1;
    batches.push(batch.map((m) => m.step));
    if (fail?.(batch)) throw new Error('server said no');
  };
  return { send, batches, maxInFlight: () => maxInFlight };
}

describe('MetricBuffer', () => {
  it('keeps one send in flight, batching what arrives meanwhile, in order', async () => {
    const r = recorder(20);
    const buffer = new MetricBuffer('run', r.send, { maxBatch: 5, intervalMs: 1 });
    for (let step = 0; step < 103; step += 1) {
      buffer.add(point(step));
      if (step % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await buffer.flush();
    expect(r.maxInFlight()).toBe(1);
    expect(r.batches.flat()).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect(Math.max(...r.batches.map((b) => b.length))).toBeLessThanOrEqual(5);
  });

  it('sends when maxBatch points wait, else after intervalMs', async () => {
    const r = recorder(0);
    const buffer = new MetricBuffer('run', r.send, { maxBatch: 3, intervalMs: 80 });
    buffer.add(point(0));
    buffer.add(point(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(r.batches).toEqual([]);
    buffer.add(point(2));
    await waitFor(() => r.batches.length === 1);
    expect(r.batches).toEqual([[0, 1, 2]]);
    buffer.add(point(3));
    const start = Date.now();
    await waitFor(() => r.batches.length === 2);
    expect(Date.now() - start).toBeGreaterThanOrEqual(60);
    expect(buffer.size).toBe(0);
  });

  it('caps a batch at 1000 points whatever maxBatch says', async () => {
    const r = recorder(0);
    const buffer = new MetricBuffer('run', r.send, { maxBatch: 5000, intervalMs: 60_000 });
    for (let step = 0; step < 2500; step += 1) buffer.add(point(step));
    await buffer.flush();
    expect(r.batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
  });

  it('keeps going after a failed send and reports it once, with the unsent points', async () => {
    const r = recorder(0, (batch) => batch.some((m) => m.step === 1));
    const buffer = new MetricBuffer('run-x', r.send, { maxBatch: 2, intervalMs: 60_000 });
    for (let step = 0; step < 6; step += 1) buffer.add(point(step));
    await waitFor(() => r.batches.length === 3);
    expect(buffer.hasFailure).toBe(true);
    const error = await buffer.flush().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'MetricFlushError', runId: 'run-x' });
    expect((error as { metrics: BufferedMetric[] }).metrics.map((m) => m.step)).toEqual([0, 1]);
    expect(r.batches).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    await expect(buffer.flush()).resolves.toBeUndefined();
  });

  it('validates its options', () => {
    const send = async () => undefined;
    expect(() => new MetricBuffer('r', send, { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new MetricBuffer('r', send, { intervalMs: -1 })).toThrow(RangeError);
  });
});
