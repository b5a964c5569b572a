import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalidParameter, KeelError, type ModelInput, serializeMLmodel } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DenseLayer, exportMlp } from '../../../sdk/src/onnx/index.js';
import { dense, matrix, rng } from '../../../sdk/src/testing/dense-reference.js';
import { loadModelFromDirectory } from '../models/load-model.js';
import type { Model, ModelOutput } from '../models/model.js';
import { type BatchObserver, MicroBatcher, type MicroBatcherOptions } from './batcher.js';

type Params = Record<string, unknown> | undefined;

/**
 * Doubles every value and adds `params.offset`, keeping names and shapes, so an output reveals exactly
 * which rows it came from. A negative value is a caller's mistake (400); 666 breaks the model (500).
 */
function echo(input: ModelInput, params: Params): ModelOutput {
  const offset = Number(params?.offset ?? 0);
  const values =
    input.kind === 'columns' ? Object.values(input.columns) : Object.values(input.tensors).map((t) => t.data);
  for (const value of values.flat()) {
    if (Number(value) < 0) throw invalidParameter(`negative value ${String(value)}`);
    if (value === 666) throw new KeelError('INTERNAL_ERROR', 'the model broke');
  }
  const f = (v: unknown) => Number(v) * 2 + offset;
  if (input.kind === 'columns') {
    const columns = Object.fromEntries(Object.entries(input.columns).map(([n, c]) => [n, c.map(f)]));
    return { kind: 'columns', columns, rowCount: input.rowCount };
  }
  const tensors = Object.fromEntries(
    Object.entries(input.tensors).map(([n, t]) => [n, { data: t.data.map(f), shape: [...t.shape] }]),
  );
  return { kind: 'tensors', tensors };
}

/** One output row per call, whatever the rows: a model that cannot be batched. */
function total(input: ModelInput): ModelOutput {
  const values =
    input.kind === 'columns' ? Object.values(input.columns) : Object.values(input.tensors).map((t) => t.data);
  const sum = values.flat().reduce((a: number, v) => a + Number(v), 0);
  return { kind: 'tensors', tensors: { total: { data: [sum], shape: [1] } } };
}

/**
 * A real in-process model: records every call and computes `compute(input)` after a macrotask, or
 * only once the test calls `release()` when `gated`.
 */
class RecordingModel {
  readonly calls: { input: ModelInput; params: Params }[] = [];
  gated = false;
  readonly #gates: (() => void)[] = [];

  constructor(readonly compute: (input: ModelInput, params: Params) => ModelOutput = echo) {}

