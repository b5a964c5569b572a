import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeDataset, KeelClient } from '@keel/sdk';
import { Matrix } from 'ml-matrix';
import { evaluationReport, reportMarkdown } from './evaluation.js';
import { exportIrisModel, type IrisParameters } from './export-model.js';
import { IRIS_CSV, IRIS_FEATURES, type IrisRow, loadIris } from './iris.js';
import { trainingCurvesSvg } from './plot.js';
import { SoftmaxRegression } from './softmax-regression.js';
import { fitStandardization, seededRandom, standardize, stratifiedSplit } from './split.js';

/** Options of {@link trainIris}; each documents its default. */
export interface TrainIrisOptions {
  /** Keel server. @default the SDK's: KEEL_TRACKING_URI, MLFLOW_TRACKING_URI, http://127.0.0.1:5000 */
  trackingUri?: string;
  /** Experiment to log to, created when missing. @default 'iris' */
  experiment?: string;
  /** Run name. @default 'softmax-regression' */
  runName?: string;
  /** Gradient-descent step size. @default 0.5 */
  learningRate?: number;
  /** Full passes over the training set. @default 200 */
  epochs?: number;
  /** Seeds the split and the initial weights. @default 42 */
  seed?: number;
  /** Share of each class held out for testing. @default 0.3 */
  testFraction?: number;
  /** L2 penalty on the weights. @default 0.001 */
  l2?: number;
  /** The registered model the trained model becomes a new version of. @default 'iris-classifier' */
  registeredModelName?: string;
  /** Where progress lines go. @default nothing */
  log?: (line: string) => void;
}

/** What one training run produced. */
export interface TrainIrisResult {
  runId: string;
  experimentId: string;
  trainAccuracy: number;
  testAccuracy: number;
  loss: number;
  /** Artifact paths logged to the run. */
  artifacts: string[];
  /** The logged ONNX model, `runs:/<run id>/model`. */
  modelUri: string;
  /** The registered version, `models:/<name>/<version>`. */
  registeredModelUri: string;
}

/** Artifact paths, relative to the run's artifact root. */
export const ARTIFACTS = {
  curves: 'plots/training-curves.svg',
  report: 'evaluation/report.md',
  metrics: 'evaluation/metrics.json',
  weights: 'training/weights.json',
} as const;

/** Where the servable ONNX model is logged in the run's artifacts. */
export const MODEL_ARTIFACT_PATH = 'model';

/**
 * Trains a softmax regression on iris and tracks it in Keel: params (learning rate, epochs, seed,
 * features…), per-epoch `loss`, `test_loss`, `train_accuracy` and `test_accuracy` (step = epoch),
 * the data set as a `training` input with its digest, schema and profile, and as artifacts the
 * training curves (SVG), an evaluation report (Markdown + JSON) and the learned weights (JSON);
 * and the trained model itself, exported to ONNX and logged as a servable model (`model/`, with an
 * input example of five test flowers) registered as a new version of `iris-classifier`.
 * The run ends FINISHED, or FAILED if anything throws.
 *
 * @example
 * const { runId, testAccuracy } = await trainIris({ trackingUri: 'http://127.0.0.1:5000' });
 */
