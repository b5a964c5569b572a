import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors.js';
import { inferSignature, parseSignature, type Signature, serializeSignature } from './signature.js';

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeelError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

/** Strings exactly as `json.dumps` writes them in MLflow's `ModelSignature.to_dict()`. */
const IRIS_INPUTS =
  '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type": "long", "name": "n", "required": false}]';
const TENSOR_OUTPUTS = '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]';
const PARAMS =
  '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}, {"name": "ids", "type": "long", "default": [1, 2], "shape": [-1]}]';

describe('parseSignature / serializeSignature', () => {
  it('decodes columns, tensors and params', () => {
    const signature = parseSignature({ inputs: IRIS_INPUTS, outputs: TENSOR_OUTPUTS, params: PARAMS });
    expect(signature).toEqual({
      inputs: {
        kind: 'columns',
        columns: [
          { type: 'double', name: 'sepal length (cm)', required: true },
          { type: 'long', name: 'n', required: false },
        ],
      },
      outputs: { kind: 'tensors', tensors: [{ type: 'tensor', dtype: 'int64', shape: [-1] }] },
      params: [
        { name: 'threshold', type: 'double', default: 0.5, shape: null },
        { name: 'ids', type: 'long', default: [1, 2], shape: [-1] },
      ],
    });
  });

  it('round-trips to the exact json.dumps strings MLflow writes', () => {
    const encoded = { inputs: IRIS_INPUTS, outputs: TENSOR_OUTPUTS, params: PARAMS };
    expect(serializeSignature(parseSignature(encoded))).toEqual(encoded);
  });

  it('defaults required to true and writes absent parts as null', () => {
    const signature = parseSignature({ inputs: '[{"type": "string", "name": "text"}]', outputs: null });
    expect(signature).toEqual({
      inputs: { kind: 'columns', columns: [{ type: 'string', name: 'text', required: true }] },
    });
    expect(serializeSignature(signature)).toEqual({
      inputs: '[{"type": "string", "name": "text", "required": true}]',
      outputs: null,
      params: null,
    });
  });

  it.each([
    [{ inputs: '[{"type": ' }, "'signature.inputs' is not valid JSON"],
    [{ inputs: '{"type": "double"}' }, "'signature.inputs' must be a JSON list"],
    [{ outputs: '[3]' }, 'signature.outputs[0] must be an object'],
    [
      { inputs: '[{"type": "double"}, {"type": "decimal", "name": "x"}]' },
      'signature.inputs[1]: unsupported column type "decimal"',
    ],
    [{ inputs: '[{"type": "double", "name": 4}]' }, "signature.inputs[0]: 'name' must be a string"],
    [
      { inputs: '[{"type": "double", "required": "yes"}]' },
      "signature.inputs[0]: 'required' must be a boolean",
    ],
    [{ inputs: '[{"type": "tensor"}]' }, "signature.inputs[0]: a tensor needs a 'tensor-spec'"],
    [
      { inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "complex64", "shape": [-1]}}]' },
      'signature.inputs[0]: unsupported tensor dtype "complex64"',
    ],
    [
      { inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-2]}}]' },
      "signature.inputs[0]: 'shape'",
    ],
    [
      { inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": "28x28"}}]' },
      "signature.inputs[0]: 'shape'",
    ],
    [
      {
        inputs:
          '[{"type": "double", "name": "a"}, {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]',
      },
      "'signature.inputs' mixes column and tensor specs",
    ],
    [
      {
        inputs:
          '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}, "name": "a"}, {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]',
      },
      'several tensors must all be named',
    ],
    [{ params: '[{"type": "double"}]' }, "signature.params[0] must be an object with a string 'name'"],
    [{ params: '[{"name": "k", "type": "int"}]' }, "signature.params[0] ('k'): unsupported type"],
    [{ params: '{}' }, "'signature.params' must be a JSON list"],
  ])('refuses %j', (encoded, message) => {
    const error = failure(() => parseSignature(encoded));
    expect(error).toMatch(/^INVALID_PARAMETER_VALUE: /);
    expect(error).toContain(message);
  });
});