  async predict(input: ModelInput, params?: Record<string, unknown>): Promise<ModelOutput> {
    this.calls.push({ input, params });
    if (this.gated) await new Promise<void>((resolve) => this.#gates.push(resolve));
    else await tick();
    return this.compute(input, params);
  }

  /** Lets every call waiting at the gate finish. */
  release(): void {
    for (const open of this.#gates.splice(0)) open();
  }

  /** Rows of each call, in order. */
  get callRows(): number[] {
    return this.calls.map(({ input }) => rowsOf(input));
  }
}

class RecordingObserver implements BatchObserver {
  readonly batches: [rows: number, requests: number][] = [];
  readonly depths: number[] = [];
  batch(rows: number, requests: number): void {
    this.batches.push([rows, requests]);
  }
  queueDepth(rows: number): void {
    this.depths.push(rows);
  }
}

/**
 * Waits for the end of the current event-loop turn: the batcher's own end-of-turn pump was scheduled
 * (with `setImmediate`) before this one, so it has run when this resolves.
 */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function rowsOf(input: ModelInput): number {
  return input.kind === 'columns' ? input.rowCount : (Object.values(input.tensors)[0]?.shape[0] ?? 0);
}

/** `rows` rows of `width` values, all distinct across ids, so a mixed-up row shows. */
function tensorInput(id: number, rows: number, width = 3, name = 'x'): ModelInput {
  const data = Array.from({ length: rows * width }, (_, i) => id * 1000 + i);
  return { kind: 'tensors', tensors: { [name]: { data, shape: [rows, width] } } };
}

function columnInput(id: number, rows: number, names: string[] = ['a', 'b']): ModelInput {
  const columns = Object.fromEntries(
    names.map((n, c) => [n, Array.from({ length: rows }, (_, r) => id * 1000 + c * 100 + r)]),
  );
  return { kind: 'columns', columns, rowCount: rows };
}

function batcher(model: RecordingModel, options: Partial<MicroBatcherOptions> = {}): MicroBatcher {
  return new MicroBatcher(model, {
    maxBatchSize: 64,
    maxDelayMs: 0,
    maxQueueRows: 1000,
    concurrency: 1,
    ...options,
  });
}

/** Each caller got exactly what the model computes for its own input alone. */
function expectEchoes(results: ModelOutput[], inputs: ModelInput[]): void {
  expect(results).toEqual(inputs.map((input) => echo(input, undefined)));
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof KeelError ? error.code : `not a KeelError: ${String(error)}`),
  );
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

function immediates(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Immediate').length;
}

describe('MicroBatcher', () => {
  it('merges requests that queue while the model is busy into one call, each caller getting its rows', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const observer = new RecordingObserver();
    const b = batcher(model, { observer });
    const inputs = Array.from({ length: 10 }, (_, i) => tensorInput(i + 1, 1 + (i % 4)));
    const outputs = [b.predict(inputs[0] as ModelInput)];
    await tick();
    expect(model.callRows).toEqual([1]);
    // The other nine arrive over three later turns while the only slot is busy: they all wait.
    for (let turn = 0; turn < 3; turn++) {
      for (const input of inputs.slice(1 + turn * 3, 4 + turn * 3)) outputs.push(b.predict(input));
      await tick();
    }
    expect(model.callRows).toEqual([1]);
    expect(b.queuedRows).toBe(inputs.slice(1).reduce((sum, input) => sum + rowsOf(input), 0));
    model.release();
    await tick();
    model.release();
    const results = await Promise.all(outputs);
    expectEchoes(results, inputs);
    expect(model.calls).toHaveLength(2);
    expect(observer.batches).toEqual([
      [1, 1],
      [22, 9],
    ]);
    expect(observer.depths.at(-1)).toBe(0);
    expect(b.queuedRows).toBe(0);
    await b.close();
  });

  it('gives each of 300 concurrent callers of different sizes exactly its own rows', async () => {
    const model = new RecordingModel();
    const observer = new RecordingObserver();
    const b = batcher(model, { maxBatchSize: 16, concurrency: 2, maxQueueRows: 10_000, observer });
    const inputs = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? columnInput(i, 1 + (i % 5)) : tensorInput(i, 1 + (i % 7), 2),
    );
    const results = await Promise.all(inputs.map((input) => b.predict(input)));
    expectEchoes(results, inputs);
    expect(model.calls.length).toBeLessThan(inputs.length);
    expect(Math.max(...model.callRows)).toBeLessThanOrEqual(16);
    expect(observer.batches.reduce((sum, [, requests]) => sum + requests, 0)).toBe(300);
    await b.close();
  });

