// End-to-end: the built `keel models build-docker`. No Docker engine runs here, so the generated build
// context is checked file by file — the Dockerfile's instructions, the model copy, the npm tarballs of
// Keel and what they contain — and its entrypoint is run for real: pointed (through environment
// overrides) at the context's model directory and at this repository's built `keel` through a PATH
// shim, it must serve the model on a free port.

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEL_VERSION } from '../packages/core/src/index.js';
import { KeelClient } from '../packages/sdk/src/index.js';
import { expectOneErrorLine } from './helpers/cli.js';
import {
  KEEL_BIN,
  killAll,
  runKeel,
  type StartedProcess,
  startKeelServer,
  startProcess,
} from './helpers/keel-process.js';
import { expectProbabilities, FEATURES, writeOnnxModelDir } from './helpers/onnx-model-dir.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cli-docker-'));
  tempDirs.push(dir);
  return dir;
}

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
}

function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The `ENV` values the image sets (`KEY=value` pairs, values possibly double-quoted). */
function imageEnv(steps: readonly Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of steps.filter((s) => s.keyword === 'ENV')) {
    for (const match of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
      const [, key = '', raw = ''] = match;
      env[key] = raw.startsWith('"') ? (JSON.parse(raw.replaceAll('\\$', '$')) as string) : raw;
    }
  }
  return env;
}

/** Paths in a `.tgz`. */
function tarList(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
}

function rows(count: number): number[][] {
  return Array.from({ length: count }, (_, r) =>
    Array.from({ length: FEATURES }, (_, c) => Math.cos(r * 7 + c)),
  );
}

