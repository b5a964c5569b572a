import { KeelError } from '@keel/core';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dense, forward, matrix, rng } from '../testing/dense-reference.js';
import {
  type DenseLayer,
  exportLinearModel,
  exportMlp,
  type LayerActivation,
  ONNX_IR_VERSION,
  ONNX_OPSET,
} from './export-onnx.js';
import { onnxModelInfo } from './onnx-model-info.js';
import { modelProtoType } from './onnx-schema.js';

/** Runs `bytes` in onnxruntime on `rows` and returns the max |ort − js| over every output value. */
async function maxAbsDiff(
  bytes: Uint8Array,
  layers: readonly DenseLayer[],
  rows: number[][],
): Promise<number> {
  const nIn = rows[0]?.length ?? 0;
  const session = await InferenceSession.create(bytes);
  try {
    const input = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, nIn]);
    const result = await session.run({ input });
    const output = result.output;
    if (!output) throw new Error('no output tensor');
    const nOut = layers.at(-1)?.weights.length ?? 0;
    expect(output.type).toBe('float32');
    expect(output.dims).toEqual([rows.length, nOut]);
    const data = output.data as Float32Array;
    let worst = 0;
    rows.forEach((row, r) => {
      forward(layers, row).forEach((expected, j) => {
        worst = Math.max(worst, Math.abs((data[r * nOut + j] ?? Number.NaN) - expected));
      });
    });
    return worst;
  } finally {
    await session.release();
  }
}

interface DecodedGraph {
  ir_version: number;
  producer_name: string;
  opset_import: { domain?: string; version: number }[];
  graph: {
    node: { op_type: string; input: string[]; output: string[] }[];
    initializer: { name: string; dims: number[]; data_type: number; float_data: number[] }[];
  };
}

function decode(bytes: Uint8Array): DecodedGraph {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), { longs: Number, arrays: true }) as DecodedGraph;
}

const TOLERANCE = 1e-5;

describe('exportLinearModel', () => {
  const next = rng(7);
  const rows = matrix(next, 9, 5, 3);

  it.each([
    ['sigmoid', 1],
    ['softmax', 3],
    ['none', 2],
  ] as const)('%s with %i outputs matches the JS model in onnxruntime', async (activation, nOut) => {
    const weights = matrix(next, nOut, 5, 1);
    const bias = matrix(next, 1, nOut, 0.5)[0] ?? [];
    const bytes = exportLinearModel({ weights, bias, activation });
    const diff = await maxAbsDiff(bytes, [{ weights, bias, activation }], rows);
    expect(diff).toBeLessThan(TOLERANCE);
  });

  it('writes one Gemm and the activation, with float32 [-1, n] input and output', () => {
    const weights = [
      [0.5, -1.25, 2],
      [1, 0, -0.5],
    ];
    const bytes = exportLinearModel({
      weights,
      bias: [0.1, -0.2],
      activation: 'softmax',
      inputName: 'x',
      outputName: 'proba',
    });
    const model = decode(bytes);
    expect(model.ir_version).toBe(ONNX_IR_VERSION);
    expect(model.producer_name).toBe('keel');
    expect(model.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(model.graph.node.map((n) => [n.op_type, n.input, n.output])).toEqual([
      ['Gemm', ['x', 'layers.0.weight', 'layers.0.bias'], ['layers.0.linear']],
      ['Softmax', ['layers.0.linear'], ['proba']],
    ]);
    expect(model.graph.initializer).toMatchObject([
      { name: 'layers.0.weight', data_type: 1, dims: [2, 3], float_data: [0.5, -1.25, 2, 1, 0, -0.5] },
      {
        name: 'layers.0.bias',
        data_type: 1,
        dims: [2],
        float_data: [expect.closeTo(0.1, 6), expect.closeTo(-0.2, 6)],
      },
    ]);
    expect(onnxModelInfo(bytes)).toEqual({
      irVersion: ONNX_IR_VERSION,
      producerName: 'keel',
      producerVersion: expect.any(String),
      opsets: [{ domain: '', version: ONNX_OPSET }],
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3], dimNames: ['batch', null] }],
      outputs: [{ name: 'proba', dtype: 'float32', shape: [-1, 2], dimNames: ['batch', null] }],
    });
  });

  it('ends in the Gemm itself when there is no activation', async () => {
    const bytes = exportLinearModel({ weights: [[2, 3]], bias: [1], activation: 'none' });
    expect(decode(bytes).graph.node.map((n) => [n.op_type, n.output])).toEqual([['Gemm', ['output']]]);
    const session = await InferenceSession.create(bytes);
    const result = await session.run({
      input: new Tensor('float32', Float32Array.from([1, 1, 0.5, -1]), [2, 2]),
    });
    await session.release();
    expect(Array.from(result.output?.data as Float32Array)).toEqual([6, -1]);
  });
});

