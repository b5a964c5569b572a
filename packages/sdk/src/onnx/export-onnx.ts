import { invalidParameter, KEEL_VERSION } from '@keel/core';
import { modelProtoType, ONNX_ATTRIBUTE, ONNX_FLOAT } from './onnx-schema.js';

/** ONNX IR version of the files Keel writes (ONNX 1.10+, every onnxruntime since 1.10 reads it). */
export const ONNX_IR_VERSION = 8;

/** Opset of the default (`ai.onnx`) domain used by exported graphs: Gemm, Relu, Tanh, Sigmoid, Softmax(axis). */
export const ONNX_OPSET = 17;

/** Name of the symbolic batch dimension: inputs and outputs are `[batch, features]`, i.e. `[-1, n]`. */
export const ONNX_BATCH_DIM = 'batch';

/** Activation applied after a linear (logistic, multinomial) model's affine map. */
export type LinearActivation = 'none' | 'sigmoid' | 'softmax';

/** Activation applied after a dense layer's affine map; `softmax` normalizes over the features axis. */
export type LayerActivation = 'none' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';

const LAYER_ACTIVATIONS: readonly LayerActivation[] = ['none', 'relu', 'tanh', 'sigmoid', 'softmax'];
const LINEAR_ACTIVATIONS: readonly LinearActivation[] = ['none', 'sigmoid', 'softmax'];

/**
 * One fully connected layer: `activation(x · weightsᵀ + bias)`, the layout of PyTorch's `nn.Linear`.
 * @example const layer: DenseLayer = { weights: [[0.5, -1]], bias: [0.1], activation: 'sigmoid' };
 */
export interface DenseLayer {
  /** `out × in` matrix: row `j` holds the weights of output feature `j`. */
  weights: readonly (readonly number[])[];
  /** One value per output feature (`out`). */
  bias: readonly number[];
  /** Applied to the layer's output. */
  activation: LayerActivation;
}

/** Names of the graph's input and output tensors. */
export interface OnnxTensorNames {
  /**
   * Name of the `float32 [-1, in]` input tensor (the key callers use in `feeds`).
   * @default 'input'
   */
  inputName?: string;
  /**
   * Name of the `float32 [-1, out]` output tensor.
   * @default 'output'
   */
  outputName?: string;
}

/**
 * Options of {@link exportLinearModel}: a linear or logistic regression's parameters.
 * @example { weights: [[0.8, -0.2, 1.5]], bias: [-0.3], activation: 'sigmoid' }
 */
export interface ExportLinearModelOptions extends OnnxTensorNames {
  /** `out × in` coefficients (scikit-learn's `coef_` layout); one row for a binary logistic model. */
  weights: readonly (readonly number[])[];
  /** One intercept per output (`intercept_`). */
  bias: readonly number[];
  /** `sigmoid` for binary logistic regression, `softmax` for multinomial, `none` for linear regression. */
  activation: LinearActivation;
}

/**
 * Options of {@link exportMlp}: a multilayer perceptron's layers, input first.
 * @example { layers: [{ weights: w1, bias: b1, activation: 'relu' }, { weights: w2, bias: b2, activation: 'softmax' }] }
 */
export interface ExportMlpOptions extends OnnxTensorNames {
  /** At least one layer; each layer's `in` must equal the previous layer's `out`. */
  layers: readonly DenseLayer[];
}

/**
 * Writes a linear model — `activation(x · weightsᵀ + bias)` — as an ONNX graph (one `Gemm` node plus
 * the activation), with `float32 [-1, in]` input and `float32 [-1, out]` output, weights stored as
 * initializers, IR version {@link ONNX_IR_VERSION}, opset {@link ONNX_OPSET}, producer `keel`.
 * Values are stored as float32, so the ONNX model agrees with the JS one to float32 precision.
 *
 * @throws KeelError `INVALID_PARAMETER_VALUE` naming the field when the shapes do not fit together or a
 * value is not a finite float32.
 * @example
 * const bytes = exportLinearModel({ weights: [[0.8, -0.2]], bias: [-0.3], activation: 'sigmoid' });
 * await writeFile('model.onnx', bytes);
 */
export function exportLinearModel(options: ExportLinearModelOptions): Uint8Array {
  const { weights, bias, activation } = options;
  if (!LINEAR_ACTIVATIONS.includes(activation)) {
    throw invalidParameter(
      `activation must be one of ${LINEAR_ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`,
    );
  }
  return buildModel('keel_linear', [{ weights, bias, activation }], options, () => '');
}

/**
 * Writes a multilayer perceptron as an ONNX graph: per layer one `Gemm` node (`transB = 1`, so the
 * `out × in` weights are stored as given) followed by its activation. Input `float32 [-1, in]` of the
 * first layer, output `float32 [-1, out]` of the last; IR version {@link ONNX_IR_VERSION}, opset
 * {@link ONNX_OPSET}, producer `keel`. Initializers are named `layers.{i}.weight` and `layers.{i}.bias`.
 *
 * @throws KeelError `INVALID_PARAMETER_VALUE` naming the layer (`layers[1].weights…`) when shapes do not
 * chain or a value is not a finite float32.
 * @example
 * const bytes = exportMlp({
 *   layers: [
 *     { weights: w1, bias: b1, activation: 'relu' },
 *     { weights: w2, bias: b2, activation: 'softmax' },
 *   ],
 * });
 */
export function exportMlp(options: ExportMlpOptions): Uint8Array {
  if (!Array.isArray(options.layers) || options.layers.length === 0) {
    throw invalidParameter('layers must hold at least one layer');
  }
  return buildModel('keel_mlp', options.layers, options, (i) => `layers[${i}].`);
}

