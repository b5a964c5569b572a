// The model is the iris example's: softmax regression on standardised features, exported to ONNX
// with the standardisation folded into the weights. With two classes it is logistic regression.
import { Matrix } from 'ml-matrix';
import { evaluationReport } from '../../iris-logistic-regression/src/evaluation.js';
import {
  exportIrisModel,
  type IrisParameters,
  irisProbabilities,
} from '../../iris-logistic-regression/src/export-model.js';
import { SoftmaxRegression } from '../../iris-logistic-regression/src/softmax-regression.js';
import {
  fitStandardization,
  seededRandom,
  standardize,
  stratifiedSplit,
} from '../../iris-logistic-regression/src/split.js';
import { selectRows, type Table } from './table.js';

/**
 * A trained model: feature names, class names, the training set's standardisation,
 * `weights[feature][class]` and `bias` (the iris example's layout, which its ONNX export takes).
 */
export type ModelParameters = IrisParameters;

/** The hyper-parameters a candidate model is trained with. */
export interface Candidate {
  /** L2 penalty on the weights. */
  l2: number;
  /** Gradient-descent step size. */
  learningRate: number;
}

/** How a model does on a labelled table. */
export interface Scores {
  accuracy: number;
  /** F1 of the positive class. */
  f1: number;
  /** Mean cross-entropy of the predicted probabilities (no L2 term). */
  logLoss: number;
}

/** Options of {@link trainModel}. */
export interface TrainOptions {
  candidate: Candidate;
  /** Class names; a row's label is its index in this list. */
  classes: readonly string[];
  /** Full passes of gradient descent over the training rows. */
  epochs: number;
  /** Seeds the initial weights. */
  seed: number;
  /** Called every `everyEpochs` epochs and after the last with the training loss and accuracy. */
  progress?: { everyEpochs: number; report(epoch: number, loss: number, accuracy: number): void };
}

/**
 * The label index of each row of `table`.
 * @throws Error naming a label that is not among `classes`.
 */
export function labelIndices(table: Table, classes: readonly string[]): number[] {
  return table.labels.map((label) => {
    const index = classes.indexOf(label);
    if (index < 0) throw new Error(`Unknown class '${label}': expected one of ${classes.join(', ')}`);
    return index;
  });
}

/**
 * A stratified train/test split of `table`: each class gives `round(count · testFraction)` rows to
 * the test set, chosen by a shuffle seeded with `seed` (the iris example's split).
 */
export function splitTable(
  table: Table,
  classes: readonly string[],
  testFraction: number,
  seed: number,
): { train: Table; test: Table } {
  const split = stratifiedSplit(labelIndices(table, classes), testFraction, seededRandom(seed));
  return { train: selectRows(table, split.train), test: selectRows(table, split.test) };
}

/**
 * Trains a softmax regression on `table` by full-batch gradient descent, features standardised
 * with the table's own mean and standard deviation.
 *
 * @example const { parameters, loss } = trainModel(train, { candidate: { l2: 0.01, learningRate: 0.5 }, classes, epochs: 300, seed: 42 });
 */
export function trainModel(
  table: Table,
  options: TrainOptions,
): { parameters: ModelParameters; loss: number; accuracy: number } {
  const labels = labelIndices(table, options.classes);
  const standardization = fitStandardization(table.rows);
  const x = new Matrix(standardize(table.rows, standardization));
  const model = new SoftmaxRegression({
    features: table.features.length,
    classes: options.classes.length,
    learningRate: options.candidate.learningRate,
    l2: options.candidate.l2,
    random: seededRandom(options.seed),
  });
  const every = options.progress?.everyEpochs ?? options.epochs;
  for (let epoch = 1; epoch <= options.epochs; epoch += 1) {
    model.step(x, labels);
    if (options.progress !== undefined && (epoch % every === 0 || epoch === options.epochs)) {
      const { loss, accuracy } = model.evaluate(x, labels);
      options.progress.report(epoch, loss, accuracy);
    }
  }
  const { loss, accuracy } = model.evaluate(x, labels);
  const parameters: ModelParameters = {
    features: table.features,
    classes: [...options.classes],
    standardization,
    weights: model.weights.to2DArray(),
    bias: [...model.bias],
  };
  return { parameters, loss, accuracy };
}

/** Accuracy, F1 of `positive` and log-loss of the model on `table`. */
export function scoreModel(parameters: ModelParameters, table: Table, positive: string): Scores {
  const labels = labelIndices(table, parameters.classes);
  const probabilities = irisProbabilities(parameters, table.rows);
  const predictions = probabilities.map((row) => row.indexOf(Math.max(...row)));
  const report = evaluationReport(parameters.classes, labels, predictions);
  const f1 = report.perClass.find((scores) => scores.class === positive)?.f1;
  if (f1 === undefined) throw new Error(`Unknown positive class '${positive}'`);
  const logLoss =
    labels.reduce((sum, label, i) => sum - Math.log(Math.max(probabilities[i]?.[label] ?? 0, 1e-15)), 0) /
    labels.length;
  return { accuracy: report.accuracy, f1, logLoss };
}

/** The index of the best scores: highest F1, then lowest log-loss, then the first. */
export function bestIndex(scores: readonly Scores[]): number {
  let best = -1;
  scores.forEach((candidate, i) => {
    const current = scores[best];
    if (
      current === undefined ||
      candidate.f1 > current.f1 ||
      (candidate.f1 === current.f1 && candidate.logLoss < current.logLoss)
    ) {
      best = i;
    }
  });
  if (best < 0) throw new Error('No candidate to pick from');
  return best;
}

/** The model as an ONNX graph (one `Gemm` and a `Softmax`) that takes the raw features. */
export { exportIrisModel as exportModel };

/** A row as named features: the input example the logged model keeps. */
export function featureRecord(features: readonly string[], row: readonly number[]): Record<string, number> {
  return Object.fromEntries(features.map((name, j) => [name, row[j] ?? Number.NaN]));
}
