/**
 * A training pipeline on the Wisconsin breast cancer data set, as a Keel workflow:
 *
 *   load → split → train × candidates (map) → evaluate × candidates (map) → pick → register
 *
 * Every task is cached by its inputs (files by content), so launching again with the same inputs
 * reuses every output. Register it with `keel workflows register flows/train.ts` (see README.md).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { KeelClient, map, t, task, workflow } from '@keel/sdk';
import {
  bestIndex,
  type Candidate,
  exportModel,
  featureRecord,
  type ModelParameters,
  type Scores,
  scoreModel,
  splitTable,
  trainModel,
} from '../src/model.js';
import { BREAST_CANCER_FEATURES, readSklearnCsv, readTable, writeTable } from '../src/table.js';

/** The class F1 is measured on: finding the malignant tumours is the point. */
const POSITIVE_CLASS = 'malignant';

const candidateType = t.record({ l2: t.float(), learningRate: t.float() });
const scoresType = t.record({ accuracy: t.float(), f1: t.float(), logLoss: t.float() });

/** Reads scikit-learn's CSV into a table with named columns and the class name of each row. */
export const load = task(
  {
    name: 'load',
    inputs: { source: t.dataset({ format: 'csv' }) },
    outputs: { data: t.dataset({ format: 'csv' }), classes: t.array(t.string()) },
    cache: { version: '1' },
  },
  async ({ source }, ctx) => {
    const table = await readSklearnCsv(source, BREAST_CANCER_FEATURES);
    const data = ctx.outputPath('breast_cancer.csv');
    await writeTable(data, table);
    ctx.log.info('loaded', { rows: table.rows.length, features: table.features.length });
    await ctx.run.logParam('rows', table.rows.length);
    await ctx.run.logParam('features', table.features.length);
    return { data, classes: table.classes };
  },
);

/** A stratified, seeded train/test split. */
export const split = task(
  {
    name: 'split',
    inputs: {
      data: t.dataset({ format: 'csv' }),
      classes: t.array(t.string()),
      testFraction: t.float(),
      seed: t.int(),
    },
    outputs: { train: t.dataset({ format: 'csv' }), test: t.dataset({ format: 'csv' }) },
    cache: { version: '1' },
  },
  async ({ data, classes, testFraction, seed }, ctx) => {
    const parts = splitTable(await readTable(data), classes, testFraction, seed);
    const train = ctx.outputPath('train.csv');
    const test = ctx.outputPath('test.csv');
    await writeTable(train, parts.train);
    await writeTable(test, parts.test);
    await ctx.run.logParam('train_rows', parts.train.rows.length);
    await ctx.run.logParam('test_rows', parts.test.rows.length);
    return { train, test };
  },
);

/** Trains one candidate: logistic regression with its L2 strength and learning rate. */
export const train = task(
  {
    name: 'train',
    inputs: {
      train: t.dataset({ format: 'csv' }),
      classes: t.array(t.string()),
      candidate: candidateType,
      epochs: t.int(),
      seed: t.int(),
    },
    outputs: { model: t.file(), loss: t.float() },
    cache: { version: '1' },
  },
  async ({ train, classes, candidate, epochs, seed }, ctx) => {
    await ctx.run.logParam('l2', candidate.l2);
    await ctx.run.logParam('learning_rate', candidate.learningRate);
    const { parameters, loss, accuracy } = trainModel(await readTable(train), {
      candidate,
      classes,
      epochs,
      seed,
      progress: {
        everyEpochs: 25,
        report: (epoch, epochLoss, epochAccuracy) => {
          ctx.run.logMetric('train_loss', epochLoss, { step: epoch });
          ctx.run.logMetric('train_accuracy', epochAccuracy, { step: epoch });
        },
      },
    });
    ctx.log.info('trained', { ...candidate, loss, accuracy });
    const model = ctx.outputPath('model.json');
    await writeFile(model, `${JSON.stringify(parameters, null, 2)}\n`);
    return { model, loss };
  },
);

/** Scores one trained model on the test split: accuracy, F1 (malignant) and log-loss. */
export const evaluate = task(
  {
    name: 'evaluate',
    inputs: { model: t.file(), test: t.dataset({ format: 'csv' }) },
    outputs: { scores: scoresType },
    cache: { version: '1' },
  },
  async ({ model, test }, ctx) => {
    const scores = scoreModel(await readParameters(model), await readTable(test), POSITIVE_CLASS);
    logScores(ctx.run, scores);
    ctx.log.info('evaluated', { ...scores });
    return { scores };
  },
);