/** A folder holding `keel`, a shim that runs this repository's built CLI. */
function keelShim(): string {
  const dir = tempDir();
  const shim = join(dir, 'keel');
  writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${KEEL_BIN}' "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

/**
 * Runs `<context>/entrypoint.sh` as the image would, with the image's `ENV` except the paths that
 * only exist inside it, `keel` from the shim, `PORT=0` and `env` on top.
 */
function runEntrypoint(
  context: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<StartedProcess> {
  const {
    PATH: _path,
    KEEL_MODEL_DIR: _dir,
    PORT: _port,
    ...image
  } = imageEnv(instructions(readFileSync(join(context, 'Dockerfile'), 'utf8')));
  return startProcess(join(context, 'entrypoint.sh'), args, {
    ready: /^Keel serving model /,
    env: { ...image, PATH: `${keelShim()}:${process.env.PATH ?? ''}`, PORT: '0', ...env },
  });
}

/** `http://0.0.0.0:<port>` (the image binds every interface) as a URL to call. */
function loopback(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:');
}

let modelDir: string;

beforeAll(async () => {
  modelDir = await writeOnnxModelDir(join(tempDir(), 'iris-mlp'));
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('keel models build-docker: an ONNX model directory', () => {
  let context: string;
  let result: Awaited<ReturnType<typeof runKeel>>;
  let steps: Instruction[];

  beforeAll(async () => {
    context = join(tempDir(), 'ctx');
    result = await runKeel(['models', 'build-docker', '-m', modelDir, '-n', 'iris-server:1', '-d', context]);
    steps = instructions(readFileSync(join(context, 'Dockerfile'), 'utf8'));
  });

  it('writes the context and says how to build it', () => {
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      `Wrote a Docker build context for model 'iris-mlp' (onnx) to ${context}\n` +
        `Build it with: docker build -t iris-server:1 ${context}\n`,
    );
    expect(readdirSync(context).sort()).toEqual([
      '.dockerignore',
      '.npmrc',
      'Dockerfile',
      'README.md',
      'entrypoint.sh',
      'keel',
      'model',
      'package.json',
    ]);
    expect(readFileSync(join(context, 'README.md'), 'utf8')).toContain(
      `docker build -t iris-server:1 ${context}`,
    );
    expect(readFileSync(join(context, '.dockerignore'), 'utf8').split('\n')).toContain('node_modules');
  });

  it('writes a Dockerfile that installs Keel, copies the model and serves it as a non-root user on 8080', () => {
    expect(steps[0]).toEqual({ keyword: 'FROM', args: 'node:20-bookworm-slim' });
    const keyword = (name: string) => steps.filter((s) => s.keyword === name).map((s) => s.args);
    expect(keyword('WORKDIR')).toEqual(['/opt/keel']);
    expect(keyword('EXPOSE')).toEqual(['8080']);
    expect(keyword('ENTRYPOINT')).toEqual(['["/opt/keel/entrypoint.sh"]']);
    expect(keyword('USER')).toEqual(['node']);
    const at = (name: string) => steps.findIndex((s) => s.keyword === name);
    expect(at('USER')).toBeLessThan(at('ENTRYPOINT'));
    expect(keyword('HEALTHCHECK')).toHaveLength(1);
    expect(keyword('HEALTHCHECK')[0]).toMatch(/CMD \[.*\/ping/);
    expect(keyword('RUN').some((run) => /\bnpm install --omit=dev\b/.test(run))).toBe(true);
    // An ONNX model needs no Python.
    expect(keyword('RUN').some((run) => run.includes('apt-get'))).toBe(false);
    expect(keyword('COPY')).toEqual([
      'package.json .npmrc ./',
      'keel/ ./keel/',
      'model/ ./model/',
      'entrypoint.sh ./',
    ]);
    // Every file the Dockerfile copies is in the context.
    for (const copy of keyword('COPY')) {
      for (const source of copy.split(' ').slice(0, -1)) expect(existsSync(join(context, source))).toBe(true);
    }
    expect(imageEnv(steps)).toMatchObject({
      KEEL_MODEL_DIR: '/opt/keel/model',
      KEEL_MODEL_NAME: 'iris-mlp',
      PORT: '8080',
      PATH: '/opt/keel/node_modules/.bin:$PATH',
    });
  });

  it('copies the model directory unchanged', () => {
    expect(readdirSync(join(context, 'model')).sort()).toEqual(['MLmodel', 'model.onnx']);
    for (const file of ['MLmodel', 'model.onnx']) {
      expect(readFileSync(join(context, 'model', file))).toEqual(readFileSync(join(modelDir, file)));
    }
  });

  it('packs Keel as npm tarballs holding the built dist files, installed through package.json', () => {
    const manifest = JSON.parse(readFileSync(join(context, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      overrides: Record<string, string>;
    };
    const names = ['@keel/core', '@keel/sdk', '@keel/server', '@keel/cli'];
    expect(Object.keys(manifest.dependencies).sort()).toEqual([...names].sort());
    const expected: Record<string, string[]> = {
      '@keel/core': ['dist/index.js', 'dist/index.d.ts'],
      '@keel/sdk': ['dist/index.js', 'dist/index.d.ts'],
      '@keel/server': [
        'dist/index.js',
        'dist/config.js',
        'dist/serving/index.js',
        'dist/models/load-model.js',
      ],
      '@keel/cli': ['dist/bin.js', 'dist/index.js', 'dist/commands/models/serve.js'],
    };
    for (const name of names) {
      const file = `keel-${name.slice('@keel/'.length)}-${KEEL_VERSION}.tgz`;
      expect(manifest.dependencies[name]).toBe(`file:keel/${file}`);
      expect(manifest.overrides[name]).toBe(`$${name}`);
      const entries = tarList(join(context, 'keel', file));
      expect(entries).toContain('package/package.json');
      for (const built of expected[name] ?? []) expect(entries).toContain(`package/${built}`);
      // Sources and tests stay out: "files" is ["dist"].
      expect(
        entries.filter((entry) => entry.startsWith('package/src/') || entry.endsWith('.test.js')),
      ).toEqual([]);
    }
  });

  it('writes an executable entrypoint that runs keel models serve on the model', () => {
    const entrypoint = join(context, 'entrypoint.sh');
    expect(statSync(entrypoint).mode & 0o111).toBe(0o111);
    const script = readFileSync(entrypoint, 'utf8');
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain(`exec keel models serve -m "\${KEEL_MODEL_DIR:-$here/model}"`);
    expect(script).toContain(`--host "\${KEEL_HOST:-0.0.0.0}" --port "\${PORT:-8080}"`);
    execFileSync('sh', ['-n', entrypoint]);
  });

  it('runs its entrypoint: it serves the model with the environment overrides, and stops on SIGTERM', async () => {
    const server = await runEntrypoint(context, {
      KEEL_MODEL_DIR: join(context, 'model'),
      KEEL_MODEL_WORKERS: '1',
      KEEL_BATCH_MAX_SIZE: '16',
      KEEL_BATCH_MAX_DELAY_MS: '1',
      KEEL_MAX_QUEUE_ROWS: '512',
    });
    expect(server.readyLine).toMatch(/^Keel serving model 'iris-mlp' \(onnx\) on http:\/\/0\.0\.0\.0:\d+$/);
    const url = loopback(server.url);
    const ping = await fetch(`${url}/ping`);
    expect(ping.status).toBe(200);
    const input = rows(4);
    const response = await fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: input }),
    });
    expect(response.status).toBe(200);
    expectProbabilities(((await response.json()) as { predictions: unknown }).predictions, input);
    expect((await fetch(`${url}/v2/models/iris-mlp/ready`)).status).toBe(200);
    // `exec`: the signal reaches keel itself, which closes the server and the model.
    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('runs its entrypoint with the model beside it by default, passing its arguments on', async () => {
    const server = await runEntrypoint(context, {}, ['--name', 'renamed', '--host', '127.0.0.1']);
    expect(server.readyLine).toMatch(/^Keel serving model 'renamed' \(onnx\) on http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${server.url}/v2/models/renamed/ready`)).status).toBe(200);
    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('keel models build-docker: a registered model', () => {
  it('downloads models:/name@alias and the image serves it under the registered name and version', async () => {
    const dir = tempDir();
    const tracking = await startKeelServer([
      '--backend-store-uri',
      `sqlite:///${join(dir, 'keel.db')}`,
      '--artifacts-destination',
      join(dir, 'artifacts'),
    ]);
    const sdk = new KeelClient({ trackingUri: tracking.url, retries: 0 });
    const run = await sdk.startRun({ experiment: 'docker' });
    await run.logArtifacts(modelDir, 'model');
    await run.registerModel('model', 'churn');
    await sdk.registry.setAlias('churn', 'champion', '1');
    await run.end();

    const context = join(dir, 'image');
    const result = await runKeel([
      'models',
      'build-docker',
      '-m',
      'models:/churn@champion',
      '-n',
      'registry.example.com:5000/ml/churn:1',
      '-d',
      context,
      '--tracking-uri',
      tracking.url,
    ]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Wrote a Docker build context for model 'churn' version 1 \(onnx\)/);
    expect(readFileSync(join(context, 'model', 'registered_model_meta'), 'utf8')).toBe(
      "model_name: 'churn'\nmodel_version: '1'\n",
    );
    expect(readFileSync(join(context, 'README.md'), 'utf8')).toContain(
      "# Docker image for model 'churn' version 1",
    );
    await tracking.kill();

    // The tracking server is gone: the image holds everything it serves.
    const server = await runEntrypoint(context, { KEEL_MODEL_NAME: '' });
    expect(server.readyLine).toMatch(/^Keel serving model 'churn' version 1 \(onnx\) on /);
    expect((await fetch(`${loopback(server.url)}/v2/models/churn/versions/1/ready`)).status).toBe(200);
    expect(await server.signal('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('keel models build-docker: Python for process models', () => {
  /** A `process` model directory with `command`, plus `files`. */
  function processModel(command: string[], files: Record<string, string> = {}, extraFlavors = ''): string {
    const dir = join(tempDir(), 'predictor');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'MLmodel'),
      `flavors:\n  process:\n    command: ${JSON.stringify(command)}\n    protocol: keel-jsonl/1\n${extraFlavors}`,
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  async function build(model: string): Promise<{ context: string; runs: string[] }> {
    const context = join(tempDir(), 'ctx');
    const result = await runKeel(['models', 'build-docker', '-m', model, '-n', 'predictor', '-d', context]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const runs = instructions(readFileSync(join(context, 'Dockerfile'), 'utf8'))
      .filter((s) => s.keyword === 'RUN')
      .map((s) => s.args);
    return { context, runs };
  }

  it('installs python3 and the Debian packages for requirements.txt, and pip for the rest', async () => {
    const model = processModel(['python3', 'serve.py'], {
      'serve.py': 'print()\n',
      'requirements.txt':
        '# pinned by training\nscikit-learn==1.2.2\nNumPy>=1.24\n\nlightgbm>=4.0  # not in Debian\n-i https://pypi.org/simple\n',
    });
    const { context, runs } = await build(model);
    expect(runs[0]).toBe(
      'apt-get update && apt-get install -y --no-install-recommends python3 python3-sklearn python3-numpy python3-pip && rm -rf /var/lib/apt/lists/*',
    );
    expect(runs[1]).toBe('pip3 install --no-cache-dir --break-system-packages -r /tmp/requirements-pip.txt');
    expect(readFileSync(join(context, 'requirements-pip.txt'), 'utf8')).toBe('lightgbm>=4.0\n');
    expect(readFileSync(join(context, 'README.md'), 'utf8')).toContain('`python3-sklearn`');
    expect(readFileSync(join(context, 'model', 'serve.py'), 'utf8')).toBe('print()\n');
  });

  it('takes scikit-learn from an sklearn loader_module when there is no requirements.txt', async () => {
    const model = processModel(
      ['/usr/bin/env', 'python3', 'serve.py'],
      {},
      '  python_function:\n    loader_module: mlflow.sklearn\n',
    );
    const { context, runs } = await build(model);
    expect(runs[0]).toContain('apt-get install -y --no-install-recommends python3 python3-sklearn &&');
    expect(existsSync(join(context, 'requirements-pip.txt'))).toBe(false);
  });

  it('installs no Python for a process command that does not run it', async () => {
    const { runs } = await build(processModel(['./predict', '--jsonl']));
    expect(runs.some((run) => run.includes('apt-get'))).toBe(false);
  });
});

describe('keel models build-docker: errors', () => {
  it('refuses a directory that is not empty, leaving it as it was', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const result = await runKeel(['models', 'build-docker', '-m', modelDir, '-n', 'iris', '-d', dir]);
    expectOneErrorLine(result);
    expect(result.stderr).toBe(
      `error: Directory '${dir}' is not empty; pick a new one with -d or empty it first\n`,
    );
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('refuses an invalid image name before writing anything', async () => {
    const dir = join(tempDir(), 'ctx');
    const result = await runKeel(['models', 'build-docker', '-m', modelDir, '-n', 'Iris Server', '-d', dir]);
    expectOneErrorLine(result);
    expect(result.stderr).toMatch(/^error: Invalid image name 'Iris Server'/);
    expect(existsSync(dir)).toBe(false);
  });

  it('removes the directory it created when the model cannot be served', async () => {
    const noMLmodel = tempDir();
    const pyfunc = tempDir();
    writeFileSync(
      join(pyfunc, 'MLmodel'),
      'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n',
    );
    for (const [model, message] of [
      [noMLmodel, /^error: No MLmodel in .*: -m must name a model directory$/],
      [
        pyfunc,
        /^error: Model in .* has no supported flavor: found \[python_function\], supported: \[.*onnx.*\]$/,
      ],
      ['models:/', /\(INVALID_PARAMETER_VALUE\)$/],
    ] as const) {
      const dir = join(tempDir(), 'ctx');
      const result = await runKeel(['models', 'build-docker', '-m', model, '-n', 'iris', '-d', dir]);
      expectOneErrorLine(result);
      expect(result.stderr.trim()).toMatch(message);
      expect(existsSync(dir)).toBe(false);
    }
  });

  it('requires -m and -n', async () => {
    const noName = await runKeel(['models', 'build-docker', '-m', modelDir]);
    expectOneErrorLine(noName);
    expect(noName.stderr.trim()).toBe("error: required option '-n, --name <image-name>' not specified");
  });
});
