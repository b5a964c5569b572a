// End-to-end: the built `keel serving` hosting the deployments of a real `keel server`'s store in a
// process of its own — real ONNX models registered through the SDK, a deployment created through the
// API, an alias moved while it serves, answers over real HTTP, records in the shared store.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeMLmodel } from '../packages/core/src/index.js';
import { KeelClient } from '../packages/sdk/src/index.js';
import { exportLinearModel } from '../packages/sdk/src/onnx/index.js';
import { expectOneErrorLine } from './helpers/cli.js';
import {
  KEEL_BIN,
  type KeelServer,
  killAll,
  runKeel,
  startKeelServer,
  startProcess,
  waitFor,
} from './helpers/keel-process.js';
import { expectProbabilities, FEATURES, writeOnnxModelDir } from './helpers/onnx-model-dir.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-serving-'));
  tempDirs.push(dir);
  return dir;
}

/** A linear ONNX model answering the constant 7 for every row of `FEATURES` values. */
function writeConstantModelDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const weights = [Array.from({ length: FEATURES }, () => 0)];
  writeFileSync(join(dir, 'model.onnx'), exportLinearModel({ weights, bias: [7], activation: 'none' }));
  writeFileSync(
    join(dir, 'MLmodel'),
    serializeMLmodel({ artifact_path: 'model', flavors: { onnx: { data: 'model.onnx' } } }),
  );
  return dir;
}

const rows = (count: number) =>
  Array.from({ length: count }, (_, r) => Array.from({ length: FEATURES }, (_, c) => Math.cos(r + c)));

/** Calls answered by a deployment (any status): each must leave exactly one prediction record. */
let answered = 0;

async function invoke(url: string, deployment: string, body: unknown) {
  answered += 1;
  const response = await fetch(`${url}/deployments/${deployment}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('keel serving', () => {
  let dir: string;
  let tracking: KeelServer;
  let sdk: KeelClient;
  let storeFlags: string[];

  beforeAll(async () => {
    dir = tempDir();
    storeFlags = [
      '--backend-store-uri',
      `sqlite:///${join(dir, 'keel.db')}`,
      '--artifacts-destination',
      join(dir, 'artifacts'),
    ];
    tracking = await startKeelServer(storeFlags);
    sdk = new KeelClient({ trackingUri: tracking.url, retries: 0 });
    const run = await sdk.startRun({ experiment: 'serving' });
    await run.logArtifacts(await writeOnnxModelDir(join(dir, 'mlp')), 'mlp');
    await run.logArtifacts(writeConstantModelDir(join(dir, 'constant')), 'constant');
    await run.registerModel('mlp', 'iris');
    await run.registerModel('constant', 'iris');
    await run.end();
    await sdk.registry.setAlias('iris', 'champion', '1');
    await sdk.deployments.create('iris', { routes: [{ name: 'main', model: 'models:/iris@champion' }] });
  });

  it("serves the store's deployments from its own process and follows an alias moved through the Keel server", async () => {
    const cacheDir = join(dir, 'model-cache');
    const serving = await startProcess(
      process.execPath,
      [
        KEEL_BIN,
        'serving',
        '--port',
        '0',
        ...storeFlags,
        '--model-cache-dir',
        cacheDir,
        '--poll-interval-ms',
        '100',
      ],
      { ready: /^Keel serving deployments on / },
    );
    expect(serving.readyLine).toMatch(
      /^Keel serving deployments on http:\/\/127\.0\.0\.1:\d+ \(sqlite:\/\/\/.*keel\.db, 1 of 1 deployments ready\)$/,
    );
    const input = rows(4);
    const first = await invoke(serving.url, 'iris', { inputs: input });
    expect(first.status).toBe(200);
    expectProbabilities(first.json.predictions, input);
    // The version's files were copied into the cache, named by version and digest, with the
    // manifest that lets a later load reuse them without hashing again.
    const cached = readdirSync(join(cacheDir, 'iris')).sort();
    expect(cached).toEqual([
      expect.stringMatching(/^1-[0-9a-f]{64}$/),
      expect.stringMatching(/^1-[0-9a-f]{64}\.manifest\.json$/),
    ]);
    expect(cached[1]).toBe(`${cached[0]}.manifest.json`);

    await sdk.registry.setAlias('iris', 'champion', '2');
    await waitFor(
      async () =>
        JSON.stringify((await invoke(serving.url, 'iris', { inputs: input })).json.predictions) ===
        JSON.stringify([[7], [7], [7], [7]]),
      10_000,
      'the deployment to follow the alias to version 2',
    );
    const metrics = await (await fetch(`${serving.url}/metrics`)).text();
    expect(metrics).toMatch(/keel_serving_requests_total\{[^}]*deployment="iris"[^}]*version="2"/);
    expect(await serving.signal('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(serving.stderr()).toBe('');

    // Every answered call was recorded in the shared store, by the serving process.
    const records = await fetch(`${tracking.url}/api/2.0/keel/predictions?deployment=iris&max_results=1000`);
    expect(records.status).toBe(200);
    const body = (await records.json()) as { predictions: { model_version: string; status: number }[] };
    expect(body.predictions).toHaveLength(answered);
    expect(body.predictions.every((r) => r.status === 200)).toBe(true);
    expect(new Set(body.predictions.map((r) => r.model_version))).toEqual(new Set(['1', '2']));
  });

  it('reports a store it cannot use in one line', async () => {
    const result = await runKeel(['serving', '--port', '0', '--backend-store-uri', 'mysql://localhost/keel']);
    expectOneErrorLine(result);
    expect(result.stderr).toContain('sqlite://');
  });
});
