import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type MLmodel, parseMLmodel } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActiveRun } from '../active-run.js';
import { InvalidParameterError, KeelClient, type LoadedModel, loadModel, NotFoundError } from '../index.js';
import { type DenseLayer, exportMlp } from '../onnx/index.js';
import { dense, forward, matrix, rng } from '../testing/dense-reference.js';
import { installSdk } from '../testing/installed-sdk.js';
import { startTestServer, type TestServer } from '../testing/test-server.js';

const REPO_NODE_MODULES = fileURLToPath(new URL('../../../../node_modules', import.meta.url));
const next = rng(11);
const LAYERS: DenseLayer[] = [dense(next, 6, 16, 'relu'), dense(next, 16, 3, 'softmax')];
const ROWS = matrix(next, 5, 6, 2);
const TOLERANCE = 1e-5;
const RUNTIME = { workers: 1 };

let server: TestServer;
let keel: KeelClient;
let scratch: string;

beforeAll(async () => {
  server = await startTestServer();
  keel = new KeelClient({ trackingUri: server.uri, retries: 0 });
  scratch = await mkdtemp(join(tmpdir(), 'keel-log-model-test-'));
});

afterAll(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.unreachable('expected the call to fail'),
    (error: unknown) => error as Error,
  );
}

/** Predicts ROWS with `model` and checks every probability against the JS forward pass. */
async function expectReference(model: LoadedModel): Promise<void> {
  const output = await model.predict(ROWS);
  if (output.kind !== 'tensors') throw new Error('expected tensors');
  const out = output.tensors.output;
  expect(out?.shape).toEqual([ROWS.length, 3]);
  ROWS.forEach((row, r) => {
    forward(LAYERS, row).forEach((expected, j) => {
      expect(Math.abs((out?.data[r * 3 + j] ?? Number.NaN) - expected)).toBeLessThan(TOLERANCE);
    });
  });
}

async function withModel(uri: string, check: (model: LoadedModel) => Promise<void>): Promise<void> {
  const model = await keel.loadModel(uri, { runtime: RUNTIME });
  try {
    await check(model);
  } finally {
    await model.close();
  }
}

