// End-to-end: `keel run` and `keel runs reproduce` (docs/projects.md) — the built CLI against a real
// `keel server` (SQLite), with real git repositories made in temporary folders (file:// URLs), a Node
// entry point (npm ci into the cache), a Python entry point (a virtualenv), signals, and refusals.

import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneErrorLine } from './helpers/cli.js';
import { createRun, get, post } from './helpers/http.js';
import {
  isAlive,
  KEEL_BIN,
  type KeelServer,
  killAll,
  runKeel,
  sqliteServerArgs,
  startKeelServer,
  waitFor,
} from './helpers/keel-process.js';

interface RunJson {
  info: { run_id: string; run_name: string; status: string; experiment_id: string };
  data: {
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
    metrics?: { key: string; value: number }[];
  };
}

const tempDirs: string[] = [];
function tempDir(prefix = 'keel-cli-run-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

let server: KeelServer;
/** One cache for the suite: checkouts, node environments and virtualenvs (reuse is tested). */
let cacheDir: string;

beforeAll(async () => {
  server = await startKeelServer(sqliteServerArgs(tempDir()));
  cacheDir = tempDir('keel-cli-run-cache-');
});
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** `keel <args> --tracking-uri <server>` with the suite's cache. */
function keel(args: string[], env: Record<string, string> = {}): ReturnType<typeof runKeel> {
  return runKeel([...args, '--tracking-uri', server.url], {
    env: { KEEL_CACHE_DIR: cacheDir, ...env },
    timeoutMs: 120_000,
  });
}

/** A `keel <args> --tracking-uri <server>` left running (to be signalled), with the suite's cache. */
interface RunningKeel {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** What the process has written so far. */
  readonly output: { stdout: string; stderr: string };
  /** Its exit code (`null` when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Starts `keel <args> --tracking-uri <server>` with the suite's cache, without waiting for it. */
function startKeel(args: string[]): RunningKeel {
  const child = spawn(process.execPath, [KEEL_BIN, ...args, '--tracking-uri', server.url], {
    env: { ...process.env, KEEL_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (exit) => resolve(exit)));
  return { child, output, exited };
}

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=Keel Test', '-c', 'user.email=test@keel.dev', '-c', 'init.defaultBranch=main', ...args],
    { cwd: dir, encoding: 'utf8' },
  ).trim();
}

/** Writes `files` under `dir` (creating folders). */
function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** A git repository with `files` committed; returns its folder, file:// URL and commit. */
function gitRepo(files: Record<string, string>): { dir: string; url: string; commit: string } {
  const dir = tempDir('keel-cli-run-repo-');
  git(dir, 'init', '--quiet');
  return { dir, url: pathToFileURL(dir).href, commit: commit(dir, files, 'initial') };
}

/** Writes `files` and commits them; returns the new commit. */
function commit(dir: string, files: Record<string, string>, message: string): string {
  writeFiles(dir, files);
  git(dir, 'add', '--all');
  git(dir, 'commit', '--quiet', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** The run id `keel run` announced on stderr. */
function runIdOf(stderr: string): string {
  const id = /in run with ID '([0-9a-f]+)'/.exec(stderr)?.[1];
  if (id === undefined) throw new Error(`no run id in: ${stderr}`);
  return id;
}

async function getRun(runId: string): Promise<RunJson> {
  const answer = await get<{ run: RunJson }>(server.url, 'runs/get', { run_id: runId });
  expect(answer.status).toBe(200);
  return answer.json.run;
}

const asMap = (list: { key: string; value: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, value]));

async function artifactText(runId: string, path: string): Promise<string> {
  const response = await fetch(`${server.url}/get-artifact?${new URLSearchParams({ run_id: runId, path })}`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Runs in the experiment called `name` (none when it does not exist). */
async function runsOf(name: string): Promise<RunJson[]> {
  const found = await get<{ experiment: { experiment_id: string } }>(server.url, 'experiments/get-by-name', {
    experiment_name: name,
  });
  if (found.status === 404) return [];
  const answer = await post<{ runs?: RunJson[] }>(server.url, 'runs/search', {
    experiment_ids: [found.json.experiment.experiment_id],
  });
  return answer.json.runs ?? [];
}

// A Node entry point that reports what it got, logs a metric through the REST API with the ids
// keel run set, and writes to both streams.
const NODE_MAIN = (label: string) => `
const env = process.env;
console.log(JSON.stringify({ label: '${label}', argv: process.argv.slice(2), runId: env.KEEL_RUN_ID,
  mlflowRunId: env.MLFLOW_RUN_ID, experimentId: env.KEEL_EXPERIMENT_ID, mlflowExperimentId: env.MLFLOW_EXPERIMENT_ID,
  trackingUri: env.KEEL_TRACKING_URI, mlflowTrackingUri: env.MLFLOW_TRACKING_URI, cwd: process.cwd() }));
console.error('progress on stderr');
await fetch(env.KEEL_TRACKING_URI + '/api/2.0/mlflow/runs/log-metric', {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ run_id: env.KEEL_RUN_ID, key: 'score', value: 0.75, timestamp: Date.now(), step: 1 }),
});
`;

const NODE_PROJECT = {
  'projects/hello/keel-project.yaml': `
name: hello
node_env:
  node: 20
entry_points:
  main:
    runtime: node
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: {type: int, default: 3}
      who: string
    command: node main.mjs --alpha {alpha} --epochs {epochs} --who {who}
`,
  'projects/hello/package.json':
    '{ "name": "hello", "version": "1.0.0", "private": true, "type": "module" }\n',
  'projects/hello/package-lock.json': `${JSON.stringify(
    {
      name: 'hello',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'hello', version: '1.0.0' } },
    },
    null,
    2,
  )}\n`,
  'projects/hello/main.mjs': NODE_MAIN('v1'),
  '.gitignore': 'node_modules\n',
};

describe('keel run: a Node entry point from a git repository', () => {
  let repo: { dir: string; url: string; commit: string };
  let second: string;
  beforeAll(() => {
    repo = gitRepo(NODE_PROJECT);
    second = commit(repo.dir, { 'projects/hello/main.mjs': NODE_MAIN('v2') }, 'second');
  });

  it('clones --version into a checkout, runs #subdirectory in the node env, and records the run', async () => {
    const result = await keel([
      'run',
      `${repo.url}#projects/hello`,
      '--version',
      repo.commit,
      '-P',
      'who=Ada Lovelace',
      '-P',
      'epochs=4',
      '-P',
      'extra=x=y',
      '--experiment-name',
      'run-node',
      '--run-name',
      'first-node-run',
    ]);
    expect(result.stderr).toContain("=== Run (ID '");
    expect(result.code).toBe(0);
    const runId = runIdOf(result.stderr);
    const reported = JSON.parse(result.stdout.trim().split('\n')[0] as string);
    const run = await getRun(runId);
    expect(reported).toMatchObject({
      label: 'v1',
      argv: ['--alpha', '0.5', '--epochs', '4', '--who', 'Ada Lovelace', '--extra', 'x=y'],
      runId,
      mlflowRunId: runId,
      experimentId: run.info.experiment_id,
      mlflowExperimentId: run.info.experiment_id,
      trackingUri: server.url,
      mlflowTrackingUri: server.url,
    });
    expect(reported.cwd).toMatch(new RegExp(`^${cacheDir}/checkouts/[^/]+/projects/hello$`));
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.run_name).toBe('first-node-run');
    expect(asMap(run.data.params)).toEqual({ alpha: '0.5', epochs: '4', who: 'Ada Lovelace', extra: 'x=y' });
    const lock = readFileSync(join(repo.dir, 'projects/hello/package-lock.json'));
    expect(asMap(run.data.tags)).toMatchObject({
      'mlflow.source.type': 'PROJECT',
      'mlflow.source.name': `${repo.url}#projects/hello`,
      'mlflow.source.git.commit': repo.commit,
      'mlflow.source.git.repoURL': repo.url,
      'mlflow.gitRepoURL': repo.url,
      'mlflow.project.entryPoint': 'main',
      'mlflow.project.env': 'node',
      'mlflow.project.backend': 'local',
      'mlflow.runName': 'first-node-run',
      'keel.source.git.dirty': 'false',
      'keel.project.uri': repo.url,
      'keel.project.subdirectory': 'projects/hello',
      'keel.project.version': repo.commit,
      'keel.project.name': 'hello',
      'keel.project.file': 'keel-project.yaml',
      'keel.project.node.lockfileHash': createHash('sha256').update(lock).digest('hex'),
    });
    // A commit checked out by hash is a detached HEAD: no branch.
    expect(asMap(run.data.tags)['mlflow.source.git.branch']).toBeUndefined();
    expect(run.data.metrics).toEqual([expect.objectContaining({ key: 'score', value: 0.75 })]);
    const log = await artifactText(runId, 'keel-run/output.log');
    expect(log).toContain('"label":"v1"');
    expect(log).toContain('progress on stderr');
    // The checkout is gone after the run.
    expect(existsSync(reported.cwd)).toBe(false);
  });

  it('checks out the default branch without --version, records it, and reuses the node environment', async () => {
    const result = await keel([
      'run',
      `${repo.url}#projects/hello`,
      '-P',
      'who=x',
      '--experiment-name',
      'run-node',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"label":"v2"');
    expect(result.stderr).toContain('keel: reusing the node environment');
    const tags = asMap((await getRun(runIdOf(result.stderr))).data.tags);
    expect(tags['mlflow.source.git.commit']).toBe(second);
    expect(tags['mlflow.source.git.branch']).toBe('main');
    expect(tags['keel.project.version']).toBeUndefined();
  });

  it('reproduces a run: same commit, same params, new run tagged keel.reproducedFrom', async () => {
    const original = await keel([
      'run',
      `${repo.url}#projects/hello`,
      '--version',
      repo.commit,
      '-P',
      'who=repro',
      '-P',
      'seed=7',
      '--experiment-name',
      'run-repro',
    ]);
    expect(original.code).toBe(0);
    const originalId = runIdOf(original.stderr);
    commit(repo.dir, { 'projects/hello/main.mjs': NODE_MAIN('v3') }, 'third');

    const again = await keel(['runs', 'reproduce', originalId]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('"label":"v1"');
    const reproduced = await getRun(runIdOf(again.stderr));
    const before = await getRun(originalId);
    expect(reproduced.info.run_id).not.toBe(originalId);
    expect(reproduced.info.experiment_id).toBe(before.info.experiment_id);
    expect(reproduced.info.status).toBe('FINISHED');
    expect(asMap(reproduced.data.params)).toEqual(asMap(before.data.params));
    expect(asMap(reproduced.data.tags)).toMatchObject({
      'keel.reproducedFrom': originalId,
      'mlflow.source.git.commit': repo.commit,
      'mlflow.project.entryPoint': 'main',
      'mlflow.project.env': 'node',
      'keel.project.subdirectory': 'projects/hello',
    });
  });

  it('installs a locked dependency with npm ci and the program imports it (ES module)', async () => {
    const dep = gitRepo({
      'keel-project.yaml':
        'node_env: {}\nentry_points:\n  main:\n    runtime: node\n    command: node main.mjs\n',
      'package.json': '{ "name": "dep", "version": "1.0.0", "dependencies": { "is-number": "^7.0.0" } }\n',
      'package-lock.json': `${JSON.stringify({
        name: 'dep',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'dep', version: '1.0.0', dependencies: { 'is-number': '^7.0.0' } },
          'node_modules/is-number': {
            version: '7.0.0',
            resolved: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
            integrity:
              'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
            license: 'MIT',
            engines: { node: '>=0.12.0' },
          },
        },
      })}\n`,
      'main.mjs': "import isNumber from 'is-number';\nconsole.log('is-number says', isNumber('42'));\n",
      '.gitignore': 'node_modules\n',
    });
    const result = await keel(['run', dep.dir, '--experiment-name', 'run-node-dep']);
    expect(result.stderr).toContain('installing the locked dependencies (npm ci)');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('is-number says true');
    // The link keel run made is ignored by git (.gitignore) and by the dirty check.
    const tags = asMap((await getRun(runIdOf(result.stderr))).data.tags);
    expect(tags['keel.source.git.dirty']).toBe('false');
    expect(tags['mlflow.source.name']).toBe(pathToFileURL(dep.dir).href);
    expect(tags['keel.project.uri']).toBe(pathToFileURL(dep.dir).href);
  });
});

describe('keel run: a Python entry point in a virtualenv', () => {
  const python = execFileSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  }).trim();

  it('creates the virtualenv from python_env.yaml, runs the program in it, and reuses it', async () => {
    const repo = gitRepo({
      MLproject: `
name: py
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      C: {type: float, default: 1.0}
      data: {type: path, default: data/x.csv}
    command: "python train.py --C {C} --data {data}"
`,
      // PyPI is not reachable in CI: no dependencies (pip would need an index for any).
      'python_env.yaml': `python: "${python}"\nbuild_dependencies: []\ndependencies: []\n`,
      'data/x.csv': 'a,b\n1,2\n',
      'train.py': `
import json, os, sys, time, urllib.request
print(json.dumps({"prefix": sys.prefix, "argv": sys.argv[1:], "run": os.environ["MLFLOW_RUN_ID"]}))
body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "c_seen", "value": float(sys.argv[2]), "timestamp": int(time.time() * 1000), "step": 0}
request = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
    data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(request).read()
`,
    });
    const first = await keel(['run', repo.dir, '-P', 'C=0.25', '--experiment-name', 'run-python']);
    expect(first.stderr).toContain(`creating a virtualenv with Python ${python}`);
    expect(first.code).toBe(0);
    const reported = JSON.parse(first.stdout.trim());
    expect(reported.prefix).toMatch(new RegExp(`^${cacheDir}/virtualenvs/[0-9a-f]{32}$`));
    expect(reported.argv).toEqual(['--C', '0.25', '--data', join(repo.dir, 'data/x.csv')]);
    const run = await getRun(runIdOf(first.stderr));
    expect(run.info.status).toBe('FINISHED');
    // A path left at its default is logged as the project file writes it.
    expect(asMap(run.data.params)).toEqual({ C: '0.25', data: 'data/x.csv' });
    expect(asMap(run.data.tags)).toMatchObject({
      'mlflow.project.env': 'virtualenv',
      'mlflow.source.git.branch': 'main',
      'keel.source.git.dirty': 'false',
      'keel.project.file': 'MLproject',
    });
    expect(run.data.metrics).toEqual([expect.objectContaining({ key: 'c_seen', value: 0.25 })]);

    const second = await keel(['run', repo.dir, '--experiment-name', 'run-python']);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('reusing the virtualenv');
    expect(JSON.parse(second.stdout.trim()).prefix).toBe(reported.prefix);
  });

  it('refuses a Python version the PATH does not have, naming what to install, before any run', async () => {
    const repo = gitRepo({
      MLproject: 'python_env: python_env.yaml\nentry_points:\n  main:\n    command: python x.py\n',
      'python_env.yaml': 'python: "2.6"\ndependencies: []\n',
    });
    const result = await keel(['run', repo.dir, '--experiment-name', 'run-python-refused']);
    expectOneErrorLine(result);
    expect(result.stderr).toContain('python_env asks for Python 2.6');
    expect(result.stderr).toContain('install Python 2.6');
    expect(await runsOf('run-python-refused')).toEqual([]);
  });
});

describe('keel run: refusals before anything runs', () => {
  const marker = (): string => join(tempDir(), 'ran');
  const project = (touch: string) => ({
    MLproject: `
entry_points:
  main:
    parameters:
      alpha: float
      n: {type: int, default: 2}
      name: string
      model: {type: uri, default: "runs:/x/model"}
      data: {type: path, default: data.csv}
    command: "touch ${touch} && echo {alpha} {n} {name} {model} {data}"
`,
    'data.csv': '1\n',
  });

  it('a wrong type and a missing parameter are named, and no experiment or run is created', async () => {
    const ran = marker();
    const repo = gitRepo(project(ran));
    const result = await keel([
      'run',
      repo.dir,
      '-P',
      'alpha=abc',
      '-P',
      'n=2.5',
      '--experiment-name',
      'run-refused',
    ]);
    expectOneErrorLine(result);
    expect(result.stderr).toBe(
      "error: Invalid parameters for entry point 'main': 'alpha' must be a float, got 'abc'; 'n' must be an int, got '2.5'; 'name' is required (no default) (INVALID_PARAMETER_VALUE)\n",
    );
    /** `keel run` with the required parameters right and one more `-P` setting. */
    const runWithValidParamsAnd = (setting: string) =>
      keel([
        'run',
        repo.dir,
        '-P',
        'alpha=1',
        '-P',
        'name=x',
        '-P',
        setting,
        '--experiment-name',
        'run-refused',
      ]);
    const missingPath = await runWithValidParamsAnd('data=nope.csv');
    expectOneErrorLine(missingPath);
    expect(missingPath.stderr).toContain("'data': no such file or directory:");
    const badUri = await runWithValidParamsAnd('model=relative/model');
    expect(badUri.stderr).toContain("'model' must be a URI with a scheme");
    const badKey = await runWithValidParamsAnd('a;touch /tmp/x=1');
    expect(badKey.stderr).toContain("Invalid parameter name 'a;touch /tmp/x'");
    const badEntry = await keel(['run', repo.dir, '-e', 'nope', '--experiment-name', 'run-refused']);
    expect(badEntry.stderr).toContain("Entry point 'nope' is not in MLproject (entry points: main)");
    expect(existsSync(ran)).toBe(false);
    expect(await runsOf('run-refused')).toEqual([]);
    expect(
      (await get(server.url, 'experiments/get-by-name', { experiment_name: 'run-refused' })).status,
    ).toBe(404);
  });

  it('conda and docker environments are refused naming what to install', async () => {
    const conda = gitRepo({
      MLproject: 'conda_env: conda.yaml\nentry_points:\n  main:\n    command: echo hi\n',
    });
    const refusedConda = await keel(['run', conda.dir, '--experiment-name', 'run-env-refused']);
    expectOneErrorLine(refusedConda);
    expect(refusedConda.stderr).toContain('needs a conda environment (conda_env: conda.yaml)');
    expect(refusedConda.stderr).toContain('install conda');
    const docker = gitRepo({
      MLproject: 'docker_env:\n  image: python:3.11\nentry_points:\n  main:\n    command: echo hi\n',
    });
    const refusedDocker = await keel(['run', docker.dir, '--experiment-name', 'run-env-refused']);
    expect(refusedDocker.stderr).toContain('install Docker');
    // The current environment works for the same project.
    const local = await keel([
      'run',
      conda.dir,
      '--env-manager',
      'local',
      '--experiment-name',
      'run-env-local',
    ]);
    expect(local.code).toBe(0);
    expect(local.stdout).toBe('hi\n');
    const version = await keel(['run', conda.dir, '--version', 'main', '--env-manager', 'local']);
    expect(version.stderr).toContain('--version applies to git URIs only');
    expect(await runsOf('run-env-refused')).toEqual([]);
  });

  it('a parameter value never injects a command; a bad extra key is refused', async () => {
    const pwned = join(tempDir(), 'pwned');
    const repo = gitRepo({
      MLproject:
        'entry_points:\n  main:\n    parameters: {msg: string}\n    command: "printf \'%s\\\\n\' {msg}"\n',
    });
    const values = [
      `x; touch ${pwned}`,
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `'; touch ${pwned}; '`,
      `a\ntouch ${pwned}`,
    ];
    for (const value of values) {
      const result = await keel([
        'run',
        repo.dir,
        '-P',
        `msg=${value}`,
        '-P',
        `extra=${value}`,
        '--experiment-name',
        'run-inject',
      ]);
      expect(result.code).toBe(0);
      // printf prints each argument on its line: the value, then the extra's key and value.
      expect(result.stdout).toBe(`${value}\n--extra\n${value}\n`);
      expect(existsSync(pwned)).toBe(false);
      const run = await getRun(runIdOf(result.stderr));
      expect(asMap(run.data.params)).toEqual({ msg: value, extra: value });
    }
  });
});

describe('keel run: how runs end', () => {
  it('a failing program ends the run FAILED, and keel run exits with its code', async () => {
    const repo = gitRepo({
      MLproject: 'entry_points:\n  main:\n    command: "echo about to fail; exit 3"\n',
    });
    const result = await keel(['run', repo.dir, '--experiment-name', 'run-failed']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('about to fail\n');
    expect(result.stderr).toMatch(/error: run [0-9a-f]+ FAILED: the command exited with code 3\n$/);
    const run = await getRun(runIdOf(result.stderr));
    expect(run.info.status).toBe('FAILED');
    expect(await artifactText(run.info.run_id, 'keel-run/output.log')).toBe('about to fail\n');
  });

  it('runs a script of the project that is not declared, with -P values as --key value', async () => {
    const repo = gitRepo({ 'scripts/run.sh': 'echo "args: $*"\n' });
    const result = await keel(['run', repo.dir, '-e', 'scripts/run.sh', '-P', 'alpha=1', '-P', 'name=a b']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('args: --alpha 1 --name a b\n');
    const tags = asMap((await getRun(runIdOf(result.stderr))).data.tags);
    expect(tags['mlflow.project.entryPoint']).toBe('scripts/run.sh');
    expect(tags['keel.project.file']).toBe('none');
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s stops the program (its process group) and marks the run KILLED; exit %i',
    async (signal, code) => {
      const pidFile = join(tempDir(), 'pid');
      const repo = gitRepo({
        MLproject: `entry_points:\n  main:\n    command: "sleep 60 & echo $! > ${pidFile}; echo ready; wait"\n`,
      });
      const { child, output, exited } = startKeel(['run', repo.dir, '--experiment-name', 'run-killed']);
      try {
        await waitFor(() => output.stdout.includes('ready'), 30_000, 'the program to start');
        const sleeper = Number(readFileSync(pidFile, 'utf8'));
        expect(isAlive(sleeper)).toBe(true);
        child.kill(signal);
        expect(await exited).toBe(code);
        expect(isAlive(sleeper)).toBe(false);
        expect(output.stderr).toContain(`KILLED: stopped by ${signal}`);
        const run = await getRun(runIdOf(output.stderr));
        expect(run.info.status).toBe('KILLED');
        expect(await artifactText(run.info.run_id, 'keel-run/output.log')).toBe('ready\n');
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});

describe('keel runs reproduce: refusals', () => {
  it('refuses a run from a dirty work tree, naming the tag; and a run that is not a project run', async () => {
    const repo = gitRepo({ MLproject: 'entry_points:\n  main:\n    command: echo hi\n' });
    writeFiles(repo.dir, { 'notes.txt': 'uncommitted\n' });
    const dirty = await keel(['run', repo.dir, '--experiment-name', 'run-dirty']);
    expect(dirty.code).toBe(0);
    const dirtyId = runIdOf(dirty.stderr);
    expect(asMap((await getRun(dirtyId)).data.tags)['keel.source.git.dirty']).toBe('true');
    const refused = await keel(['runs', 'reproduce', dirtyId]);
    expectOneErrorLine(refused);
    expect(refused.stderr).toBe(
      `error: run ${dirtyId} cannot be reproduced: it ran from a work tree with uncommitted changes (keel.source.git.dirty = true), so its code is in no commit\n`,
    );

    const plain = await createRun(server.url, 'run-not-a-project');
    const notProject = await keel(['runs', 'reproduce', plain.runId]);
    expectOneErrorLine(notProject);
    expect(notProject.stderr).toContain(
      "it was not started from a project (mlflow.source.type is not set, not 'PROJECT')",
    );

    const outside = tempDir();
    writeFiles(outside, { MLproject: 'entry_points:\n  main:\n    command: echo hi\n' });
    const noGit = await keel(['run', outside, '--experiment-name', 'run-dirty']);
    expect(noGit.code).toBe(0);
    const noGitRefused = await keel(['runs', 'reproduce', runIdOf(noGit.stderr)]);
    expect(noGitRefused.stderr).toContain(
      'it ran from a directory outside git (no mlflow.source.git.commit tag)',
    );
    expect((await runsOf('run-dirty')).length).toBe(2);
  });
});

describe('keel run --backend workflow', () => {
  const project = (command: string) =>
    gitRepo({
      MLproject: `name: wf\nentry_points:\n  main:\n    parameters: {who: string}\n    command: "${command}"\n`,
      'report.mjs': NODE_MAIN('workflow'),
    });

  async function executionState(executionId: string | undefined): Promise<string> {
    const answer = await fetch(`${server.url}/api/2.0/keel/executions/get?execution_id=${executionId}`);
    return ((await answer.json()) as { execution: { state: string } }).execution.state;
  }

  it('runs the command as a one-task execution of the workflow engine, into the run', async () => {
    const repo = project('node report.mjs --who {who}');
    const result = await keel([
      'run',
      repo.dir,
      '-b',
      'workflow',
      '-P',
      'who=a b',
      '--experiment-name',
      'run-workflow',
    ]);
    expect(result.stderr).toMatch(/keel: launched execution [0-9a-f-]{36} of workflow 'keel-project\.wf'/);
    expect(result.code).toBe(0);
    const runId = runIdOf(result.stderr);
    const run = await getRun(runId);
    const reported = JSON.parse(result.stdout.trim());
    expect(reported).toMatchObject({
      argv: ['--who', 'a b'],
      runId,
      mlflowRunId: runId,
      experimentId: run.info.experiment_id,
    });
    expect(reported.cwd).toMatch(/\/files\/project$/);
    expect(run.info.status).toBe('FINISHED');
    const tags = asMap(run.data.tags);
    expect(tags).toMatchObject({
      'mlflow.project.backend': 'workflow',
      'mlflow.project.env': 'local',
      'keel.workflow': 'keel-project.wf',
      'mlflow.source.git.commit': repo.commit,
    });
    expect(await executionState(tags['keel.execution_id'])).toBe('succeeded');
    expect(run.data.metrics).toEqual([expect.objectContaining({ key: 'score', value: 0.75 })]);
    const log = await artifactText(runId, 'keel-run/output.log');
    expect(log).toContain('"label":"workflow"');
    expect(log).toContain('progress on stderr');
  });

  it('a failing command fails the run with its exit code; SIGTERM cancels the execution (KILLED)', async () => {
    const failing = project('echo failing {who}; exit 3');
    const failed = await keel([
      'run',
      failing.dir,
      '-b',
      'workflow',
      '-P',
      'who=x',
      '--experiment-name',
      'run-workflow',
    ]);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toBe('failing x\n');
    expect(failed.stderr).toMatch(/error: run [0-9a-f]+ FAILED: execution [0-9a-f-]{36} failed: /);
    expect((await getRun(runIdOf(failed.stderr))).info.status).toBe('FAILED');

    const slow = project('echo ready {who}; exec sleep 30');
    const { child, output, exited } = startKeel([
      'run',
      slow.dir,
      '-b',
      'workflow',
      '-P',
      'who=x',
      '--experiment-name',
      'run-workflow',
    ]);
    try {
      await waitFor(() => output.stdout.includes('ready'), 30_000, 'the task to start');
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
      const run = await getRun(runIdOf(output.stderr));
      expect(run.info.status).toBe('KILLED');
      expect(await executionState(asMap(run.data.tags)['keel.execution_id'])).toBe('cancelled');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses an environment it cannot build on the server, before any run', async () => {
    const repo = gitRepo({
      MLproject: 'python_env: python_env.yaml\nentry_points:\n  main:\n    command: python x.py\n',
      'python_env.yaml': 'dependencies: []\n',
    });
    const result = await keel([
      'run',
      repo.dir,
      '-b',
      'workflow',
      '--experiment-name',
      'run-workflow-refused',
    ]);
    expectOneErrorLine(result);
    expect(result.stderr).toContain("this entry point's environment is 'virtualenv'");
    expect(result.stderr).toContain('pass --env-manager local');
    expect(await runsOf('run-workflow-refused')).toEqual([]);
  });
});
