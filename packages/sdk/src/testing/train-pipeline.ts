/**
 * A realistic workflow module for the SDK's workflow tests: load → split → map(fit) → pick →
 * when(score > 0.9) register, else report (a command task shipping a shell script), plus a
 * sub-workflow (`prep`). The task functions really work on small CSV files, so the bundle's
 * tasks can be run.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { command, map, RetryableError, t, task, when, workflow } from '../index.js';

export const load = task(
  { name: 'load', inputs: { source: t.string() }, outputs: { data: t.dataset({ format: 'csv' }) } },
  async ({ source }, ctx) => {
    const data = ctx.outputPath('data.csv');
    await copyFile(source, data);
    return { data };
  },
);

export const split = task(
  {
    name: 'split',
    inputs: { data: t.dataset(), testFraction: t.float(), seed: t.optional(t.int()) },
    outputs: { train: t.dataset(), test: t.dataset() },
    cache: { version: '1' },
  },
  async ({ data, testFraction }, ctx) => {
    const [header = '', ...rows] = (await readFile(data, 'utf8')).trim().split('\n');
    const cut = Math.round(rows.length * (1 - testFraction));
    const train = ctx.outputPath('train.csv');
    const test = ctx.outputPath('test.csv');
    await writeFile(train, [header, ...rows.slice(0, cut)].join('\n'));
    await writeFile(test, [header, ...rows.slice(cut)].join('\n'));
    return { train, test };
  },
);

export const fitModel = task(
  {
    name: 'fit',
    inputs: { train: t.dataset(), test: t.dataset(), alpha: t.float() },
    outputs: { model: t.file(), score: t.float() },
    cache: { version: '1' },
    retries: 2,
    timeoutMs: 600_000,
  },
  async ({ train, alpha }, ctx) => {
    if (alpha < 0) throw new RetryableError('negative alpha');
    const rows = (await readFile(train, 'utf8')).trim().split('\n').length - 1;
    const model = ctx.outputPath('model.json');
    await writeFile(model, JSON.stringify({ alpha, rows }));
    return { model, score: 1 - alpha / 10 };
  },
);

export const pick = task(
  {
    name: 'pick',
    inputs: { scores: t.array(t.float()), models: t.array(t.file()) },
    outputs: { model: t.file(), score: t.float() },
  },
  ({ scores, models }) => {
    const best = scores.indexOf(Math.max(...scores));
    return { model: models[best] ?? '', score: scores[best] ?? 0 };
  },
);

export const register = task(
  { name: 'register', inputs: { model: t.file(), name: t.string() }, outputs: { card: t.file() } },
  async ({ model, name }, ctx) => {
    const card = ctx.outputPath('card.md');
    await writeFile(card, `# ${name}\n\n${await readFile(model, 'utf8')}\n`);
    return { card };
  },
);

export const report = command({
  name: 'report',
  inputs: { score: t.float() },
  outputs: { report: t.file() },
  argv: ['sh', '{{files}}/workflow-files/report.sh', '{{inputs.score}}', '{{outputs.report}}'],
  files: ['workflow-files/report.sh'],
});

export const prep = workflow(
  { name: 'prep', inputs: { source: t.string() }, defaults: { source: 'data/iris.csv' } },
  ({ source }) => {
    const { data } = load({ source });
    return split({ data, testFraction: 0.2 });
  },
);

export const train = workflow(
  {
    name: 'train',
    inputs: { source: t.string(), alphas: t.array(t.float()) },
    defaults: { alphas: [0.5, 1, 2] },
    description: 'Fits one model per alpha and registers the best',
  },
  ({ source, alphas }) => {
    const { data } = load({ source });
    const parts = split({ data, testFraction: 0.2, seed: 7 });
    const fits = map(
      fitModel,
      { train: parts.train, test: parts.test, alpha: alphas },
      { over: ['alpha'], concurrency: 2 },
    );
    const best = pick({ scores: fits.score, models: fits.model });
    const gate = when(best.score)
      .gt(0.9)
      .then(() => ({ note: register({ model: best.model, name: 'iris' }).card }))
      .otherwise(() => ({ note: report({ score: best.score }).report }));
    return { model: best.model, score: best.score, note: gate.note };
  },
);

export const trainWithPrep = workflow(
  { name: 'train.prep', inputs: { source: t.string() } },
  ({ source }) => {
    const parts = prep({ source });
    const first = fitModel({ train: parts.train, test: parts.test, alpha: 0.1 });
    const second = fitModel({ train: parts.train, test: parts.test, alpha: 1 });
    return pick({ scores: [first.score, second.score], models: [first.model, second.model] });
  },
);
