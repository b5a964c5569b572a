import { exportLinearModel } from '@keel/sdk';
import { Matrix } from 'ml-matrix';
import { SoftmaxRegression } from './softmax-regression.js';
import { type Standardization, standardize } from './split.js';

/** The learned parameters, as the example writes them to `training/weights.json`. */
export interface IrisParameters {
  features: readonly string[];
  classes: readonly string[];
  standardization: Standardization;
  /** `weights[feature][class]`. */
  weights: number[][];
  bias: number[];
}

/**
 * The trained model as an ONNX graph (one `Gemm` and a `Softmax`) that takes the raw measurements:
 * standardisation is folded into the weights, `(x − mean)/std · W + b = x · W' + b'` with
 * `W'[c][f] = W[f][c] / std[f]` and `b'[c] = b[c] − Σ_f mean[f] · W[f][c] / std[f]`. Input
 * `float32 [-1, 4]`, output `float32 [-1, 3]` class probabilities.
 *
 * @example
 * await run.logModel({ flavor: 'onnx', onnx: exportIrisModel(parameters), inputExample: rows });
 */
export function exportIrisModel(parameters: IrisParameters): Uint8Array {
  const { mean, std } = parameters.standardization;
  const scale = (f: number) => std[f] ?? 1;
  const weights = parameters.classes.map((_, c) =>
    parameters.features.map((_, f) => (parameters.weights[f]?.[c] ?? 0) / scale(f)),
  );
  const bias = parameters.classes.map(
    (_, c) =>
      (parameters.bias[c] ?? 0) -
      parameters.features.reduce((sum, _, f) => sum + (mean[f] ?? 0) * (weights[c]?.[f] ?? 0), 0),
  );
  return exportLinearModel({ weights, bias, activation: 'softmax' });
}

/**
 * Class probabilities of raw measurements under the JS model (standardise, then
 * `SoftmaxRegression.probabilities`) with the given parameters: the reference the exported
 * ONNX model must agree with.
 *
 * @example irisProbabilities(parameters, [[5.1, 3.5, 1.4, 0.2]]); // [[0.97, 0.03, 0.00]]
 */
export function irisProbabilities(parameters: IrisParameters, rows: readonly number[][]): number[][] {
  const model = new SoftmaxRegression({
    features: parameters.features.length,
    classes: parameters.classes.length,
  });
  model.weights.setSubMatrix(parameters.weights, 0, 0);
  parameters.bias.forEach((b, c) => {
    model.bias[c] = b;
  });
  return model.probabilities(new Matrix(standardize(rows, parameters.standardization))).to2DArray();
}
