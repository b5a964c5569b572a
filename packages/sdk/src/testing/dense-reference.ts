// A seeded dense network and its plain-JS forward pass: the reference that exported ONNX models
// (SDK export tests) and the server's onnx flavor (serving tests) must agree with.
import type { DenseLayer, LayerActivation } from '../onnx/export-onnx.js';

/** mulberry32: a tiny seeded generator, so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A rows × cols matrix of values uniform in [-scale, scale). */
export function matrix(next: () => number, rows: number, cols: number, scale: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (next() * 2 - 1) * scale));
}

/** A dense layer with Glorot-like weights, so activations stay O(1) and an absolute tolerance is meaningful. */
export function dense(
  next: () => number,
  nIn: number,
  nOut: number,
  activation: LayerActivation,
): DenseLayer {
  const scale = Math.sqrt(6 / (nIn + nOut));
  return { weights: matrix(next, nOut, nIn, scale), bias: matrix(next, 1, nOut, 0.1)[0] ?? [], activation };
}

/** The JS model an export must agree with, in float64 over float32-rounded parameters. */
export function forward(layers: readonly DenseLayer[], row: readonly number[]): number[] {
  let x = row.map(Math.fround);
  for (const { weights, bias, activation } of layers) {
    const z = weights.map((w, j) =>
      w.reduce((sum, wk, k) => sum + Math.fround(wk) * (x[k] ?? Number.NaN), Math.fround(bias[j] ?? 0)),
    );
    x = activate(z, activation);
  }
  return x;
}

function activate(z: number[], activation: LayerActivation): number[] {
  switch (activation) {
    case 'none':
      return z;
    case 'relu':
      return z.map((v) => Math.max(0, v));
    case 'tanh':
      return z.map(Math.tanh);
    case 'sigmoid':
      return z.map((v) => 1 / (1 + Math.exp(-v)));
    case 'softmax': {
      const max = Math.max(...z);
      const e = z.map((v) => Math.exp(v - max));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / total);
    }
  }
}