  it('counts rows, not requests, toward maxBatchSize and cuts a batch at the request that does not fit', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model, { maxBatchSize: 5 });
    const inputs = [2, 2, 2, 1, 3].map((rows, i) => tensorInput(i, rows));
    const outputs = inputs.map((input) => b.predict(input));
    for (let i = 0; i < 3; i++) {
      await tick();
      model.release();
    }
    const results = await Promise.all(outputs);
    expectEchoes(results, inputs);
    // 2 + 2, cut at the third 2-row request (the 1-row one behind it does not jump ahead to make 5);
    // 2 + 1, cut at the 3-row request.
    expect(model.callRows).toEqual([4, 3, 3]);
    await b.close();
  });

  it('runs a request larger than maxBatchSize alone and untouched, never split or refused', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model, { maxBatchSize: 4 });
    const big = tensorInput(9, 10);
    const inputs = [tensorInput(1, 1), tensorInput(2, 2), big, tensorInput(3, 1)];
    const outputs = inputs.map((input) => b.predict(input));
    for (let i = 0; i < 3; i++) {
      await tick();
      model.release();
    }
    const results = await Promise.all(outputs);
    expectEchoes(results, inputs);
    expect(model.callRows).toEqual([3, 10, 1]);
    expect(model.calls[1]?.input).toBe(big);
    await b.close();
  });

  it('with maxBatchSize 1 makes one call per request', async () => {
    const model = new RecordingModel();
    const b = batcher(model, { maxBatchSize: 1, concurrency: 2 });
    const inputs = Array.from({ length: 20 }, (_, i) => tensorInput(i, 1 + (i % 2)));
    const results = await Promise.all(inputs.map((input) => b.predict(input)));
    expectEchoes(results, inputs);
    expect(model.calls.map((call) => call.input)).toEqual(inputs);
    await b.close();
  });

  it('with maxDelayMs 0 merges the requests of one turn into one call at the end of that turn, with no timer', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const baseline = timeouts();
    const b = batcher(model, { concurrency: 2 });
    const inputs = [tensorInput(1, 1), tensorInput(2, 2), tensorInput(3, 1)];
    const outputs = inputs.map((input) => b.predict(input));
    // Nothing is sent before the turn ends, even though both slots are free, and no timer is armed.
    expect(model.calls).toHaveLength(0);
    expect(b.queuedRows).toBe(4);
    expect(timeouts()).toBe(baseline);
    await tick();
    // One call for the whole turn, not one per free slot.
    expect(model.callRows).toEqual([4]);
    expect(b.queuedRows).toBe(0);

    // A request of a later turn takes the free slot at the end of its turn, without waiting for more.
    const later = tensorInput(4, 2);
    const laterOutput = b.predict(later);
    expect(model.calls).toHaveLength(1);
    await tick();
    expect(model.callRows).toEqual([4, 2]);
    expect(timeouts()).toBe(baseline);
    model.release();
    expectEchoes(await Promise.all([...outputs, laterOutput]), [...inputs, later]);
    await b.close();
  });

  it('with maxDelayMs 0 delays a request on an idle model by at most one turn', async () => {
    const model = new RecordingModel();
    const b = batcher(model);
    const inputs = Array.from({ length: 5 }, (_, i) => tensorInput(i, 1 + (i % 3)));
    const outputs: Promise<ModelOutput>[] = [];
    for (const [i, input] of inputs.entries()) {
      outputs.push(b.predict(input));
      expect(model.calls).toHaveLength(i);
      await tick();
      // Sent at the end of the turn it arrived in, alone: nothing held it back for company.
      expect(model.calls).toHaveLength(i + 1);
      expect(model.calls[i]?.input).toBe(input);
      await outputs[i];
    }
    expectEchoes(await Promise.all(outputs), inputs);
    await b.close();
  });

  it('holds an incomplete batch for maxDelayMs, then sends what it has', async () => {
    const model = new RecordingModel();
    const b = batcher(model, { maxDelayMs: 200, maxBatchSize: 10 });
    const started = performance.now();
    const inputs = [tensorInput(1, 1), tensorInput(2, 2), tensorInput(3, 1)];
    const outputs = inputs.map((input) => b.predict(input));
    await tick();
    expect(model.calls).toHaveLength(0);
    expect(b.queuedRows).toBe(4);
    const results = await Promise.all(outputs);
    expect(performance.now() - started).toBeGreaterThanOrEqual(199);
    expectEchoes(results, inputs);
    expect(model.callRows).toEqual([4]);
    await b.close();
  });

  it('sends a held batch as soon as an arrival fills it to maxBatchSize', async () => {
    const model = new RecordingModel();
    const b = batcher(model, { maxDelayMs: 600_000, maxBatchSize: 4 });
    const baseline = timeouts();
    const outputs = [b.predict(tensorInput(1, 1)), b.predict(tensorInput(2, 2))];
    await tick();
    expect(model.calls).toHaveLength(0);
    expect(timeouts()).toBe(baseline + 1);
    outputs.push(b.predict(tensorInput(3, 1)));
    // It leaves at the end of the arrival's turn, not when the (ten-minute) timer fires.
    await tick();
    expect(model.callRows).toEqual([4]);
    expect(timeouts()).toBe(baseline);
    await Promise.all(outputs);
    // A request that cannot join the held batch (too many rows) makes it leave at once too.
    const held = b.predict(tensorInput(4, 3));
    await tick();
    expect(model.calls).toHaveLength(1);
    const after = b.predict(tensorInput(5, 2));
    await tick();
    expect(model.callRows).toEqual([4, 3]);
    const afterCode = codeOf(after);
    await held;
    // Alone in the queue again, `after` is held for the (long) delay until close() turns it away.
    await tick();
    expect(model.calls).toHaveLength(2);
    await b.close();
    expect(await afterCode).toBe('TEMPORARILY_UNAVAILABLE');
  });

  it('never merges incompatible requests and keeps FIFO order among them', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model);
    const inputs: ModelInput[] = [
      tensorInput(1, 1),
      columnInput(2, 1, ['a', 'b']),
      columnInput(3, 2, ['b', 'a']),
      columnInput(4, 1, ['a', 'c']),
      columnInput(5, 1, ['a', 'b']),
      tensorInput(6, 2, 3),
      tensorInput(7, 1, 4),
      tensorInput(8, 1, 4, 'y'),
      { kind: 'tensors', tensors: { x: { data: [7], shape: [] } } },
      tensorInput(9, 1, 4, 'y'),
    ];
    const outputs = inputs.map((input) => b.predict(input));
    for (let i = 0; i < 9; i++) {
      await tick();
      model.release();
    }
    const results = await Promise.all(outputs);
    expectEchoes(results, inputs);
    expect(model.calls.map(({ input }) => rowsOf(input))).toEqual([1, 3, 1, 1, 2, 1, 1, 0, 1]);
    // Columns with the same names in another order merge, in the first request's column order.
    const merged = model.calls[1]?.input;
    expect(merged).toEqual({
      kind: 'columns',
      columns: { a: [2000, 3100, 3101], b: [2100, 3000, 3001] },
      rowCount: 3,
    });
    expect(Object.keys(merged?.kind === 'columns' ? merged.columns : {})).toEqual(['a', 'b']);
    await b.close();
  });

  it('merges only requests whose params are deep-equal, and passes those params to the model', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model);
    const requests: [ModelInput, Params][] = [
      [tensorInput(1, 1), undefined],
      [tensorInput(2, 1), { offset: 1, extra: { k: [1, 2] } }],
      [tensorInput(3, 2), { extra: { k: [1, 2] }, offset: 1 }],
      [tensorInput(4, 1), { offset: 2 }],
      [tensorInput(5, 1), {}],
      [tensorInput(6, 1), undefined],
    ];
    const outputs = requests.map(([input, params]) => b.predict(input, params));
    for (let i = 0; i < 4; i++) {
      await tick();
      model.release();
    }
    const results = await Promise.all(outputs);
    results.forEach((output, i) => {
      const [input, params] = requests[i] as [ModelInput, Params];
      expect(output).toEqual(echo(input, params));
    });
    expect(model.callRows).toEqual([1, 3, 1, 2]);
    expect(model.calls.map((call) => call.params)).toEqual([undefined, requests[1]?.[1], { offset: 2 }, {}]);
    await b.close();
  });

  it('runs the requests one by one when the output cannot be split by rows, and stops merging', async () => {
    const model = new RecordingModel(total);
    model.gated = true;
    const observer = new RecordingObserver();
    const b = batcher(model, { observer });
    const inputs = [1, 2, 3, 4].map((id) => tensorInput(id, 2));
    const outputs = inputs.map((input) => b.predict(input));
    for (let i = 0; i < 5; i++) {
      await tick();
      model.release();
    }
    const results = await Promise.all(outputs);
    expect(results).toEqual(inputs.map((input) => total(input)));
    expect(model.callRows).toEqual([8, 2, 2, 2, 2]);
    expect(observer.batches.map(([, requests]) => requests)).toEqual([4, 1, 1, 1, 1]);
    const later = [5, 6, 7].map((id) => tensorInput(id, 1));
    const pending = later.map((input) => b.predict(input));
    for (let i = 0; i < 3; i++) {
      await tick();
      model.release();
    }
    const laterResults = await Promise.all(pending);
    expect(laterResults).toEqual(later.map((input) => total(input)));
    expect(model.callRows.slice(5)).toEqual([1, 1, 1]);
    await b.close();
  });

  it('retries each request alone when a merged call fails with a 4xx, so only the bad one fails', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model);
    const bad: ModelInput = { kind: 'tensors', tensors: { x: { data: [1, -2, 3], shape: [1, 3] } } };
    const inputs = [tensorInput(1, 1), tensorInput(2, 2), bad, tensorInput(3, 1)];
    const outputs = inputs.map((input) => b.predict(input));
    const codes = Promise.all(outputs.map(codeOf));
    for (let i = 0; i < 6; i++) {
      await tick();
      model.release();
    }
    expect(await codes).toEqual(['resolved', 'resolved', 'INVALID_PARAMETER_VALUE', 'resolved']);
    expect(await outputs[1]).toEqual(echo(inputs[1] as ModelInput, undefined));
    expect(await outputs[3]).toEqual(echo(inputs[3] as ModelInput, undefined));
    expect(model.callRows).toEqual([5, 1, 2, 1, 1]);
    await b.close();
  });

  it('rejects every request of a merged call that fails with a 5xx, without retrying', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model);
    const broken: ModelInput = { kind: 'tensors', tensors: { x: { data: [1, 666, 3], shape: [1, 3] } } };
    const inputs = [tensorInput(1, 1), tensorInput(2, 2), broken, tensorInput(3, 1)];
    // The first runs alone (its own turn); the other three merge into one call that breaks.
    const outputs = [b.predict(inputs[0] as ModelInput)];
    await tick();
    outputs.push(...inputs.slice(1).map((input) => b.predict(input)));
    const codes = Promise.all(outputs.map(codeOf));
    for (let i = 0; i < 2; i++) {
      await tick();
      model.release();
    }
    expect(await codes).toEqual(['resolved', 'INTERNAL_ERROR', 'INTERNAL_ERROR', 'INTERNAL_ERROR']);
    expect(model.callRows).toEqual([1, 4]);
    await b.close();
  });

  it('copes with a model that throws synchronously, even with thousands of requests queued', async () => {
    const model = new RecordingModel();
    model.gated = true;
    let calls = 0;
    const throwing: Pick<Model, 'predict'> = {
      predict(input, params) {
        calls++;
        if (calls === 1) return model.predict(input, params);
        throw invalidParameter('this model refuses everything after its first call');
      },
    };
    const b = new MicroBatcher(throwing, {
      maxBatchSize: 1,
      maxDelayMs: 0,
      maxQueueRows: 100_000,
      concurrency: 1,
    });
    const first = b.predict(tensorInput(1, 1));
    const rest = Array.from({ length: 20_000 }, (_, i) => b.predict(tensorInput(i, 1)));
    const codes = Promise.all(rest.map(codeOf));
    // Calls start at the end of the turn: only then is the first one waiting at the gate.
    await tick();
    expect(calls).toBe(1);
    model.release();
    expect(await first).toEqual(echo(tensorInput(1, 1), undefined));
    expect(new Set(await codes)).toEqual(new Set(['INVALID_PARAMETER_VALUE']));
    expect(calls).toBe(20_001);
    expect(b.queuedRows).toBe(0);
    await b.close();
  });

  it('rejects at once with 503 when the queue is full, without growing it', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const observer = new RecordingObserver();
    const b = batcher(model, { maxQueueRows: 5, maxBatchSize: 100, observer });
    const running = b.predict(tensorInput(1, 4));
    await tick();
    expect(model.callRows).toEqual([4]);
    const queued = [b.predict(tensorInput(2, 2)), b.predict(tensorInput(3, 3))];
    expect(b.queuedRows).toBe(5);
    const refused = Array.from({ length: 50 }, (_, i) => b.predict(tensorInput(10 + i, 1)));
    expect(await Promise.all(refused.map(codeOf))).toEqual(refused.map(() => 'TEMPORARILY_UNAVAILABLE'));
    expect(b.queuedRows).toBe(5);
    expect(Math.max(...observer.depths)).toBe(5);
    model.release();
    await tick();
    model.release();
    await Promise.all([running, ...queued]);
    expect(model.callRows).toEqual([4, 5]);

    // The rows of one turn count in full even while the slot is free: they wait for the turn's end.
    const busy = b.predict(tensorInput(4, 1));
    expect(await codeOf(b.predict(tensorInput(7, 5)))).toBe('TEMPORARILY_UNAVAILABLE');
    await tick();
    expect(model.callRows).toEqual([4, 5, 1]);
    // A request larger than the whole queue is still taken when the queue is empty, and runs alone.
    const huge = b.predict(tensorInput(5, 12));
    expect(b.queuedRows).toBe(12);
    expect(await codeOf(b.predict(tensorInput(6, 1)))).toBe('TEMPORARILY_UNAVAILABLE');
    model.release();
    await tick();
    model.release();
    expect(await huge).toEqual(echo(tensorInput(5, 12), undefined));
    await busy;
    await b.close();
  });

  it('close() rejects queued requests with 503, lets calls in flight finish, and leaves no timer', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model, { maxDelayMs: 600_000, concurrency: 2 });
    const baseline = timeouts();
    const inFlight = b.predict(tensorInput(1, 100), { offset: 1 });
    const other = b.predict(tensorInput(2, 100), { offset: 2 });
    const held = [b.predict(tensorInput(3, 1)), b.predict(tensorInput(4, 1))];
    await tick();
    expect(model.callRows).toEqual([100, 100]);
    expect(timeouts()).toBe(baseline);
    const gate = new RecordingModel();
    gate.gated = true;
    const c = batcher(gate, { maxDelayMs: 600_000 });
    const waiting = c.predict(tensorInput(5, 1));
    await tick();
    expect(timeouts()).toBe(baseline + 1);
    await c.close();
    expect(await codeOf(waiting)).toBe('TEMPORARILY_UNAVAILABLE');
    expect(timeouts()).toBe(baseline);
    // Closed within the turn requests arrived in: their one end-of-turn dispatch is cancelled too.
    const quiet = immediates();
    const d = batcher(gate);
    const dropped = [d.predict(tensorInput(6, 1)), d.predict(tensorInput(7, 1))];
    expect(immediates()).toBe(quiet + 1);
    await d.close();
    expect(immediates()).toBe(quiet);
    expect(await Promise.all(dropped.map(codeOf))).toEqual([
      'TEMPORARILY_UNAVAILABLE',
      'TEMPORARILY_UNAVAILABLE',
    ]);
    await tick();
    expect(gate.calls).toHaveLength(0);

    // Both slots are busy, so the held requests wait in the queue.
    expect(b.queuedRows).toBe(2);
    let closed = false;
    const closing = b.close().then(() => {
      closed = true;
    });
    expect(await Promise.all(held.map(codeOf))).toEqual([
      'TEMPORARILY_UNAVAILABLE',
      'TEMPORARILY_UNAVAILABLE',
    ]);
    expect(b.queuedRows).toBe(0);
    expect(await codeOf(b.predict(tensorInput(6, 1)))).toBe('TEMPORARILY_UNAVAILABLE');
    await tick();
    expect(closed).toBe(false);
    model.release();
    await closing;
    expect(await inFlight).toEqual(echo(tensorInput(1, 100), { offset: 1 }));
    expect(await other).toEqual(echo(tensorInput(2, 100), { offset: 2 }));
    expect(model.calls).toHaveLength(2);
    expect(timeouts()).toBe(baseline);
    await b.close();
  });

  it('close() still answers the callers of a merged call in flight that has to be retried one by one', async () => {
    const model = new RecordingModel();
    model.gated = true;
    const b = batcher(model);
    const bad: ModelInput = { kind: 'tensors', tensors: { x: { data: [-1, 2, 3], shape: [1, 3] } } };
    const inputs = [tensorInput(1, 1), tensorInput(2, 1), bad, tensorInput(3, 2)];
    const first = codeOf(b.predict(inputs[0] as ModelInput));
    await tick();
    const codes = Promise.all([first, ...inputs.slice(1).map((input) => codeOf(b.predict(input)))]);
    await tick();
    model.release();
    await tick();
    expect(model.callRows).toEqual([1, 4]);
    const closing = b.close();
    expect(await codeOf(b.predict(tensorInput(4, 1)))).toBe('TEMPORARILY_UNAVAILABLE');
    for (let i = 0; i < 4; i++) {
      model.release();
      await tick();
    }
    await closing;
    expect(await codes).toEqual(['resolved', 'resolved', 'INVALID_PARAMETER_VALUE', 'resolved']);
    expect(model.callRows).toEqual([1, 4, 1, 1, 2]);
  });

  it('refuses out-of-range options, naming the option', () => {
    const model = new RecordingModel();
    expect(() => batcher(model, { maxBatchSize: 0 })).toThrow(/maxBatchSize/);
    expect(() => batcher(model, { concurrency: 1.5 })).toThrow(/concurrency/);
    expect(() => batcher(model, { maxDelayMs: -1 })).toThrow(/maxDelayMs/);
    expect(() => batcher(model, { maxQueueRows: Number.NaN })).toThrow(/maxQueueRows/);
  });
});

