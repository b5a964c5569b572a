import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors.js';
import { parseMLmodel, serializeMLmodel } from './mlmodel.js';
import { parseSignature } from './signature.js';

/** Byte for byte what PyYAML's `safe_dump` writes (as MLflow does) for `mlflow.onnx.log_model(onnx_model, "model", signature=..., input_example=...)` (2.x). */
const ONNX_MLMODEL = `artifact_path: model
databricks_runtime: 14.3.x-cpu-ml-scala2.12
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.15.0
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.10.12
mlflow_version: 2.10.2
model_size_bytes: 18042
model_uuid: 5c2b0c7a9d3e4f6a8b1c2d3e4f5a6b7c
run_id: 8f1e7c3a2b4d4e5f9a0b1c2d3e4f5a6b
saved_input_example_info:
  artifact_path: input_example.json
  serving_input_path: serving_input_example.json
  type: ndarray
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 30]},
    "name": "input"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1,
    2]}, "name": "output"}]'
  params: null
utc_time_created: '2024-02-14 09:31:07.412893'
`;

/** Byte for byte what PyYAML's `safe_dump` writes for `mlflow.sklearn.log_model(clf, "model", signature=infer_signature(X, y))`. */
const SKLEARN_MLMODEL = `artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.4.0
mlflow_version: 2.10.2
model_uuid: 0d4c7f2b5a6e4c1f8e9d0a1b2c3d4e5f
run_id: 2a7f4c1e9b8d4a3c8e6f5d4c3b2a1908
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "sepal width (cm)", "required": true}, {"type": "double", "name":
    "petal length (cm)", "required": true}, {"type": "double", "name": "petal width
    (cm)", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}]'
utc_time_created: '2024-02-14 10:02:55.118204'
`;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeelError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return undefined;
}

describe('parseMLmodel', () => {
  it('reads an MLmodel written by mlflow.onnx', () => {
    const model = parseMLmodel(ONNX_MLMODEL);
    expect(model.artifact_path).toBe('model');
    expect(model.run_id).toBe('8f1e7c3a2b4d4e5f9a0b1c2d3e4f5a6b');
    expect(model.utc_time_created).toBe('2024-02-14 09:31:07.412893');
    expect(model.mlflow_version).toBe('2.10.2');
    expect(model.model_size_bytes).toBe(18042);
    expect(model.flavors.onnx).toEqual({
      code: null,
      data: 'model.onnx',
      onnx_version: '1.15.0',
      providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
    });
    expect(model.flavors.python_function).toEqual({
      data: 'model.onnx',
      env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
      loader_module: 'mlflow.onnx',
      python_version: '3.10.12',
    });
    expect(model.saved_input_example_info).toEqual({
      artifact_path: 'input_example.json',
      serving_input_path: 'serving_input_example.json',
      type: 'ndarray',
    });
    expect(model.databricks_runtime).toBe('14.3.x-cpu-ml-scala2.12');
    expect(model.signature?.params).toBeNull();
    expect(parseSignature(model.signature ?? {}).inputs).toEqual({
      kind: 'tensors',
      tensors: [{ type: 'tensor', dtype: 'float32', shape: [-1, 30], name: 'input' }],
    });
  });

  it('reads a sklearn MLmodel with a folded column signature and params', () => {
    const model = parseMLmodel(SKLEARN_MLMODEL);
    const signature = parseSignature(model.signature ?? {});
    expect(signature.inputs).toEqual({
      kind: 'columns',
      columns: [
        { type: 'double', name: 'sepal length (cm)', required: true },
        { type: 'double', name: 'sepal width (cm)', required: true },
        { type: 'double', name: 'petal length (cm)', required: true },
        { type: 'double', name: 'petal width (cm)', required: true },
      ],
    });
    expect(signature.outputs).toEqual({
      kind: 'tensors',
      tensors: [{ type: 'tensor', dtype: 'int64', shape: [-1] }],
    });
    expect(signature.params).toEqual([{ name: 'threshold', type: 'double', default: 0.5, shape: null }]);
  });

  it('keeps an unquoted timestamp as a string and defaults missing flavors to {}', () => {
    const model = parseMLmodel('utc_time_created: 2024-02-14 09:31:07.412893\nrun_id: null\n');
    expect(model.utc_time_created).toBe('2024-02-14 09:31:07.412893');
    expect(model.run_id).toBeNull();
    expect(model.flavors).toEqual({});
  });

  it.each([
    ['flavors: [a\n', 'MLmodel is not valid YAML'],
    ['- a\n- b\n', 'top level'],
    ['', 'top level'],
    ['run_id: a\nrun_id: b\n', 'not valid YAML'],
    ['artifact_path: 12\n', "'artifact_path'"],
    ['mlflow_version: [2]\n', "'mlflow_version'"],
    ['flavors: onnx\n', "'flavors'"],
    ['flavors:\n  onnx: model.onnx\n', "'flavors.onnx'"],
    ['signature: x\n', "'signature'"],
    ['signature:\n  inputs:\n  - type: double\n', "'signature.inputs'"],
    ['signature:\n  outputs: 3\n', "'signature.outputs'"],
    ['saved_input_example_info:\n  type: ndarray\n', "'saved_input_example_info'"],
    ['model_size_bytes: -4\n', "'model_size_bytes'"],
    ['model_size_bytes: 1.5\n', "'model_size_bytes'"],
    ['metadata: [1]\n', "'metadata'"],
  ])('refuses %j with INVALID_PARAMETER_VALUE naming %s', (text, named) => {
    const error = codeOf(() => parseMLmodel(text));
    expect(error).toMatch(/^INVALID_PARAMETER_VALUE: /);
    expect(error).toContain(named);
  });
});