export async function trainIris(options: TrainIrisOptions = {}): Promise<TrainIrisResult> {
  const settings = {
    experiment: options.experiment ?? 'iris',
    runName: options.runName ?? 'softmax-regression',
    learningRate: options.learningRate ?? 0.5,
    epochs: options.epochs ?? 200,
    seed: options.seed ?? 42,
    testFraction: options.testFraction ?? 0.3,
    l2: options.l2 ?? 0.001,
    registeredModelName: options.registeredModelName ?? 'iris-classifier',
  };
  const log = options.log ?? (() => {});
  const data = await loadIris();
  const random = seededRandom(settings.seed);
  const split = stratifiedSplit(data.labels, settings.testFraction, random);
  const pick = <T>(values: readonly T[], rows: readonly number[]): T[] => rows.map((row) => values[row] as T);
  const scaling = fitStandardization(pick(data.features, split.train));
  const xTrain = new Matrix(standardize(pick(data.features, split.train), scaling));
  const xTest = new Matrix(standardize(pick(data.features, split.test), scaling));
  const yTrain = pick(data.labels, split.train);
  const yTest = pick(data.labels, split.test);

  const client = new KeelClient(
    options.trackingUri === undefined ? {} : { trackingUri: options.trackingUri },
  );
  const dataset = await describeDataset(data.rows, {
    name: 'iris',
    sourceUri: pathToFileURL(IRIS_CSV).href,
    targets: 'species',
  });

  return client.withRun<TrainIrisResult>(
    {
      experiment: settings.experiment,
      name: settings.runName,
      tags: { 'keel.example': 'iris-logistic-regression', model: 'softmax-regression' },
    },
    async (run) => {
      log(`Run ${run.runId} started: ${split.train.length} training rows, ${split.test.length} test rows`);
      await run.logParams({
        model: 'softmax-regression',
        learning_rate: settings.learningRate,
        epochs: settings.epochs,
        seed: settings.seed,
        test_fraction: settings.testFraction,
        l2: settings.l2,
        features: IRIS_FEATURES.join(','),
        train_rows: split.train.length,
        test_rows: split.test.length,
      });
      await run.logInput(dataset, { context: 'training' });

      const model = new SoftmaxRegression({
        features: IRIS_FEATURES.length,
        classes: data.classes.length,
        learningRate: settings.learningRate,
        l2: settings.l2,
        random,
      });
      const history = {
        loss: [] as number[],
        testLoss: [] as number[],
        trainAcc: [] as number[],
        testAcc: [] as number[],
      };
      for (let epoch = 0; epoch < settings.epochs; epoch += 1) {
        model.step(xTrain, yTrain);
        const train = model.evaluate(xTrain, yTrain);
        const test = model.evaluate(xTest, yTest);
        history.loss.push(train.loss);
        history.testLoss.push(test.loss);
        history.trainAcc.push(train.accuracy);
        history.testAcc.push(test.accuracy);
        // Buffered by the SDK and sent in batches: the loop does not wait on HTTP.
        run.logMetric('loss', train.loss, { step: epoch });
        run.logMetric('test_loss', test.loss, { step: epoch });
        run.logMetric('train_accuracy', train.accuracy, { step: epoch });
        run.logMetric('test_accuracy', test.accuracy, { step: epoch });
        if ((epoch + 1) % 50 === 0 || epoch === settings.epochs - 1) {
          log(
            `epoch ${String(epoch + 1).padStart(4)}  loss ${train.loss.toFixed(4)}  train acc ${train.accuracy.toFixed(3)}  test acc ${test.accuracy.toFixed(3)}`,
          );
        }
      }

      const final = model.evaluate(xTest, yTest);
      const parameters: IrisParameters = {
        features: IRIS_FEATURES,
        classes: data.classes,
        standardization: scaling,
        // weights[feature][class]; predict with argmax(standardize(x)·weights + bias).
        weights: model.weights.to2DArray(),
        bias: model.bias,
      };
      const report = evaluationReport(data.classes, yTest, final.predictions);
      const outDir = await mkdtemp(join(tmpdir(), 'keel-iris-'));
      try {
        const write = async (path: string, text: string): Promise<void> => {
          await mkdir(dirname(join(outDir, path)), { recursive: true });
          await writeFile(join(outDir, path), text);
        };
        await write(
          ARTIFACTS.curves,
          trainingCurvesSvg('Iris softmax regression: loss and accuracy per epoch', [
            {
              title: 'Cross-entropy loss',
              yLabel: 'loss',
              series: [
                { label: 'train', color: '#1f77b4', values: history.loss },
                { label: 'test', color: '#ff7f0e', values: history.testLoss, dashed: true },
              ],
            },
            {
              title: 'Accuracy',
              yLabel: 'accuracy',
              yRange: [0, 1],
              legend: 'bottom',
              series: [
                { label: 'train', color: '#1f77b4', values: history.trainAcc },
                { label: 'test', color: '#ff7f0e', values: history.testAcc, dashed: true },
              ],
            },
          ]),
        );
        await write(ARTIFACTS.report, reportMarkdown(report, `Iris softmax regression — run ${run.runId}`));
        await write(ARTIFACTS.metrics, `${JSON.stringify(report, null, 2)}\n`);
        await write(
          ARTIFACTS.weights,
          `${JSON.stringify({ model: 'softmax-regression', ...parameters }, null, 2)}\n`,
        );
        await run.logArtifacts(outDir);
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
      // The servable model: the same weights as an ONNX graph that takes raw measurements.
      const logged = await run.logModel({
        flavor: 'onnx',
        onnx: exportIrisModel(parameters),
        artifactPath: MODEL_ARTIFACT_PATH,
        // A few test flowers, as rows of named features: what the model takes.
        inputExample: split.test.slice(0, 5).map((row) => featureRow(data.features[row] ?? [])),
        registeredModelName: settings.registeredModelName,
      });
      const version = logged.registeredModelVersion?.version ?? '';
      log(
        `Logged the ONNX model ${logged.modelUri}: version ${version} of '${settings.registeredModelName}'`,
      );
      const last = settings.epochs - 1;
      return {
        runId: run.runId,
        experimentId: run.experimentId,
        trainAccuracy: history.trainAcc[last] ?? Number.NaN,
        testAccuracy: report.accuracy,
        loss: history.loss[last] ?? Number.NaN,
        artifacts: Object.values(ARTIFACTS),
        modelUri: logged.modelUri,
        registeredModelUri: `models:/${settings.registeredModelName}/${version}`,
      };
    },
  );
}

/** A flower's measurements as a row of named features (what the logged model takes). */
export function featureRow(values: readonly number[]): Omit<IrisRow, 'species'> {
  return Object.fromEntries(IRIS_FEATURES.map((name, j) => [name, values[j] ?? Number.NaN])) as Omit<
    IrisRow,
    'species'
  >;
}
