import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeScoringRequest,
  enforceSignature,
  httpStatusOf,
  KeelError,
  type ModelInput,
  serializeMLmodel,
  serializeSignature,
} from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DenseLayer, exportMlp, onnxModelInfo } from '../../../../sdk/src/onnx/index.js';
import { dense, forward, matrix, rng } from '../../../../sdk/src/testing/dense-reference.js';
import { loadModelFromDirectory } from '../load-model.js';
import type { Model, ModelOutput } from '../model.js';
import type { OnnxModel } from './onnx-model.js';

const next = rng(42);
const LAYERS: DenseLayer[] = [
  dense(next, 30, 64, 'relu'),
  dense(next, 64, 64, 'relu'),
  dense(next, 64, 2, 'softmax'),
];
const TOLERANCE = 1e-5;

function rowsInput(rows: number[][]): ModelInput {
  return { kind: 'tensors', tensors: { input: { data: rows.flat(), shape: [rows.length, 30] } } };
}

function expectMatches(output: ModelOutput, rows: number[][]): void {
  if (output.kind !== 'tensors') throw new Error('expected tensors');
  const out = output.tensors.output;
  expect(out?.shape).toEqual([rows.length, 2]);
  rows.forEach((row, r) => {
    forward(LAYERS, row).forEach((expected, j) => {
      expect(Math.abs((out?.data[r * 2 + j] ?? Number.NaN) - expected)).toBeLessThan(TOLERANCE);
    });
  });
}

async function expectKeelError(promise: Promise<unknown>, code: string): Promise<KeelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeelError);
  expect((error as KeelError).code).toBe(code);
  return error as KeelError;
}

