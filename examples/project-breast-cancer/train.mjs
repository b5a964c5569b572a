// The `main` entry point of this project: logistic regression by full-batch gradient descent on the
// breast-cancer data set, in plain Node.js, tracked through @keel/sdk into the run `keel run` made.
//
//   keel run examples/project-breast-cancer -P learning_rate=0.5 -P epochs=400
//
// `keel run` logs the parameters and sets KEEL_RUN_ID and KEEL_TRACKING_URI; this script adds the
// metrics (the training loss per epoch, then accuracy, precision, recall, F1 and log loss on the
// held-out rows) and the fitted model as the artifact `model/model.json`.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KeelClient } from '@keel/sdk';

const { values: args } = parseArgs({
  options: {
    'learning-rate': { type: 'string', default: '0.3' },
    epochs: { type: 'string', default: '300' },
    'test-size': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '42' },
    data: { type: 'string', default: 'data/breast_cancer.csv' },
  },
});

const runId = process.env.KEEL_RUN_ID ?? process.env.MLFLOW_RUN_ID;
if (runId === undefined) {
  console.error('Run this script with `keel run` (it sets KEEL_RUN_ID for the run it creates).');
  process.exit(2);
}

/** scikit-learn's breast_cancer.csv: a header `569,30,malignant,benign`, then 30 features and the class. */
async function readData(path) {
  const lines = (await readFile(path, 'utf8')).trim().split('\n').slice(1);
  const rows = lines.map((line) => line.split(',').map(Number));
  return { x: rows.map((row) => row.slice(0, -1)), y: rows.map((row) => row.at(-1)) };
}

/** A seeded generator (mulberry32): the same seed gives the same split. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffledIndices(n, seed) {
  const next = random(seed);
  const order = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Per-feature mean and standard deviation of the training rows. */
function scaler(rows) {
  const mean = rows[0].map((_, j) => rows.reduce((sum, row) => sum + row[j], 0) / rows.length);
  const std = mean.map(
    (m, j) => Math.sqrt(rows.reduce((sum, row) => sum + (row[j] - m) ** 2, 0) / rows.length) || 1,
  );
  return { mean, std, apply: (row) => row.map((v, j) => (v - mean[j]) / std[j]) };
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));
const predict = (model, row) => sigmoid(row.reduce((sum, v, j) => sum + v * model.weights[j], model.bias));

function logLoss(model, x, y) {
  const eps = 1e-12;
  return (
    -x.reduce((sum, row, i) => {
      const p = Math.min(1 - eps, Math.max(eps, predict(model, row)));
      return sum + (y[i] === 1 ? Math.log(p) : Math.log(1 - p));
    }, 0) / x.length
  );
}

/** Full-batch gradient descent on the mean log loss; the loss is reported every 10 epochs. */
function fit(x, y, learningRate, epochs, onLoss) {
  const model = { weights: new Array(x[0].length).fill(0), bias: 0 };
  for (let epoch = 1; epoch <= epochs; epoch += 1) {
    const gradient = new Array(model.weights.length).fill(0);
    let gradientBias = 0;
    x.forEach((row, i) => {
      const error = predict(model, row) - y[i];
      row.forEach((v, j) => {
        gradient[j] += (error * v) / x.length;
      });
      gradientBias += error / x.length;
    });
    model.weights = model.weights.map((w, j) => w - learningRate * gradient[j]);
    model.bias -= learningRate * gradientBias;
    if (epoch % 10 === 0 || epoch === epochs) onLoss(epoch, logLoss(model, x, y));
  }
  return model;
}

/** Accuracy, precision, recall and F1 of class 1 (benign). */
function scores(model, x, y) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  x.forEach((row, i) => {
    const predicted = predict(model, row) >= 0.5 ? 1 : 0;
    if (predicted === y[i]) correct += 1;
    if (predicted === 1 && y[i] === 1) tp += 1;
    if (predicted === 1 && y[i] === 0) fp += 1;
    if (predicted === 0 && y[i] === 1) fn += 1;
  });
  const precision = tp / (tp + fp || 1);
  const recall = tp / (tp + fn || 1);
  return {
    accuracy: correct / x.length,
    precision,
    recall,
    f1: (2 * precision * recall) / (precision + recall || 1),
  };
}

const keel = new KeelClient();
const data = await readData(args.data);
const order = shuffledIndices(data.x.length, Number(args.seed));
const testCount = Math.round(data.x.length * Number(args['test-size']));
const pick = (indices) => ({ x: indices.map((i) => data.x[i]), y: indices.map((i) => data.y[i]) });
const train = pick(order.slice(testCount));
const test = pick(order.slice(0, testCount));
const scale = scaler(train.x);
const trainX = train.x.map(scale.apply);
const testX = test.x.map(scale.apply);

const losses = [];
const model = fit(trainX, train.y, Number(args['learning-rate']), Number(args.epochs), (epoch, loss) => {
  losses.push({ key: 'train_loss', value: loss, step: epoch });
});
const trainScores = scores(model, trainX, train.y);
const testScores = scores(model, testX, test.y);
await keel.logBatch(runId, {
  metrics: [
    ...losses,
    { key: 'train_accuracy', value: trainScores.accuracy },
    { key: 'test_accuracy', value: testScores.accuracy },
    { key: 'test_precision', value: testScores.precision },
    { key: 'test_recall', value: testScores.recall },
    { key: 'test_f1', value: testScores.f1 },
    { key: 'test_log_loss', value: logLoss(model, testX, test.y) },
  ],
  tags: { model: 'logistic-regression (gradient descent, Node.js)' },
});

const dir = await mkdtemp(join(tmpdir(), 'breast-cancer-'));
const modelFile = join(dir, 'model.json');
await writeFile(modelFile, `${JSON.stringify({ ...model, mean: scale.mean, std: scale.std }, null, 2)}\n`);
await keel.uploadArtifact(runId, modelFile, 'model');
await rm(dir, { recursive: true, force: true });

console.log(`trained on ${train.x.length} rows, tested on ${test.x.length}`);
console.log(`test accuracy ${testScores.accuracy.toFixed(4)}, F1 ${testScores.f1.toFixed(4)}`);