describe('logModel and loadModel: onnx', () => {
  let run: ActiveRun;
  let runId: string;

  beforeAll(async () => {
    run = await keel.startRun({ experiment: 'log-model-onnx' });
    runId = run.runId;
  });
  afterAll(async () => {
    await run?.end();
  });

  it('logs, records, registers and loads the model by alias; predictions match the JS network', async () => {
    const logged = await run.logModel({
      flavor: 'onnx',
      onnx: exportMlp({ layers: LAYERS }),
      inputExample: ROWS.slice(0, 2),
      registeredModelName: 'fraud',
      versionTags: { stage: 'test' },
    });
    expect(logged.modelUri).toBe(`runs:/${runId}/model`);
    expect(logged.artifactPath).toBe('model');
    expect(logged.registeredModelVersion).toMatchObject({ name: 'fraud', version: '1', run_id: runId });
    expect(logged.mlmodel).toMatchObject({ run_id: runId, artifact_path: 'model' });

    const files = (await keel.listArtifacts(runId, 'model')).map((f) => f.path).sort();
    expect(files).toEqual([
      'model/MLmodel',
      'model/input_example.json',
      'model/model.onnx',
      'model/requirements.txt',
      'model/serving_input_example.json',
    ]);
    // runs/log-model recorded the same MLmodel on the run.
    const tags = (await keel.getRun(runId)).data.tags ?? [];
    const history = JSON.parse(
      tags.find((t) => t.key === 'mlflow.log-model.history')?.value ?? '[]',
    ) as MLmodel[];
    expect(history).toEqual([logged.mlmodel]);

    await keel.registry.setAlias('fraud', 'champion', 1);
    const dst = join(scratch, 'champion');
    const model = await loadModel('models:/fraud@champion', {
      client: keel,
      dstPath: dst,
      runtime: RUNTIME,
    });
    try {
      expect(model.path).toBe(dst);
      expect(model.metadata.name).toBe('fraud');
      expect(model.metadata.flavor).toBe('onnx');
      expect(model.metadata.mlmodel.model_uuid).toBe(logged.mlmodel.model_uuid);
      expect(model.signature).toEqual(logged.signature);
      expect(await readFile(join(dst, 'registered_model_meta'), 'utf8')).toBe(
        "model_name: 'fraud'\nmodel_version: '1'\n",
      );
      await expectReference(model);
      // The same rows as a ModelInput, and an input the signature refuses.
      const flat = await model.predict({
        kind: 'tensors',
        tensors: { input: { data: ROWS.flat(), shape: [ROWS.length, 6] } },
      });
      expect(flat.kind).toBe('tensors');
      const wrong = await rejection(model.predict([[1, 2, 3]]));
      expect(wrong).toBeInstanceOf(InvalidParameterError);
      expect(wrong.message).toMatch(/Shape of input 'input' does not match the model signature/);
    } finally {
      await model.close();
    }
    // A caller's dstPath is kept.
    expect(existsSync(join(dst, 'MLmodel'))).toBe(true);
  });

  it('loads every URI form, and removes its own download folder on close', async () => {
    await keel.registry.transitionStage('fraud', 1, 'Staging');
    const local = join(scratch, 'local');
    const { path } = await keel.downloadModel(`runs:/${runId}/model`, local);
    expect(path).toBe(join(local, 'model'));
    const uris = [
      `runs:/${runId}/model`,
      'models:/fraud/1',
      'models:/fraud@champion',
      'models:/fraud/staging',
      'models:/fraud/latest',
      path,
      pathToFileURL(path).href,
    ];
    for (const uri of uris) {
      let downloadedTo = '';
      await withModel(uri, async (model) => {
        downloadedTo = model.path;
        await expectReference(model);
        expect(model.metadata.name).toBe(uri.startsWith('models:') ? 'fraud' : 'model');
      });
      if (uri.includes(':/')) expect(existsSync(downloadedTo), uri).toBe(uri.startsWith('file:'));
    }
  });

  it('reports unknown models, folders without MLmodel and unsupported URIs', async () => {
    expect(await rejection(keel.loadModel('models:/fraud@nobody'))).toBeInstanceOf(NotFoundError);
    expect(await rejection(keel.loadModel('models:/no-such-model/1'))).toBeInstanceOf(NotFoundError);
    await run.logArtifact(join(fileURLToPath(new URL('../testing/iris.csv', import.meta.url))), 'data');
    const notModel = await rejection(keel.loadModel(`runs:/${runId}/data`));
    expect(notModel).toBeInstanceOf(InvalidParameterError);
    expect(notModel.message).toMatch(/is not a model: its files hold no MLmodel/);
    const scheme = await rejection(keel.loadModel('s3://bucket/model'));
    expect(scheme).toBeInstanceOf(InvalidParameterError);
    expect(scheme.message).toMatch(/Unsupported model URI 's3:\/\/bucket\/model'/);
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    expect(await rejection(keel.loadModel(empty))).toBeInstanceOf(InvalidParameterError);
  });

  it('refuses artifact paths that leave the run, and logging to an ended run', async () => {
    const onnx = exportMlp({ layers: LAYERS });
    const traversal = await rejection(run.logModel({ flavor: 'onnx', onnx, artifactPath: '../escape' }));
    expect(traversal).toBeInstanceOf(InvalidParameterError);
    expect(traversal.message).toMatch(/'\.\.' segments are not allowed/);
    expect(await rejection(run.logModel({ flavor: 'onnx', onnx, artifactPath: '/' }))).toBeInstanceOf(
      InvalidParameterError,
    );
    const other = await keel.startRun({ experiment: 'log-model-onnx' });
    await other.end();
    await expect(other.logModel({ flavor: 'onnx', onnx })).rejects.toThrow(/has ended/);
    // Through the client a finished run still takes a model (as MLflow's client allows); a deleted one does not.
    const late = await keel.logModel(other.runId, { flavor: 'onnx', onnx, artifactPath: 'late' });
    expect(late.modelUri).toBe(`runs:/${other.runId}/late`);
    await keel.deleteRun(other.runId);
    expect(await rejection(keel.logModel(other.runId, { flavor: 'onnx', onnx }))).toBeInstanceOf(
      InvalidParameterError,
    );
  });
});