describe('MicroBatcher with an ONNX model', () => {
  const next = rng(7);
  const layers: DenseLayer[] = [
    dense(next, 30, 64, 'relu'),
    dense(next, 64, 64, 'relu'),
    dense(next, 64, 2, 'softmax'),
  ];
  let dir: string;
  let model: Model;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-batcher-'));
    await writeFile(join(dir, 'model.onnx'), exportMlp({ layers }));
    await writeFile(join(dir, 'MLmodel'), serializeMLmodel({ flavors: { onnx: { data: 'model.onnx' } } }));
    model = await loadModelFromDirectory(dir, { workers: 2, intraOpNumThreads: 1 });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the same outputs batched as unbatched, to 1e-6', async () => {
    const gen = rng(8);
    const inputs: ModelInput[] = Array.from({ length: 120 }, (_, i) => {
      const rows = matrix(gen, 1 + (i % 4), 30, 2);
      return { kind: 'tensors', tensors: { input: { data: rows.flat(), shape: [rows.length, 30] } } };
    });
    const unbatched: ModelOutput[] = [];
    for (const input of inputs) unbatched.push(await model.predict(input));
    const observer = new RecordingObserver();
    const b = new MicroBatcher(model, {
      maxBatchSize: 32,
      maxDelayMs: 0,
      maxQueueRows: 10_000,
      concurrency: 2,
      observer,
    });
    const batched = await Promise.all(inputs.map((input) => b.predict(input)));
    await b.close();
    expect(observer.batches.length).toBeLessThan(inputs.length);
    expect(Math.max(...observer.batches.map(([rows]) => rows))).toBeLessThanOrEqual(32);
    batched.forEach((output, i) => {
      const expected = unbatched[i];
      if (output.kind !== 'tensors' || expected?.kind !== 'tensors') throw new Error('expected tensors');
      const got = output.tensors.output;
      const want = expected.tensors.output;
      expect(got?.shape).toEqual(want?.shape);
      const worst = Math.max(
        ...(got?.data ?? []).map((value, j) => Math.abs(value - (want?.data[j] ?? Number.NaN))),
      );
      expect(worst).toBeLessThan(1e-6);
    });
  });
});
