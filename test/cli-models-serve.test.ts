// End-to-end: the built `keel models serve` on a real ONNX model (built with the SDK's exportMlp) —
// from a local directory, and from `models:/` and `runs:/` URIs against a real `keel server` —
// asserting the ready line, answers over real HTTP, clean shutdown and one-line errors.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeelClient } from '../packages/sdk/src/index.js';
import { expectOneErrorLine } from './helpers/cli.js';
import {
  KEEL_BIN,
  type KeelServer,
  killAll,
  runKeel,
  type StartedProcess,
  startKeelServer,
  startProcess,
} from './helpers/keel-process.js';
import { expectProbabilities, FEATURES, writeOnnxModelDir } from './helpers/onnx-model-dir.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-serve-'));
  tempDirs.push(dir);
  return dir;
}

/** `keel models serve --port 0 <args>`, once its ready line is out. */
function serve(args: readonly string[], env: Record<string, string> = {}): Promise<StartedProcess> {
  return startProcess(process.execPath, [KEEL_BIN, 'models', 'serve', '--port', '0', ...args], {
    ready: /^Keel serving model /,
    env,
  });
}

async function invocations(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function status(url: string): Promise<number> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
}

/** Rows of `FEATURES` values. */
function rows(count: number, offset = 0): number[][] {
  return Array.from({ length: count }, (_, r) =>
    Array.from({ length: FEATURES }, (_, c) => Math.sin(offset + r * FEATURES + c) * 2),
  );
}

/** The `keel-model-*` download folders under `dir`. */
function downloads(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('keel-model-'));
}

let modelDir: string;