describe('exportMlp', () => {
  const shapes = (next: () => number, last: LayerActivation): DenseLayer[] => [
    dense(next, 30, 64, 'relu'),
    dense(next, 64, 64, 'tanh'),
    dense(next, 64, 2, last),
  ];

  it.each(['softmax', 'none', 'sigmoid'] as const)(
    '30 → 64 → 64 → 2 (%s) matches the JS model in onnxruntime',
    async (last) => {
      const next = rng(42);
      const layers = shapes(next, last);
      const rows = matrix(next, 16, 30, 2);
      const diff = await maxAbsDiff(exportMlp({ layers }), layers, rows);
      expect(diff).toBeLessThan(TOLERANCE);
    },
  );

  it('chains Gemm + activation per layer and reports its signature', async () => {
    const layers = shapes(rng(1), 'softmax');
    const bytes = exportMlp({ layers });
    const model = decode(bytes);
    expect(model.graph.node.map((n) => n.op_type)).toEqual([
      'Gemm',
      'Relu',
      'Gemm',
      'Tanh',
      'Gemm',
      'Softmax',
    ]);
    expect(model.graph.initializer.map((t) => [t.name, t.dims])).toEqual([
      ['layers.0.weight', [64, 30]],
      ['layers.0.bias', [64]],
      ['layers.1.weight', [64, 64]],
      ['layers.1.bias', [64]],
      ['layers.2.weight', [2, 64]],
      ['layers.2.bias', [2]],
    ]);
    const info = onnxModelInfo(bytes);
    expect(info.inputs).toEqual([
      { name: 'input', dtype: 'float32', shape: [-1, 30], dimNames: ['batch', null] },
    ]);
    expect(info.outputs).toEqual([
      { name: 'output', dtype: 'float32', shape: [-1, 2], dimNames: ['batch', null] },
    ]);
    const session = await InferenceSession.create(bytes);
    expect([session.inputNames, session.outputNames]).toEqual([['input'], ['output']]);
    await session.release();
  });
});

describe('shape and value errors', () => {
  const ok = (): DenseLayer => ({ weights: [[1, 2]], bias: [0], activation: 'relu' });

  it.each([
    [
      'layers that do not chain',
      () => exportMlp({ layers: [ok(), { weights: [[1, 2]], bias: [0], activation: 'none' }] }),
      'layers[1].weights',
    ],
    [
      'a bias of the wrong length',
      () => exportMlp({ layers: [{ ...ok(), bias: [0, 1] }] }),
      'layers[0].bias',
    ],
    [
      'a ragged weights matrix',
      () => exportMlp({ layers: [{ ...ok(), weights: [[1, 2], [3]], bias: [0, 0] }] }),
      'layers[0].weights[1]',
    ],
    [
      'a NaN weight',
      () => exportMlp({ layers: [{ ...ok(), weights: [[1, Number.NaN]] }] }),
      'layers[0].weights[0][1]',
    ],
    [
      'a value past float32',
      () => exportLinearModel({ weights: [[1e39]], bias: [0], activation: 'none' }),
      'weights[0][0]',
    ],
    [
      'an unknown activation',
      () => exportLinearModel({ weights: [[1]], bias: [0], activation: 'relu' as 'none' }),
      'activation',
    ],
    ['no layers', () => exportMlp({ layers: [] }), 'layers'],
    [
      'an empty weights matrix',
      () => exportLinearModel({ weights: [], bias: [], activation: 'none' }),
      'weights',
    ],
    [
      'equal input and output names',
      () =>
        exportLinearModel({ weights: [[1]], bias: [0], activation: 'none', inputName: 'x', outputName: 'x' }),
      'outputName',
    ],
  ])('rejects %s, naming the field', (_, run, field) => {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KeelError);
    expect((caught as KeelError).code).toBe('INVALID_PARAMETER_VALUE');
    expect(
      (caught as KeelError).message.startsWith(field) || (caught as KeelError).message.includes(`${field} `),
    ).toBe(true);
  });

  it('rejects bytes that are not an ONNX model', () => {
    expect(() => onnxModelInfo(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER_VALUE' }),
    );
  });
});