describe('logModel and loadModel: js and process', () => {
  it('logs a TypeScript module that imports an npm package and loads it with no node_modules', async () => {
    const project = join(scratch, 'js-project');
    await mkdir(join(project, 'node_modules'), { recursive: true });
    await symlink(join(REPO_NODE_MODULES, 'yaml'), join(project, 'node_modules', 'yaml'), 'dir');
    await writeFile(
      join(project, 'model.ts'),
      [
        "import { parse } from 'yaml';",
        'const { factor } = parse("factor: 2") as { factor: number };',
        'export function predict(input: { columns: Record<string, number[]> }) {',
        '  return { doubled: input.columns.x.map((v) => v * factor) };',
        '}',
      ].join('\n'),
    );
    const run = await keel.startRun({ experiment: 'log-model-js' });
    const logged = await run.logModel({
      flavor: 'js',
      module: join(project, 'model.ts'),
      inputExample: [{ x: 1.5 }, { x: 2.5 }],
      registeredModelName: 'doubler',
    });
    await run.end();
    const files = (await keel.listArtifacts(run.runId, 'model/code')).map((f) => f.path);
    expect(files).toEqual(['model/code/model.mjs']);
    await withModel('models:/doubler/latest', async (model) => {
      expect(model.metadata.flavor).toBe('js');
      expect(await readdir(model.path)).not.toContain('node_modules');
      expect(await model.predict({ x: [1, 2.5] })).toEqual({
        kind: 'columns',
        columns: { doubled: [2, 5] },
        rowCount: 2,
      });
      const missing = await rejection(model.predict([{ y: 1 }]));
      expect(missing).toBeInstanceOf(InvalidParameterError);
      expect(missing.message).toMatch(/Model is missing inputs \['x'\]/);
    });
    expect(logged.signature?.inputs).toEqual({
      kind: 'columns',
      columns: [{ type: 'double', name: 'x', required: true }],
    });
  });

  it('logs a program served over keel-jsonl/1 and loads it', async () => {
    const program = join(scratch, 'program');
    await mkdir(program);
    await writeFile(
      join(program, 'serve.mjs'),
      [
        "import { createInterface } from 'node:readline';",
        'process.stdout.write(\'{"ready": true}\\n\');',
        'for await (const line of createInterface({ input: process.stdin })) {',
        '  const { id, input } = JSON.parse(line);',
        '  const offset = Number(process.env.OFFSET);',
        '  const output = input.columns.x.map((v) => v + offset);',
        "  process.stdout.write(JSON.stringify({ id, output }) + '\\n');",
        '}',
      ].join('\n'),
    );
    const run = await keel.startRun({ experiment: 'log-model-process' });
    const logged = await keel.logModel(run.runId, {
      flavor: 'process',
      path: program,
      command: [process.execPath, 'serve.mjs'],
      env: { OFFSET: '10' },
      inputExample: { x: [1.5] },
    });
    await run.end();
    expect(logged.mlmodel.flavors.process).toMatchObject({ protocol: 'keel-jsonl/1' });
    await withModel(logged.modelUri, async (model) => {
      expect(model.metadata.flavor).toBe('process');
      expect(await model.predict({ x: [1, 2] })).toEqual({
        kind: 'columns',
        columns: { predictions: [11, 12] },
        rowCount: 2,
      });
    });
  });
});

describe('loadModel without @keel/server', () => {
  it('fails with ModelRuntimeNotInstalledError naming the package to install', async () => {
    const root = await mkdtemp(join(tmpdir(), 'keel-sdk-no-server-'));
    try {
      installSdk(root);
      const modelDir = join(root, 'model');
      await mkdir(modelDir);
      await writeFile(join(modelDir, 'MLmodel'), 'flavors: {}\n');
      await writeFile(
        join(root, 'main.mjs'),
        [
          "import { loadModel, ModelRuntimeNotInstalledError } from '@keel/sdk';",
          "const error = await loadModel('./model').then(() => undefined, (e) => e);",
          'console.log(JSON.stringify({ typed: error instanceof ModelRuntimeNotInstalledError, name: error?.name, message: error?.message }));',
        ].join('\n'),
      );
      const stdout = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['main.mjs'], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
        });
        child.once('error', reject);
        child.once('close', () => resolve(out));
      });
      expect(JSON.parse(stdout)).toEqual({
        typed: true,
        name: 'ModelRuntimeNotInstalledError',
        message:
          'Loading a model locally needs the model runtime of @keel/server: install @keel/server to load models locally (npm install @keel/server)',
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('the deprecated logModel(runId, mlmodel) form', () => {
  it('still records an MLmodel without uploading', async () => {
    const run = await keel.startRun({ experiment: 'log-model-raw' });
    const model = {
      run_id: run.runId,
      artifact_path: 'm',
      utc_time_created: '2024-05-01 00:00:00.000000',
      flavors: {},
    };
    expect(await keel.logModel(run.runId, model)).toBeUndefined();
    const tags = (await keel.getRun(run.runId)).data.tags ?? [];
    const history = tags.find((t) => t.key === 'mlflow.log-model.history')?.value ?? '[]';
    expect(parseMLmodel(JSON.stringify(JSON.parse(history)[0]))).toMatchObject({ artifact_path: 'm' });
    await run.end();
  });
});
