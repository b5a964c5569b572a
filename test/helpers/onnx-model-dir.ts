// A real ONNX model directory for the serving end-to-end tests: a small seeded MLP exported with the
// SDK's `exportMlp`, its MLmodel written with core's `serializeMLmodel`, and the JS forward pass the
// served predictions must match.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { serializeMLmodel, serializeSignature } from '../../packages/core/src/index.js';
import { type DenseLayer, exportMlp } from '../../packages/sdk/src/onnx/index.js';
import { dense, forward, rng } from '../../packages/sdk/src/testing/dense-reference.js';

/** Input features per row. */
export const FEATURES = 4;
/** Output classes per row (softmax probabilities). */
export const CLASSES = 3;

const next = rng(7);
const LAYERS: DenseLayer[] = [dense(next, FEATURES, 8, 'relu'), dense(next, 8, CLASSES, 'softmax')];

/** The probabilities the served model must answer for `row` (float32 precision). */
export function expectedProbabilities(row: readonly number[]): number[] {
  return forward(LAYERS, row);
}

/** Absolute tolerance between onnxruntime's float32 result and the JS forward pass. */
export const TOLERANCE = 1e-5;

/**
 * Writes `model.onnx` and `MLmodel` (onnx flavor, tensor signature `float32 [-1, 4]` → `[-1, 3]`)
 * into `dir`, creating it; returns `dir`.
 */
export async function writeOnnxModelDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), exportMlp({ layers: LAYERS }));
  const tensor = (name: string, width: number) => ({
    type: 'tensor' as const,
    dtype: 'float32' as const,
    shape: [-1, width],
    name,
  });
  await writeFile(
    join(dir, 'MLmodel'),
    serializeMLmodel({
      artifact_path: 'model',
      flavors: { onnx: { data: 'model.onnx', onnx_version: '1.17.0', providers: ['CPUExecutionProvider'] } },
      signature: serializeSignature({
        inputs: { kind: 'tensors', tensors: [tensor('input', FEATURES)] },
        outputs: { kind: 'tensors', tensors: [tensor('output', CLASSES)] },
      }),
    }),
  );
  return dir;
}

/** Asserts served probabilities (`rows × 3`, nested arrays) match the JS forward pass. */
export function expectProbabilities(served: unknown, rows: readonly (readonly number[])[]): void {
  expect(Array.isArray(served)).toBe(true);
  const answered = served as unknown[];
  expect(answered).toHaveLength(rows.length);
  rows.forEach((row, r) => {
    const got = answered[r] as number[];
    const want = expectedProbabilities(row);
    expect(got).toHaveLength(want.length);
    want.forEach((value, j) => {
      expect(Math.abs((got[j] as number) - value)).toBeLessThan(TOLERANCE);
    });
  });
}
