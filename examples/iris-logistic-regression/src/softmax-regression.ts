import { Matrix } from 'ml-matrix';

/** Hyper-parameters of {@link SoftmaxRegression}. */
export interface SoftmaxRegressionOptions {
  /** Number of input features. */
  features: number;
  /** Number of classes. */
  classes: number;
  /** Gradient-descent step size. @default 0.1 */
  learningRate?: number;
  /** L2 penalty on the weights (not the bias). @default 0.001 */
  l2?: number;
  /** Draws the small random initial weights. @default Math.random */
  random?: () => number;
}

/** Cross-entropy loss and accuracy of the model on a data set. */
export interface Evaluation {
  loss: number;
  accuracy: number;
  predictions: number[];
}

/**
 * Multinomial logistic regression (softmax regression) trained by full-batch gradient descent:
 * `P = softmax(X·W + b)`, loss = mean cross-entropy + `l2/2 · ‖W‖²`, gradient
 * `∂W = Xᵀ(P − Y)/n + l2·W`, `∂b = Σ(P − Y)/n`. The linear algebra is ml-matrix's.
 *
 * @example
 * const model = new SoftmaxRegression({ features: 4, classes: 3, learningRate: 0.1 });
 * for (let epoch = 0; epoch < 200; epoch++) model.step(x, y);
 * model.evaluate(xTest, yTest).accuracy;
 */
export class SoftmaxRegression {
  /** Weights, features × classes. */
  readonly weights: Matrix;
  /** Bias, one per class. */
  readonly bias: number[];
  private readonly learningRate: number;
  private readonly l2: number;
  private readonly classes: number;

  constructor(options: SoftmaxRegressionOptions) {
    const random = options.random ?? Math.random;
    this.classes = options.classes;
    this.learningRate = options.learningRate ?? 0.1;
    this.l2 = options.l2 ?? 0.001;
    this.weights = Matrix.zeros(options.features, options.classes).apply(function (this: Matrix, i, j) {
      this.set(i, j, (random() - 0.5) * 0.02);
    });
    this.bias = new Array<number>(options.classes).fill(0);
  }

  /** Class probabilities, one row per sample. */
  probabilities(x: Matrix): Matrix {
    const logits = x.mmul(this.weights).addRowVector(this.bias);
    for (let i = 0; i < logits.rows; i += 1) {
      const row = logits.getRow(i);
      const max = Math.max(...row);
      const exps = row.map((value) => Math.exp(value - max));
      const total = exps.reduce((sum, value) => sum + value, 0);
      logits.setRow(
        i,
        exps.map((value) => value / total),
      );
    }
    return logits;
  }

  /** One gradient-descent step on the whole training set. */
  step(x: Matrix, labels: readonly number[]): void {
    const n = x.rows;
    const gradient = this.probabilities(x).sub(this.oneHot(labels)).div(n);
    const weightGradient = x.transposeMultiply(gradient).add(Matrix.mul(this.weights, this.l2));
    this.weights.sub(weightGradient.mul(this.learningRate));
    gradient.sum('column').forEach((g, j) => {
      this.bias[j] = (this.bias[j] ?? 0) - this.learningRate * g;
    });
  }

  /** Loss (with the L2 term, as optimised) and accuracy on `x`, `labels`. */
  evaluate(x: Matrix, labels: readonly number[]): Evaluation {
    const probabilities = this.probabilities(x);
    let crossEntropy = 0;
    let correct = 0;
    const predictions: number[] = [];
    labels.forEach((label, i) => {
      crossEntropy -= Math.log(Math.max(probabilities.get(i, label), 1e-12));
      const [, predicted] = probabilities.maxRowIndex(i);
      predictions.push(predicted);
      if (predicted === label) correct += 1;
    });
    const penalty = (this.l2 / 2) * this.weights.to1DArray().reduce((sum, w) => sum + w * w, 0);
    return { loss: crossEntropy / labels.length + penalty, accuracy: correct / labels.length, predictions };
  }

  private oneHot(labels: readonly number[]): Matrix {
    const y = Matrix.zeros(labels.length, this.classes);
    labels.forEach((label, i) => {
      y.set(i, label, 1);
    });
    return y;
  }
}
