// End-to-end: the workflow example (examples/workflow-training) registered with the built `keel`
// CLI on a real `keel server`, launched on the breast cancer data: it trains six candidates, picks
// the best and registers it as an ONNX model version; a second launch with the same inputs reuses
// every task's outputs from the cache.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CANDIDATES } from '../examples/workflow-training/flows/train.js';
import {
  bestIndex,
  featureRecord,
  type Scores,
  splitTable,
} from '../examples/workflow-training/src/model.js';
import { BREAST_CANCER_FEATURES, readSklearnCsv } from '../examples/workflow-training/src/table.js';
import type { Execution, ExecutionNode } from '../packages/core/src/index.js';
import { KeelClient, loadModel } from '../packages/sdk/src/index.js';
import {
  type KeelServer,
  killAll,
  runKeel,
  sqliteServerArgs,
  startKeelServer,
} from './helpers/keel-process.js';

const EXAMPLE = fileURLToPath(new URL('../examples/workflow-training/', import.meta.url));
const FLOW = join(EXAMPLE, 'flows/train.ts');
const DATA = join(EXAMPLE, 'data/breast_cancer.csv');
const WORKFLOW = 'breast-cancer-training';
const MODEL = 'breast-cancer-classifier';

let server: KeelServer;
let sdk: KeelClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-example-workflow-'));
  server = await startKeelServer(sqliteServerArgs(dir));
  sdk = new KeelClient({ trackingUri: server.url, retries: 0 });
});
afterAll(async () => {
  await killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `keel workflows <args> --tracking-uri <server>`. */
function keel(...args: string[]): ReturnType<typeof runKeel> {
  return runKeel(['workflows', ...args, '--tracking-uri', server.url], { timeoutMs: 60_000 });
}

/** `keel workflows launch breast-cancer-training … --wait --json`, as the README runs it. */
async function launch(): Promise<Execution> {
  const result = await keel(
    'launch',
    WORKFLOW,
    '--input',
    `source=${DATA}`,
    '--input',
    `trackingUri=${server.url}`,
    '--wait',
    '--json',
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Execution;
}

function node(execution: Execution, id: string): ExecutionNode {
  const found = execution.nodes.find((n) => n.node_id === id);
  if (found === undefined) throw new Error(`no node '${id}' in ${execution.nodes.map((n) => n.node_id)}`);
  return found;
}

/** The latest value of each metric of a run, and its params. */
async function runData(runId: string | null) {
  const run = await sdk.getRun(runId ?? '');
  return {
    metrics: Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value])),
    params: Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value])),
  };
}

const items = (prefix: string) => DEFAULT_CANDIDATES.map((_, i) => `${prefix}[${i}]`);

describe('examples/workflow-training', () => {
  let first: Execution;

  it('registers flows/train.ts with the CLI', async () => {
    const result = await keel('register', FLOW);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      new RegExp(`^Registered workflow '${WORKFLOW}' version [0-9a-f]{64} \\(default\\)\n$`),
    );
    const spec = (await sdk.workflows.get(WORKFLOW)).spec;
    expect(spec.workflow.nodes.map((n) => n.id)).toEqual([
      'load',
      'split',
      'train-map',
      'evaluate-map',
      'pick',
      'register',
    ]);
    expect(spec.tasks.every((task) => task.cache !== undefined)).toBe(true);
  });

  it('trains every candidate, picks the best by test F1 and registers it as an ONNX model', async () => {
    first = await launch();
    expect(first.state).toBe('succeeded');
    expect(first.nodes.filter((n) => n.kind !== 'map').every((n) => n.state === 'succeeded')).toBe(true);

    // Each candidate was trained with its own hyper-parameters, its loss logged every 25 epochs.
    for (const [i, id] of items('train-map').entries()) {
      const { params } = await runData(node(first, id).run_id);
      const candidate = DEFAULT_CANDIDATES[i];
      expect(params).toMatchObject({
        l2: String(candidate?.l2),
        learning_rate: String(candidate?.learningRate),
      });
    }
    const history = await sdk.getMetricHistory(node(first, 'train-map[0]').run_id ?? '', 'train_loss');
    expect(history.map((point) => point.step)).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * 25));

    // Each candidate was scored on the test split; pick took the best of those scores.
    const scores = items('evaluate-map').map((id) => node(first, id).outputs?.scores as unknown as Scores);
    for (const [i, id] of items('evaluate-map').entries()) {
      const { metrics } = await runData(node(first, id).run_id);
      expect(metrics).toEqual({
        test_accuracy: scores[i]?.accuracy,
        test_f1: scores[i]?.f1,
        test_log_loss: scores[i]?.logLoss,
      });
    }
    const best = bestIndex(scores);
    expect(first.outputs).toEqual({
      model: `models:/${MODEL}/1`,
      version: '1',
      candidate: DEFAULT_CANDIDATES[best],
      scores: scores[best],
    });
    expect(scores[best]?.accuracy).toBeGreaterThan(0.95);

    // The registered version comes from register's run, which carries the test scores.
    const version = await sdk.registry.getModelVersion(MODEL, 1);
    expect(version).toMatchObject({ status: 'READY', run_id: node(first, 'register').run_id });
    const { metrics, params } = await runData(version.run_id ?? null);
    expect(metrics).toEqual({
      test_accuracy: scores[best]?.accuracy,
      test_f1: scores[best]?.f1,
      test_log_loss: scores[best]?.logLoss,
    });
    expect(params).toMatchObject({ learning_rate: String(DEFAULT_CANDIDATES[best]?.learningRate) });

    // The ONNX model, loaded back from the registry, scores the same test split as accurately.
    const table = await readSklearnCsv(DATA, BREAST_CANCER_FEATURES);
    const { test } = splitTable(table, table.classes, 0.2, 42);
    const model = await loadModel(`models:/${MODEL}/1`, {
      clientOptions: { trackingUri: server.url },
      runtime: { workers: 1 },
    });
    try {
      const output = await model.predict(test.rows.map((row) => featureRecord(BREAST_CANCER_FEATURES, row)));
      if (output.kind !== 'tensors') throw new Error('expected tensors');
      const probabilities = output.tensors.output?.data ?? [];
      const correct = test.labels.filter((label, r) => {
        const malignant = Number(probabilities[r * 2]) > Number(probabilities[r * 2 + 1]);
        return label === (malignant ? 'malignant' : 'benign');
      }).length;
      expect(correct / test.rows.length).toBeCloseTo(scores[best]?.accuracy ?? 0, 10);
    } finally {
      await model.close();
    }
  });

  it('launched again with the same inputs, reuses every task output from the cache', async () => {
    const again = await launch();
    expect(again.state).toBe('succeeded');
    expect(again.outputs).toEqual(first.outputs);
    const tasks = again.nodes.filter((n) => n.kind !== 'map');
    expect(tasks.map((n) => n.node_id).sort()).toEqual(
      ['load', 'split', 'pick', 'register', ...items('train-map'), ...items('evaluate-map')].sort(),
    );
    for (const task of tasks)
      expect([task.node_id, task.state, task.cache]).toEqual([task.node_id, 'cached', 'hit']);
    // Every item of a map came from the cache: so did the map.
    for (const id of ['train-map', 'evaluate-map'])
      expect([id, node(again, id).state, node(again, id).cache]).toEqual([id, 'cached', 'hit']);
    // Nothing was registered twice.
    const versions = await sdk.registry.searchModelVersions({ filter: `name='${MODEL}'` });
    expect(versions.modelVersions.map((v) => v.version)).toEqual(['1']);
  });
});