interface TensorObject {
  name: string;
  data_type: number;
  dims: number[];
  float_data: number[];
}

interface NodeObject {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: { name: string; type: number; i?: number; f?: number }[];
}

function buildModel(
  graphName: string,
  layers: readonly DenseLayer[],
  names: OnnxTensorNames,
  fieldOf: (layer: number) => string,
): Uint8Array {
  const inputName = names.inputName ?? 'input';
  const outputName = names.outputName ?? 'output';
  checkName('inputName', inputName);
  checkName('outputName', outputName);
  if (inputName === outputName)
    throw invalidParameter(`inputName and outputName must differ, both are '${inputName}'`);

  const initializer: TensorObject[] = [];
  const node: NodeObject[] = [];
  let previous = inputName;
  let width = -1;
  let nIn = -1;
  layers.forEach((layer, i) => {
    const field = fieldOf(i);
    const [nOut, layerIn] = checkLayer(layer, field, width);
    if (i === 0) nIn = layerIn;
    width = nOut;
    const last = i === layers.length - 1;
    const weight = `layers.${i}.weight`;
    const bias = `layers.${i}.bias`;
    for (const reserved of [weight, bias]) {
      if (reserved === inputName || reserved === outputName) {
        throw invalidParameter(`'${reserved}' names an initializer; choose another input or output name`);
      }
    }
    initializer.push(
      { name: weight, data_type: ONNX_FLOAT, dims: [nOut, layerIn], float_data: layer.weights.flat() },
      { name: bias, data_type: ONNX_FLOAT, dims: [nOut], float_data: [...layer.bias] },
    );
    const gemmOut = last && layer.activation === 'none' ? outputName : `layers.${i}.linear`;
    node.push({
      name: `layers.${i}.gemm`,
      op_type: 'Gemm',
      input: [previous, weight, bias],
      output: [gemmOut],
      attribute: [{ name: 'transB', type: ONNX_ATTRIBUTE.INT, i: 1 }],
    });
    previous = gemmOut;
    const activation = activationNode(
      layer.activation,
      i,
      previous,
      last ? outputName : `layers.${i}.${layer.activation}`,
    );
    if (activation) {
      node.push(activation);
      previous = activation.output[0] ?? previous;
    }
  });

  const type = modelProtoType();
  const model = type.fromObject({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'keel',
    producer_version: KEEL_VERSION,
    graph: {
      name: graphName,
      node,
      initializer,
      input: [tensorValueInfo(inputName, nIn)],
      output: [tensorValueInfo(outputName, width)],
    },
  });
  return type.encode(model).finish();
}

function activationNode(
  activation: LayerActivation,
  layer: number,
  input: string,
  output: string,
): NodeObject | undefined {
  const node = (op: string, attribute: NodeObject['attribute'] = []): NodeObject => ({
    name: `layers.${layer}.${activation}`,
    op_type: op,
    input: [input],
    output: [output],
    attribute,
  });
  switch (activation) {
    case 'none':
      return undefined;
    case 'relu':
      return node('Relu');
    case 'tanh':
      return node('Tanh');
    case 'sigmoid':
      return node('Sigmoid');
    case 'softmax':
      // Explicit axis: before opset 13 Softmax's default axis (1) meant "flatten", so readers of older
      // opsets would not agree on what an omitted axis means.
      return node('Softmax', [{ name: 'axis', type: ONNX_ATTRIBUTE.INT, i: -1 }]);
    default: {
      const unknown: never = activation;
      throw invalidParameter(`unknown activation ${JSON.stringify(unknown)}`);
    }
  }
}

function tensorValueInfo(name: string, features: number) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ONNX_FLOAT,
        shape: { dim: [{ dim_param: ONNX_BATCH_DIM }, { dim_value: features }] },
      },
    },
  };
}

/** Validates one layer and returns `[out, in]`; `expectedIn` is the previous layer's `out` (or -1). */
function checkLayer(layer: DenseLayer, field: string, expectedIn: number): [number, number] {
  const { weights, bias, activation } = layer;
  if (!LAYER_ACTIVATIONS.includes(activation)) {
    throw invalidParameter(
      `${field}activation must be one of ${LAYER_ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`,
    );
  }
  if (!Array.isArray(weights) || weights.length === 0) {
    throw invalidParameter(`${field}weights must be a non-empty out × in matrix`);
  }
  const first = weights[0];
  const nIn = Array.isArray(first) ? first.length : 0;
  if (nIn === 0) throw invalidParameter(`${field}weights[0] must be a non-empty row`);
  weights.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== nIn) {
      throw invalidParameter(
        `${field}weights[${r}] has ${Array.isArray(row) ? row.length : 'no'} columns, expected ${nIn} (weights is out × in)`,
      );
    }
    checkValues(row, `${field}weights[${r}]`);
  });
  if (expectedIn !== -1 && nIn !== expectedIn) {
    throw invalidParameter(
      `${field}weights has ${nIn} columns but the previous layer has ${expectedIn} outputs (weights is out × in)`,
    );
  }
  if (!Array.isArray(bias) || bias.length !== weights.length) {
    throw invalidParameter(
      `${field}bias has ${Array.isArray(bias) ? bias.length : 'no'} values, expected ${weights.length} (one per weights row)`,
    );
  }
  checkValues(bias, `${field}bias`);
  return [weights.length, nIn];
}

function checkValues(values: readonly number[], field: string): void {
  for (let k = 0; k < values.length; k++) {
    const value = values[k];
    if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) {
      throw invalidParameter(`${field}[${k}] must be a finite float32 number, got ${String(value)}`);
    }
  }
}

function checkName(field: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw invalidParameter(`${field} must be a non-empty string`);
}