describe('serializeMLmodel', () => {
  it.each([
    ['onnx', ONNX_MLMODEL],
    ['sklearn', SKLEARN_MLMODEL],
  ])('writes the %s MLmodel back byte for byte', (_, text) => {
    expect(serializeMLmodel(parseMLmodel(text))).toBe(text);
  });

  it('sorts keys like PyYAML and quotes strings YAML 1.1 would misread', () => {
    const text = serializeMLmodel({
      run_id: 'abc',
      utc_time_created: '2024-02-14 09:31:07.412893',
      flavors: { js: { version: '3.10', enabled: 'yes', module: 'model.js' } },
      custom_key: { z: 1, a: [1, 2] },
      artifact_path: 'model',
    });
    expect(text).toBe(
      `artifact_path: model
custom_key:
  a:
  - 1
  - 2
  z: 1
flavors:
  js:
    enabled: 'yes'
    module: model.js
    version: '3.10'
run_id: abc
utc_time_created: '2024-02-14 09:31:07.412893'
`,
    );
    expect(parseMLmodel(text).flavors.js).toEqual({ version: '3.10', enabled: 'yes', module: 'model.js' });
  });

  it('folds long plain and quoted values where PyYAML does, and leaves block scalars alone', () => {
    const description =
      'a long plain description of this model that goes on and on past the eighty column limit for sure yes';
    const text = serializeMLmodel({
      flavors: {},
      metadata: { description, notes: `line one\n${'x '.repeat(60)}` },
    });
    // PyYAML 6.0: safe_dump({'p': description}) → 'p: a long … eighty column\n  limit for sure yes\n'
    expect(text).toContain(
      '  description: a long plain description of this model that goes on and on past the\n    eighty column limit for sure yes\n',
    );
    expect(parseMLmodel(text).metadata).toEqual({ description, notes: `line one\n${'x '.repeat(60)}` });
  });

  it.each([
    [
      { note: `${'word '.repeat(14)}word  next tail and more` },
      'flavors: {}\nmetadata:\n  note: word word word word word word word word word word word word word word word  next\n    tail and more\n',
    ],
    [
      { q: `[${'abcd '.repeat(14)}abcd  next tail` },
      "flavors: {}\nmetadata:\n  q: '[abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd abcd  next\n    tail'\n",
    ],
  ])('never folds at a run of spaces, as PyYAML 6.0 does (case %#)', (metadata, expected) => {
    const text = serializeMLmodel({ flavors: {}, metadata });
    expect(text).toBe(expected);
    expect(parseMLmodel(text).metadata).toEqual(metadata);
  });

  it('keeps insertion order with sortKeys: false, unknown keys included', () => {
    const model = parseMLmodel('run_id: r\nzeta: 1\nflavors: {}\nalpha: {b: 2, a: 1}\n');
    expect(Object.keys(model)).toEqual(['run_id', 'zeta', 'flavors', 'alpha']);
    expect(serializeMLmodel(model, { sortKeys: false })).toBe(
      'run_id: r\nzeta: 1\nflavors: {}\nalpha:\n  b: 2\n  a: 1\n',
    );
  });
});