describe('inferSignature', () => {
  it('infers columns from rows of objects, with optional columns and int/float widening', () => {
    const signature = inferSignature(
      [
        { age: 42, income: 55000, city: 'Lyon', active: true },
        { age: 37, income: 61250.5, active: false, joined: new Date('2020-01-01') },
      ],
      [0, 1],
    );
    expect(signature).toEqual<Signature>({
      inputs: {
        kind: 'columns',
        columns: [
          { type: 'long', name: 'age', required: true },
          { type: 'double', name: 'income', required: true },
          { type: 'string', name: 'city', required: false },
          { type: 'boolean', name: 'active', required: true },
          { type: 'datetime', name: 'joined', required: false },
        ],
      },
      outputs: { kind: 'tensors', tensors: [{ type: 'tensor', dtype: 'int64', shape: [-1] }] },
    });
  });

  it('widens a column to double whichever kind of number comes first', () => {
    expect(inferSignature({ x: [1.5, 2], y: [2, 1.5] }).inputs).toEqual({
      kind: 'columns',
      columns: [
        { type: 'double', name: 'x', required: true },
        { type: 'double', name: 'y', required: true },
      ],
    });
  });

  it('infers columns from a columnar object, binary included', () => {
    expect(
      inferSignature({ x: [1.5, null], blob: [new Uint8Array([1]), new Uint8Array([2])] }).inputs,
    ).toEqual({
      kind: 'columns',
      columns: [
        { type: 'double', name: 'x', required: false },
        { type: 'binary', name: 'blob', required: true },
      ],
    });
  });

  it.each([
    [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      'int64',
      [-1, 3],
    ],
    [
      [
        [1, 2.5],
        [3, 4],
      ],
      'float64',
      [-1, 2],
    ],
    [
      [
        [[0.1], [0.2]],
        [[0.3], [0.4]],
      ],
      'float64',
      [-1, 2, 1],
    ],
    [[new Float32Array([1, 2]), new Float32Array([3, 4])], 'float32', [-1, 2]],
    [[new Float64Array([1, 2])], 'float64', [-1, 2]],
    [[new Int32Array([1, 2])], 'int32', [-1, 2]],
    [[new BigInt64Array([1n, 2n])], 'int64', [-1, 2]],
    [[[true], [false]], 'bool', [-1, 1]],
    [[0.1, 0.9], 'float64', [-1]],
  ])('infers a tensor, case %#', (example, dtype, shape) => {
    expect(inferSignature(example).inputs).toEqual({
      kind: 'tensors',
      tensors: [{ type: 'tensor', dtype, shape }],
    });
  });

  it('infers named tensors from an object of nested arrays', () => {
    expect(inferSignature({ image: [[[0, 1]]], mask: [[1.5, 2]] }).inputs).toEqual({
      kind: 'tensors',
      tensors: [
        { type: 'tensor', dtype: 'int64', shape: [-1, 1, 2], name: 'image' },
        { type: 'tensor', dtype: 'float64', shape: [-1, 2], name: 'mask' },
      ],
    });
  });

  it('infers an unnamed string column from a list of labels', () => {
    expect(inferSignature([{ a: 1 }], ['cat', 'dog']).outputs).toEqual({
      kind: 'columns',
      columns: [{ type: 'string', required: true }],
    });
  });

  it.each([
    [[{ a: 1 }, { a: 'x' }], "column 'a': it mixes long and string"],
    [[{ a: null }, { a: null }], "column 'a': all values are null"],
    [[{ a: { nested: 1 } }], "column 'a' at row 0: unsupported value"],
    [{ a: 1 }, "column 'a' must be a list"],
    [{}, 'no columns'],
    [[[1, 2], [3]], 'ragged'],
    [[[1, 2], 3], 'ragged'],
    [[[1], [true]], 'mixes numbers and booleans'],
    [[[true], [1]], 'mixes numbers and booleans'],
    [[new Float32Array([1]), new Float64Array([1])], 'mixes float32 and float64'],
    [[new Float32Array([1, 2]), [1.5, 2]], 'mixes typed arrays and plain numbers'],
    [[[1.5, 2], new Float32Array([1, 2])], 'mixes float64 and float32'],
    [[[]], 'expected rows of objects'],
    ['text', 'expected rows of objects'],
    [[], 'expected rows of objects'],
  ])('refuses %j', (example, message) => {
    const error = failure(() => inferSignature(example));
    expect(error).toMatch(/^INVALID_PARAMETER_VALUE: /);
    expect(error).toContain(message);
  });
});