describe('onnx flavor', () => {
  let dir: string;
  let model: Model;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-onnx-'));
    const bytes = exportMlp({ layers: LAYERS });
    const info = onnxModelInfo(bytes);
    const spec = (t: (typeof info.inputs)[number]) => ({
      type: 'tensor' as const,
      dtype: 'float32' as const,
      shape: t.shape ?? [],
      name: t.name,
    });
    const signature = serializeSignature({
      inputs: { kind: 'tensors', tensors: info.inputs.map(spec) },
      outputs: { kind: 'tensors', tensors: info.outputs.map(spec) },
    });
    await writeFile(join(dir, 'model.onnx'), bytes);
    await writeFile(
      join(dir, 'MLmodel'),
      serializeMLmodel({
        artifact_path: 'model',
        flavors: {
          onnx: { data: 'model.onnx', onnx_version: '1.17.0', providers: ['CPUExecutionProvider'] },
        },
        signature,
      }),
    );
    model = await loadModelFromDirectory(dir, { workers: 2, intraOpNumThreads: 1 });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads metadata and signature from the directory', () => {
    expect(model.metadata.flavor).toBe('onnx');
    expect(model.metadata.name).toBe(join(dir).split('/').at(-1));
    expect(model.signature?.inputs).toEqual({
      kind: 'tensors',
      tensors: [{ type: 'tensor', dtype: 'float32', shape: [-1, 30], name: 'input' }],
    });
    expect((model as OnnxModel).workerCount).toBe(2);
  });

  it('matches the JS forward pass for a scoring request checked against the signature', async () => {
    const rows = matrix(rng(1), 50, 30, 3);
    const request = decodeScoringRequest({ inputs: rows });
    const signature = model.signature ?? {};
    const output = await model.predict(enforceSignature(request.input, signature));
    expectMatches(output, rows);
  });

  it('feeds columns as one [rows, columns] tensor', async () => {
    const rows = matrix(rng(2), 4, 30, 1);
    const columns = Object.fromEntries(
      Array.from({ length: 30 }, (_, c) => [`f${c}`, rows.map((r) => r[c])]),
    );
    expectMatches(await model.predict({ kind: 'columns', columns, rowCount: 4 }), rows);
  });

  it('gives each of 200 concurrent callers its own rows back', async () => {
    const gen = rng(3);
    const batches = Array.from({ length: 200 }, (_, i) => matrix(gen, 1 + (i % 3), 30, 2));
    const outputs = await Promise.all(batches.map((rows) => model.predict(rowsInput(rows))));
    outputs.forEach((output, i) => {
      expectMatches(output, batches[i] ?? []);
    });
  });

  it('keeps the event loop free during a long batch', async () => {
    const rows = 100_000;
    const data = new Array<number>(rows * 30).fill(0.5);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    try {
      const output = await model.predict({
        kind: 'tensors',
        tensors: { input: { data, shape: [rows, 30] } },
      });
      expect(output.kind === 'tensors' && output.tensors.output?.shape).toEqual([rows, 2]);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    // Conversion in the main thread takes a slice of the time; the session run must not.
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
    expect(ticks).toBeGreaterThan(3);
  });

  it('fails the request of a worker killed mid-flight, replaces the worker and serves the next ones', async () => {
    const onnx = model as OnnxModel;
    const big = new Array<number>(50_000 * 30).fill(0.1);
    onnx.crashNextRequestForTesting();
    const inFlight = model.predict({
      kind: 'tensors',
      tensors: { input: { data: big, shape: [50_000, 30] } },
    });
    const error = await expectKeelError(inFlight, 'INTERNAL_ERROR');
    expect(error.message).toMatch(/exited while running the request/);
    const rows = matrix(rng(4), 3, 30, 1);
    const after = await Promise.all([1, 2, 3, 4].map(() => model.predict(rowsInput(rows))));
    for (const output of after) expectMatches(output, rows);
    await expect.poll(() => onnx.workerCount).toBe(2);
  });

  it('rejects a wrong input shape with a 400 naming the input', async () => {
    const request = decodeScoringRequest({ inputs: [[1, 2, 3]] });
    const signature = model.signature ?? {};
    let error: unknown;
    try {
      enforceSignature(request.input, signature);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeelError);
    expect((error as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
    expect(httpStatusOf((error as KeelError).code)).toBe(400);
    expect((error as KeelError).message).toContain("'input'");
    // Without the signature check, the flavor itself refuses the shape before running it.
    const direct = await expectKeelError(
      model.predict({ kind: 'tensors', tensors: { input: { data: [1, 2, 3], shape: [1, 3] } } }),
      'INVALID_PARAMETER_VALUE',
    );
    expect(direct.message).toContain("'input'");
  });

  it('close() ends every worker, failing the request in flight, and later predicts reject', async () => {
    const own = (await loadModelFromDirectory(dir, { workers: 2 })) as OnnxModel;
    expect(own.workerCount).toBe(2);
    const big = new Array<number>(50_000 * 30).fill(0.1);
    const inFlight = own.predict({ kind: 'tensors', tensors: { input: { data: big, shape: [50_000, 30] } } });
    const settled = inFlight.then(
      () => 'resolved',
      (e: unknown) => (e as KeelError).code,
    );
    await own.close();
    // Either it finished before the stop reached the worker, or it was cut off cleanly.
    expect(['resolved', 'INTERNAL_ERROR']).toContain(await settled);
    expect(own.workerCount).toBe(0);
    await expectKeelError(own.predict(rowsInput([new Array(30).fill(0)])), 'INTERNAL_ERROR');
  });
});

describe('loadModelFromDirectory', () => {
  it('refuses an MLmodel without a supported flavor, listing the supported ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-flavor-'));
    try {
      await writeFile(
        join(dir, 'MLmodel'),
        serializeMLmodel({ flavors: { sklearn: { pickled_model: 'm.pkl' } } }),
      );
      const error = await expectKeelError(loadModelFromDirectory(dir), 'INVALID_PARAMETER_VALUE');
      expect(error.message).toContain('supported: [onnx, js, process]');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an onnx data file that onnxruntime cannot load, leaving no worker behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-flavor-'));
    try {
      await writeFile(join(dir, 'MLmodel'), serializeMLmodel({ flavors: { onnx: { data: 'model.onnx' } } }));
      await writeFile(join(dir, 'model.onnx'), 'not an onnx model');
      const error = await expectKeelError(loadModelFromDirectory(dir), 'INVALID_PARAMETER_VALUE');
      expect(error.message).toMatch(/Cannot load ONNX model/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a directory without the onnx data file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-flavor-'));
    try {
      await writeFile(join(dir, 'MLmodel'), serializeMLmodel({ flavors: { onnx: { data: 'model.onnx' } } }));
      await expectKeelError(loadModelFromDirectory(dir), 'INVALID_PARAMETER_VALUE');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