/** Picks the best candidate: highest F1, then lowest log-loss. */
export const pick = task(
  {
    name: 'pick',
    inputs: { candidates: t.array(candidateType), models: t.array(t.file()), scores: t.array(scoresType) },
    outputs: { model: t.file(), candidate: candidateType, scores: scoresType },
    cache: { version: '1' },
  },
  async ({ candidates, models, scores }, ctx) => {
    const best = bestIndex(scores);
    const [candidate, model, score] = [candidates[best], models[best], scores[best]];
    if (candidate === undefined || model === undefined || score === undefined) {
      throw new Error(
        `pick: ${candidates.length} candidates, ${models.length} models, ${scores.length} scores`,
      );
    }
    await ctx.run.logParam('best_index', best);
    ctx.log.info('picked', { best, ...candidate, ...score });
    return { model, candidate, scores: score };
  },
);

/**
 * Logs the picked model as a servable ONNX model to this attempt's run (params: its candidate;
 * metrics: its test scores) and registers it as a new version of `modelName`.
 */
export const register = task(
  {
    name: 'register',
    inputs: {
      model: t.file(),
      candidate: candidateType,
      scores: scoresType,
      test: t.dataset({ format: 'csv' }),
      modelName: t.string(),
      trackingUri: t.string(),
    },
    outputs: { model: t.model(), version: t.string() },
    cache: { version: '1' },
  },
  async ({ model, candidate, scores, test, modelName, trackingUri }, ctx) => {
    if (ctx.run.id === '') throw new Error('register: the engine gave this task no tracking run');
    const parameters = await readParameters(model);
    const examples = (await readTable(test)).rows.slice(0, 5);
    await ctx.run.logParam('l2', candidate.l2);
    await ctx.run.logParam('learning_rate', candidate.learningRate);
    logScores(ctx.run, scores);
    const keel = new KeelClient({ trackingUri });
    const logged = await keel.logModel(ctx.run.id, {
      flavor: 'onnx',
      onnx: exportModel(parameters),
      inputExample: examples.map((row) => featureRecord(parameters.features, row)),
      registeredModelName: modelName,
    });
    const version = logged.registeredModelVersion?.version;
    if (version === undefined) throw new Error(`register: '${modelName}' got no new version`);
    ctx.log.info('registered', { model: logged.modelUri, name: modelName, version });
    return { model: `models:/${modelName}/${version}`, version: String(version) };
  },
);

/** The candidates tried when the launch names none. */
export const DEFAULT_CANDIDATES: Candidate[] = [
  { l2: 0, learningRate: 0.5 },
  { l2: 0.001, learningRate: 0.5 },
  { l2: 0.01, learningRate: 0.5 },
  { l2: 0.1, learningRate: 0.5 },
  { l2: 0.01, learningRate: 0.05 },
  { l2: 0.01, learningRate: 2 },
];

/** The pipeline. Only `source` has no default. */
export const breastCancerTraining = workflow(
  {
    name: 'breast-cancer-training',
    inputs: {
      source: t.dataset({ format: 'csv' }),
      candidates: t.array(candidateType),
      testFraction: t.float(),
      seed: t.int(),
      epochs: t.int(),
      modelName: t.string(),
      trackingUri: t.string(),
    },
    defaults: {
      candidates: DEFAULT_CANDIDATES,
      testFraction: 0.2,
      seed: 42,
      epochs: 300,
      modelName: 'breast-cancer-classifier',
      trackingUri: 'http://127.0.0.1:5000',
    },
    description: 'Trains logistic regressions on breast_cancer.csv and registers the best',
  },
  ({ source, candidates, testFraction, seed, epochs, modelName, trackingUri }) => {
    const loaded = load({ source });
    const parts = split({ data: loaded.data, classes: loaded.classes, testFraction, seed });
    const fits = map(
      train,
      { train: parts.train, classes: loaded.classes, candidate: candidates, epochs, seed },
      { over: ['candidate'] },
    );
    const scored = map(evaluate, { model: fits.model, test: parts.test }, { over: ['model'] });
    const best = pick({ candidates, models: fits.model, scores: scored.scores });
    const registered = register({
      model: best.model,
      candidate: best.candidate,
      scores: best.scores,
      test: parts.test,
      modelName,
      trackingUri,
    });
    return {
      model: registered.model,
      version: registered.version,
      candidate: best.candidate,
      scores: best.scores,
    };
  },
);

async function readParameters(path: string): Promise<ModelParameters> {
  return JSON.parse(await readFile(path, 'utf8')) as ModelParameters;
}

function logScores(run: { logMetric(key: string, value: number): void }, scores: Scores): void {
  run.logMetric('test_accuracy', scores.accuracy);
  run.logMetric('test_f1', scores.f1);
  run.logMetric('test_log_loss', scores.logLoss);
}
