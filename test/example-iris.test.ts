// End-to-end: the iris example (examples/iris-logistic-regression, built by `npm test`) trains a
// real model and tracks it in a real `keel server`; its one-command runner cleans up after itself.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IrisParameters,
  irisProbabilities,
} from '../examples/iris-logistic-regression/src/export-model.js';
import { IRIS_FEATURES, loadIris } from '../examples/iris-logistic-regression/src/iris.js';
import { seededRandom, stratifiedSplit } from '../examples/iris-logistic-regression/src/split.js';
import { featureRow } from '../examples/iris-logistic-regression/src/train.js';
import { loadModel } from '../packages/sdk/src/index.js';
import { get } from './helpers/http.js';
import { type KeelServer, killAll, sqliteServerArgs, startKeelServer } from './helpers/keel-process.js';

const EXAMPLE = fileURLToPath(new URL('../examples/iris-logistic-regression/dist/', import.meta.url));

interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script> <args>` to completion (killed after `timeoutMs`). */
function node(script: string, args: readonly string[], timeoutMs: number): Promise<Output> {
  const child = spawn(process.execPath, [join(EXAMPLE, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEEL_LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The value after `label:` in the example's closing summary. */
function summaryField(stdout: string, label: string): string {
  const value = new RegExp(`^${label}:\\s+(\\S+)$`, 'm').exec(stdout)?.[1];
  if (value === undefined) throw new Error(`no '${label}:' line in:\n${stdout}`);
  return value;
}

interface RunJson {
  info: { status: string; experiment_id: string; run_name: string };
  data: {
    metrics: { key: string; value: number; step: number }[];
    params: { key: string; value: string }[];
    tags: { key: string; value: string }[];
  };
  inputs: {
    dataset_inputs?: {
      tags: { key: string; value: string }[];
      dataset: { name: string; digest: string; source: string; schema: string; profile: string };
    }[];
  };
}

const tempDirs: string[] = [];
let server: KeelServer;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-example-test-'));
  tempDirs.push(dir);
  server = await startKeelServer(sqliteServerArgs(dir));
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('examples/iris-logistic-regression', () => {
  it('logs params, per-epoch metrics, the dataset and its artifacts, and reaches ≥ 0.9 test accuracy', async () => {
    const result = await node('main.js', ['--tracking-uri', server.url, '--experiment', 'iris-test'], 60_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const runId = summaryField(result.stdout, 'Run');
    expect(summaryField(result.stdout, 'Record')).toBe(
      `${server.url}/api/2.0/mlflow/runs/get?run_id=${runId}`,
    );

    const { json, status } = await get<{ run: RunJson }>(server.url, 'runs/get', { run_id: runId });
    expect(status).toBe(200);
    const { info, data, inputs } = json.run;
    expect(info.status).toBe('FINISHED');
    expect(info.run_name).toBe('softmax-regression');

    const params = Object.fromEntries(data.params.map((p) => [p.key, p.value]));
    expect(params).toMatchObject({
      model: 'softmax-regression',
      learning_rate: '0.5',
      epochs: '200',
      seed: '42',
      features: 'sepal_length,sepal_width,petal_length,petal_width',
      train_rows: '105',
      test_rows: '45',
    });

    const latest = Object.fromEntries(data.metrics.map((m) => [m.key, m]));
    expect(Object.keys(latest).sort()).toEqual(['loss', 'test_accuracy', 'test_loss', 'train_accuracy']);
    expect(latest.test_accuracy?.step).toBe(199);
    expect(latest.test_accuracy?.value).toBeGreaterThanOrEqual(0.9);
    expect(latest.train_accuracy?.value).toBeGreaterThanOrEqual(0.9);
    expect(Number(summaryField(result.stdout, 'Test accuracy'))).toBeCloseTo(
      latest.test_accuracy?.value ?? 0,
      4,
    );

    // One point per epoch, in order, and the loss goes down.
    const history = await get<{ metrics: { value: number; step: number }[] }>(
      server.url,
      'metrics/get-history',
      {
        run_id: runId,
        metric_key: 'loss',
      },
    );
    const losses = [...history.json.metrics].sort((a, b) => a.step - b.step);
    expect(losses.map((m) => m.step)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(losses.at(-1)?.value ?? 1).toBeLessThan((losses[0]?.value ?? 0) / 2);

    const [input] = inputs.dataset_inputs ?? [];
    expect(inputs.dataset_inputs).toHaveLength(1);
    expect(input?.dataset.name).toBe('iris');
    expect(input?.dataset.digest).toMatch(/^\w{8,}$/);
    expect(input?.dataset.source).toContain('iris.csv');
    expect(input?.tags).toContainEqual({ key: 'mlflow.data.context', value: 'training' });
    expect(input?.dataset.profile).toContain('150');
    for (const column of ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species']) {
      expect(input?.dataset.schema).toContain(column);
    }

    const listing = async (path: string): Promise<string[]> => {
      const answer = await get<{ files?: { path: string }[] }>(server.url, 'artifacts/list', {
        run_id: runId,
        path,
      });
      expect(answer.status).toBe(200);
      return (answer.json.files ?? []).map((f) => f.path).sort();
    };
    expect(await listing('')).toEqual(['evaluation', 'model', 'plots', 'training']);
    expect(await listing('evaluation')).toEqual(['evaluation/metrics.json', 'evaluation/report.md']);
    expect(await listing('model')).toEqual([
      'model/MLmodel',
      'model/input_example.json',
      'model/model.onnx',
      'model/requirements.txt',
      'model/serving_input_example.json',
    ]);
    const artifactUrl = (path: string): string =>
      `${server.url}/get-artifact?${new URLSearchParams({ run_id: runId, path })}`;

    const weights = (await (await fetch(artifactUrl('training/weights.json'))).json()) as IrisParameters;
    expect(weights.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(weights.weights).toHaveLength(4);
    expect(weights.weights.every((row) => row.length === 3 && row.every(Number.isFinite))).toBe(true);
    expect(weights.bias).toHaveLength(3);

    const svg = await (await fetch(artifactUrl('plots/training-curves.svg'))).text();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.match(/<polyline /g)).toHaveLength(4);

    const report = (await (await fetch(artifactUrl('evaluation/metrics.json'))).json()) as {
      accuracy: number;
      confusion: number[][];
    };
    expect(report.accuracy).toBeCloseTo(latest.test_accuracy?.value ?? 0, 10);
    expect(report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(45);

    // The logged ONNX model, loaded back from the registry, predicts what the JS model predicts.
    expect(summaryField(result.stdout, 'Model')).toBe(`runs:/${runId}/model`);
    const registered = summaryField(result.stdout, 'Registered');
    expect(registered).toMatch(/^models:\/iris-classifier\/\d+$/);
    const iris = await loadIris();
    // trainIris draws the split first from its seeded generator (seed 42, 30 % test).
    const { test } = stratifiedSplit(iris.labels, 0.3, seededRandom(42));
    const rows = test.map((row) => iris.features[row] ?? []);
    const expected = irisProbabilities(weights, rows);
    const model = await loadModel(registered, {
      clientOptions: { trackingUri: server.url },
      runtime: { workers: 1 },
    });
    try {
      expect(model.metadata).toMatchObject({ name: 'iris-classifier', flavor: 'onnx' });
      expect(model.signature?.inputs).toEqual({
        kind: 'columns',
        columns: IRIS_FEATURES.map((name) => ({ type: 'double', name, required: true })),
      });
      const output = await model.predict(rows.map((row) => featureRow(row)));
      if (output.kind !== 'tensors') throw new Error('expected tensors');
      const probabilities = output.tensors.output;
      expect(probabilities?.shape).toEqual([45, 3]);
      expected.forEach((row, r) => {
        row.forEach((p, c) => {
          expect(Math.abs((probabilities?.data[r * 3 + c] ?? Number.NaN) - p)).toBeLessThan(1e-5);
        });
      });
    } finally {
      await model.close();
    }
  });

  it('runs from one command against a temporary server that it stops and removes', async () => {
    const result = await node('run-local.js', [], 90_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const url = /^Started a temporary Keel server at (http:\/\/\S+) \(data in (.+)\)$/m.exec(result.stdout);
    expect(url).not.toBeNull();
    const [, serverUrl = '', dataDir = ''] = url ?? [];
    const runId = summaryField(result.stdout, 'Run');
    expect(summaryField(result.stdout, 'Record')).toBe(
      `${serverUrl}/api/2.0/mlflow/runs/get?run_id=${runId}`,
    );
    expect(Number(summaryField(result.stdout, 'Test accuracy'))).toBeGreaterThanOrEqual(0.9);
    expect(summaryField(result.stdout, 'Registered')).toBe('models:/iris-classifier/1');
    expect(result.stdout).toMatch(/Stopped the temporary server and removed its data/);
    // The server is gone and so is its data.
    await expect(fetch(`${serverUrl}/health`)).rejects.toThrow();
    expect(existsSync(dataDir)).toBe(false);
  });
});
