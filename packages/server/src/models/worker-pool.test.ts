import { Worker } from 'node:worker_threads';
import { KeelError } from '@keel/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RestartBackoff } from './restart-backoff.js';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

/**
 * A pool worker for tests: `workerData.start` is `ready`, `throw` (dies before ready), `fail` (reports
 * it cannot start) or `hang` (never ready). Requests: `{op: 'double', x}`, `{op: 'exit'}` (dies),
 * `{op: 'reject'}` (answers an error coded BAD_REQUEST), `{op: 'error'}` (answers an uncoded error).
 */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.start === 'throw') throw new Error('cannot start: broken model');
if (workerData.start === 'fail') {
  parentPort.postMessage({ kind: 'failed', message: 'model file unreadable' });
  process.exit(1);
}
if (workerData.start === 'hang') setInterval(() => undefined, 1000);
else parentPort.postMessage({ kind: 'ready', info: { pid: workerData.n } });
parentPort.on('message', (m) => {
  if (m.kind === 'stop') process.exit(m.code);
  const r = m.request;
  if (r.op === 'exit') process.exit(1);
  if (r.op === 'reject') return parentPort.postMessage({ kind: 'error', id: m.id, code: 'BAD_REQUEST', message: 'bad input' });
  if (r.op === 'error') return parentPort.postMessage({ kind: 'error', id: m.id, message: 'oops' });
  parentPort.postMessage({ kind: 'result', id: m.id, result: r.x * 2 });
});
`;

interface Req {
  op: 'double' | 'exit' | 'reject' | 'error';
  x?: number;
}

const pools: WorkerPool<Req, number, unknown>[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** A pool whose workers start as `mode.start` says at the moment each is created. */
async function startPool(
  mode: { start: string; spawned: number },
  options: Partial<WorkerPoolOptions> = {},
): Promise<WorkerPool<Req, number, unknown>> {
  const pool = await WorkerPool.start<Req, number, unknown>({
    size: 1,
    label: 'test worker',
    createWorker: () => {
      mode.spawned++;
      return new Worker(SOURCE, { eval: true, workerData: { start: mode.start, n: mode.spawned } });
    },
    ...options,
  });
  pools.push(pool);
  return pool;
}

async function rejection(promise: Promise<unknown>, code: string): Promise<KeelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeelError);
  expect((error as KeelError).code).toBe(code);
  return error as KeelError;
}

describe('RestartBackoff', () => {
  it('restarts the first failure at once, then doubles the delay up to the cap', () => {
    const now = 0;
    const backoff = new RestartBackoff(
      { initialDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000 },
      () => now,
    );
    const delays = Array.from({ length: 7 }, () => backoff.recordFailure());
    expect(delays).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
    expect(backoff.recentFailures).toBe(7);
  });

  it('forgets failures older than the window', () => {
    let now = 0;
    const backoff = new RestartBackoff({ initialDelayMs: 100, windowMs: 1000 }, () => now);
    backoff.recordFailure();
    backoff.recordFailure();
    now = 1500;
    expect(backoff.recentFailures).toBe(0);
    expect(backoff.recordFailure()).toBe(0);
  });

  it('forgets every failure on reset (a request answered since)', () => {
    const backoff = new RestartBackoff({ initialDelayMs: 100 }, () => 0);
    backoff.recordFailure();
    backoff.recordFailure();
    backoff.reset();
    expect(backoff.recordFailure()).toBe(0);
  });

  it('refuses a negative policy value', () => {
    expect(() => new RestartBackoff({ maxDelayMs: -1 })).toThrow(RangeError);
  });
});

describe('WorkerPool', () => {
  it('replaces a worker that dies mid-request at once and serves the next request', async () => {
    const mode = { start: 'ready', spawned: 0 };
    const pool = await startPool(mode);
    expect(await pool.run({ op: 'double', x: 2 })).toBe(4);
    const error = await rejection(pool.run({ op: 'exit' }), 'INTERNAL_ERROR');
    expect(error.message).toMatch(/exited while running the request/);
    expect(await pool.run({ op: 'double', x: 3 })).toBe(6);
    expect(mode.spawned).toBe(2);
    expect(pool.ready).toBe(true);
  });

  it('replaces at once a worker that crashes again after answering requests since its last crash', async () => {
    const mode = { start: 'ready', spawned: 0 };
    const pool = await startPool(mode, { restart: { initialDelayMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      await rejection(pool.run({ op: 'exit' }), 'INTERNAL_ERROR');
      expect(await pool.run({ op: 'double', x: i })).toBe(2 * i);
    }
    expect(mode.spawned).toBe(4);
  });

  it('passes an error code from the worker through, and labels uncoded errors INTERNAL_ERROR', async () => {
    const pool = await startPool({ start: 'ready', spawned: 0 });
    expect((await rejection(pool.run({ op: 'reject' }), 'BAD_REQUEST')).message).toBe('bad input');
    expect((await rejection(pool.run({ op: 'error' }), 'INTERNAL_ERROR')).message).toBe('test worker: oops');
  });

  it.each([
    ['throws at start', 'throw', 'cannot start: broken model'],
    ['reports it cannot start', 'fail', 'model file unreadable'],
  ])(
    'backs off restarting a worker that %s, answering 503 meanwhile, and recovers',
    async (_what, start, why) => {
      const mode = { start: 'ready', spawned: 0 };
      const pool = await startPool(mode, { restart: { initialDelayMs: 300, maxDelayMs: 300 } });
      mode.start = start;
      // The worker dies; its replacement starts at once and fails, the next one waits 300 ms.
      await rejection(pool.run({ op: 'exit' }), 'INTERNAL_ERROR');
      await expect.poll(() => pool.size).toBe(0);
      expect(pool.ready).toBe(false);
      const error = await rejection(pool.run({ op: 'double', x: 1 }), 'TEMPORARILY_UNAVAILABLE');
      expect(error.message).toContain(why);
      // Not a tight loop: at most a handful of attempts in a second.
      const before = mode.spawned;
      await new Promise((r) => setTimeout(r, 1000));
      expect(mode.spawned - before).toBeLessThanOrEqual(5);
      mode.start = 'ready';
      await expect.poll(() => pool.ready, { timeout: 5000 }).toBe(true);
      expect(await pool.run({ op: 'double', x: 5 })).toBe(10);
    },
  );

  it('rejects requests queued for a replacement that fails to start instead of leaving them waiting', async () => {
    const mode = { start: 'ready', spawned: 0 };
    const pool = await startPool(mode, { restart: { initialDelayMs: 5000 } });
    mode.start = 'throw';
    const crashed = pool.run({ op: 'exit' });
    const queued = pool.run({ op: 'double', x: 1 });
    await rejection(crashed, 'INTERNAL_ERROR');
    await rejection(queued, 'TEMPORARILY_UNAVAILABLE');
  });

  it('fails the start of a worker that is not ready within startTimeoutMs', async () => {
    const error = await rejection(
      startPool({ start: 'hang', spawned: 0 }, { startTimeoutMs: 300 }),
      'INTERNAL_ERROR',
    );
    expect(error.message).toContain('not ready within 300 ms');
  });

  it('close() cancels a pending restart; later requests reject', async () => {
    const mode = { start: 'ready', spawned: 0 };
    const pool = await startPool(mode, { restart: { initialDelayMs: 200 } });
    mode.start = 'throw';
    await rejection(pool.run({ op: 'exit' }), 'INTERNAL_ERROR');
    await expect.poll(() => pool.size).toBe(0);
    await pool.close();
    const spawned = mode.spawned;
    await new Promise((r) => setTimeout(r, 400));
    expect(mode.spawned).toBe(spawned);
    expect(pool.ready).toBe(false);
    await rejection(pool.run({ op: 'double', x: 1 }), 'INTERNAL_ERROR');
  });
});