beforeAll(async () => {
  modelDir = await writeOnnxModelDir(join(tempDir(), 'iris-mlp'));
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('keel models serve: a local model directory', () => {
  it('serves under the folder name on 127.0.0.1, answers both protocols, and stops cleanly on SIGTERM', async () => {
    const server = await serve(['-m', modelDir]);
    expect(server.readyLine).toMatch(/^Keel serving model 'iris-mlp' \(onnx\) on http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect(await status(`${server.url}/ping`)).toBe(200);
    const input = rows(5);
    const answer = await invocations(server.url, { inputs: input });
    expect(answer.status).toBe(200);
    expectProbabilities(answer.json.predictions, input);

    expect(await status(`${server.url}/v2/models/iris-mlp/ready`)).toBe(200);
    const metadata = (await (await fetch(`${server.url}/v2/models/iris-mlp`)).json()) as { name: string };
    expect(metadata.name).toBe('iris-mlp');
    // One process, one server: Node's process metrics are on.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
    expect(metrics).toMatch(/^keel_serving_requests_total\{/m);

    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(server.stdout().trim().split('\n')).toEqual([server.readyLine]);
    expect(server.stderr()).toBe('');
  });

  it('takes --name, --workers and the batching flags, and stops on SIGINT', async () => {
    const server = await serve([
      '-m',
      modelDir,
      '--name',
      'fraud',
      '--workers',
      '1',
      '--batch-max-size',
      '8',
      '--batch-max-delay-ms',
      '2',
      '--max-queue-rows',
      '1000',
    ]);
    expect(server.readyLine).toMatch(/^Keel serving model 'fraud' \(onnx\) on /);
    expect(await status(`${server.url}/v2/models/fraud/ready`)).toBe(200);
    expect(await status(`${server.url}/v2/models/iris-mlp/ready`)).toBe(404);

    // Concurrent callers each get exactly their own rows back through the batcher.
    const inputs = Array.from({ length: 24 }, (_, i) => rows(1 + (i % 3), i * 10));
    const answers = await Promise.all(inputs.map((input) => invocations(server.url, { inputs: input })));
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expectProbabilities(answer.json.predictions, inputs[i] ?? []);
    });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const calls = Number(/^keel_serving_batch_rows_count (\d+)/m.exec(metrics)?.[1]);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(24);

    expect(await server.signal('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('accepts a file:// URL', async () => {
    const server = await serve(['-m', `file://${modelDir}`, '--host', '127.0.0.1']);
    expect(server.readyLine).toMatch(/^Keel serving model 'iris-mlp' \(onnx\) on http:\/\/127\.0\.0\.1:/);
    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('keel models serve: models:/ and runs:/ URIs', () => {
  let tracking: KeelServer;
  let runId: string;

  beforeAll(async () => {
    const dir = tempDir();
    tracking = await startKeelServer([
      '--backend-store-uri',
      `sqlite:///${join(dir, 'keel.db')}`,
      '--artifacts-destination',
      join(dir, 'artifacts'),
    ]);
    const sdk = new KeelClient({ trackingUri: tracking.url, retries: 0 });
    const run = await sdk.startRun({ experiment: 'serving' });
    await run.logArtifacts(modelDir, 'model');
    await run.registerModel('model', 'iris-serve');
    await run.registerModel('model', 'iris-serve');
    await sdk.registry.setAlias('iris-serve', 'champion', '1');
    const unsupported = tempDir();
    writeFileSync(
      join(unsupported, 'MLmodel'),
      'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n',
    );
    await run.logArtifacts(unsupported, 'sklearn-model');
    await run.registerModel('sklearn-model', 'sklearn-only');
    await run.end();
    runId = run.runId;
  });

  it('downloads models:/name@alias, serves it under the registered name and version, and removes the download on stop', async () => {
    const tmp = tempDir();
    const server = await serve(['-m', 'models:/iris-serve@champion', '--tracking-uri', tracking.url], {
      TMPDIR: tmp,
    });
    expect(server.readyLine).toMatch(
      /^Keel serving model 'iris-serve' version 1 \(onnx\) on http:\/\/127\.0\.0\.1:\d+$/,
    );
    expect(downloads(tmp)).toHaveLength(1);
    expect(await status(`${server.url}/v2/models/iris-serve/versions/1/ready`)).toBe(200);
    const input = rows(3);
    const answer = await invocations(server.url, { inputs: input });
    expect(answer.status).toBe(200);
    expectProbabilities(answer.json.predictions, input);

    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(downloads(tmp)).toEqual([]);
  });

  it('resolves models:/name/latest, taking the server from KEEL_TRACKING_URI', async () => {
    const server = await serve(['-m', 'models:/iris-serve/latest'], { KEEL_TRACKING_URI: tracking.url });
    expect(server.readyLine).toMatch(/^Keel serving model 'iris-serve' version 2 \(onnx\) on /);
    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('serves runs:/<run-id>/model under the artifact folder name, unversioned', async () => {
    const server = await serve(['-m', `runs:/${runId}/model`, '--tracking-uri', tracking.url]);
    expect(server.readyLine).toMatch(/^Keel serving model 'model' \(onnx\) on /);
    const input = rows(2);
    expectProbabilities((await invocations(server.url, { inputs: input })).json.predictions, input);
    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('fails with the registry error code for an unknown model, version, alias or run', async () => {
    for (const uri of [
      'models:/no-such-model/1',
      'models:/iris-serve/9',
      'models:/iris-serve@nope',
      'runs:/0123456789abcdef0123456789abcdef/model',
    ]) {
      const result = await runKeel(['models', 'serve', '-m', uri, '--tracking-uri', tracking.url]);
      expectOneErrorLine(result);
      expect(result.stderr).toMatch(/\(RESOURCE_DOES_NOT_EXIST\)\n$/);
    }
  });

  it('fails for a downloaded model with no supported flavor, leaving no download behind', async () => {
    const tmp = tempDir();
    const result = await runKeel(
      ['models', 'serve', '-m', 'models:/sklearn-only/1', '--tracking-uri', tracking.url],
      {
        env: { TMPDIR: tmp },
      },
    );
    expectOneErrorLine(result);
    expect(result.stderr).toMatch(
      /no supported flavor: found \[python_function\].*\(INVALID_PARAMETER_VALUE\)\n$/,
    );
    expect(downloads(tmp)).toEqual([]);
  });
});

describe('keel models serve: errors', () => {
  let blocker: Server;
  let busyPort: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
  });

  it.each([
    [
      'a malformed models:/ URI',
      ['-m', 'models:/'],
      /Invalid model URI 'models:\/'.*\(INVALID_PARAMETER_VALUE\)$/,
    ],
    [
      'an unsupported scheme',
      ['-m', 's3://bucket/model'],
      /^error: Unsupported model URI 's3:\/\/bucket\/model': use models:\//,
    ],
    [
      'a missing directory',
      ['-m', '/no/such/model'],
      /^error: Model directory '\/no\/such\/model' does not exist$/,
    ],
    ['a bad --port', ['-m', '.', '--port', '70000'], /^error: Invalid --port '70000'/],
    ['a bad --workers', ['-m', '.', '--workers', '0'], /^error: Invalid --workers '0'/],
    [
      'a bad --batch-max-delay-ms',
      ['-m', '.', '--batch-max-delay-ms', '-1'],
      /^error: Invalid --batch-max-delay-ms '-1'/,
    ],
    ['no -m', [], /^error: required option '-m, --model-uri <uri>' not specified$/],
  ])('prints one line for %s', async (_what, args, message) => {
    const result = await runKeel(['models', 'serve', ...args]);
    expectOneErrorLine(result);
    expect(result.stderr.trim()).toMatch(message);
  });

  it('prints one line for a directory without MLmodel, or with no supported flavor', async () => {
    const empty = tempDir();
    const noMLmodel = await runKeel(['models', 'serve', '-m', empty]);
    expectOneErrorLine(noMLmodel);
    expect(noMLmodel.stderr).toMatch(/MLmodel.*\(INVALID_PARAMETER_VALUE\)\n$/);

    const pyfunc = join(tempDir(), 'pyfunc');
    mkdirSync(pyfunc);
    writeFileSync(
      join(pyfunc, 'MLmodel'),
      'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n',
    );
    const unsupported = await runKeel(['models', 'serve', '-m', pyfunc]);
    expectOneErrorLine(unsupported);
    expect(unsupported.stderr).toMatch(
      /no supported flavor: found \[python_function\], supported: \[.*onnx.*\]/,
    );
  });

  it('prints one line when the port is in use', async () => {
    const result = await runKeel(['models', 'serve', '-m', modelDir, '--port', String(busyPort)]);
    expectOneErrorLine(result);
    expect(result.stderr).toBe(
      `error: Port ${busyPort} on 127.0.0.1 is already in use; pick another with --port\n`,
    );
  });

  it('prints one line for a served name the protocol paths cannot hold', async () => {
    const result = await runKeel(['models', 'serve', '-m', modelDir, '--name', 'a/b']);
    expectOneErrorLine(result);
    expect(result.stderr).toMatch(/\(INVALID_PARAMETER_VALUE\)\n$/);
  });
});
