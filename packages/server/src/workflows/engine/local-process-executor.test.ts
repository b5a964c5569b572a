import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { ArtifactValue, JsonValue, TaskSpec } from '@keel/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../artifacts/local/local-artifact-store.js';
import { countingArtifactStore } from '../../testing/counting-artifact-store.js';
import { hashDirectory, uploadDirectory, uploadFile } from './artifact-values.js';
import type { AttemptEvents, AttemptResult, CodeRef, LogStream, RunCall, TaskAttempt } from './executor.js';
import { LocalProcessExecutor, type LocalProcessExecutorOptions } from './local-process-executor.js';

/** The code package most tests run: hand-written tasks in the shape the SDK exports. */
const BUNDLE = `
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
const task = (name, fn) => ({ kind: 'keel.task', name, fn });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const upper = task('upper', async ({ text }, ctx) => {
  const content = await readFile(text, 'utf8');
  console.log('read ' + content.length + ' chars');
  ctx.log.info('uppercasing', { attempt: ctx.attempt, node: ctx.nodeId });
  console.error('a line on stderr');
  const out = ctx.outputPath('upper.txt');
  await writeFile(out, content.toUpperCase());
  return { result: out, length: content.length };
});
export const echo = task('echo', async ({ word }) => {
  console.log('echo ' + word);
  return { word };
});
// Tasks inside a workflow object's .tasks are found too.
export const flow = {
  kind: 'keel.workflow',
  name: 'flow',
  tasks: [
    task('fails', () => { throw new TypeError('bad input'); }),
    task('flaky', () => { const e = new Error('try again'); e.name = 'RetryableError'; throw e; }),
    task('flagged', () => { throw Object.assign(new Error('flagged'), { retryable: true }); }),
  ],
};
export const exits = task('exits', () => { console.log('bye'); process.exit(1); });
export const hang = task('hang', () => new Promise(() => {}));
export const nap = task('nap', async ({ ms }) => {
  const start = Date.now();
  await sleep(ms);
  return { start, end: Date.now(), pid: process.pid };
});
export const polite = task('polite', (_, ctx) => new Promise((_, reject) => {
  ctx.signal.addEventListener('abort', () => reject(new Error('stopped')));
}));
export const track = task('track', async (_, ctx) => {
  await ctx.run.logParam('alpha', 0.1);
  await ctx.run.logMetric('loss', 0.5, 3);
  await ctx.run.setTag('stage', 'fit');
  let refused = '';
  try { await ctx.run.setTag('bad', 'x'); } catch (error) { refused = error.message; }
  return { runId: ctx.run.id, refused };
});
export const stray = task('stray', () => {
  setTimeout(() => { throw new Error('thrown in a timer'); }, 10);
  return new Promise(() => {});
});
export const tree = task('tree', async ({ dir }, ctx) => {
  const listing = (await readdir(dir, { recursive: true })).sort().join(',');
  const out = ctx.outputPath('copy');
  await cp(dir, out, { recursive: true });
  await writeFile(out + '/listing.txt', listing);
  return { copy: out, listing };
});
export const relative = task('relative', async (_, ctx) => {
  await writeFile('out.txt', 'cwd is workDir: ' + (process.cwd() === ctx.workDir));
  return { out: 'out.txt' };
});
export const litter = task('litter', async (_, ctx) => {
  await writeFile('stray.txt', 'x');
  await writeFile(ctx.outputPath('o.txt'), 'y');
  return {};
});
export const peek = task('peek', async (_, ctx) => ({ entries: (await readdir(ctx.workDir, { recursive: true })).sort() }));
export const whereami = task('whereami', () => ({
  keel: process.env.KEEL_TRACKING_URI ?? '',
  mlflow: process.env.MLFLOW_TRACKING_URI ?? '',
}));
export const wrongType = task('wrongType', () => ({ score: 'high' }));
export const missing = task('missing', () => ({}));
`;

/** The program of the command task (shipped in the package's files/). */
const REVERSE = String.raw`
import { readFileSync, writeFileSync } from 'node:fs';
const [input, reversed, half] = process.argv.slice(2);
const text = readFileSync(input, 'utf8');
if (text.includes('FAIL')) {
  console.error('first line');
  console.error('cannot reverse: FAIL found');
  process.exit(3);
}
console.log('reversing ' + process.env.MODE);
writeFileSync(reversed, [...text].reverse().join(''));
writeFileSync(half, String(text.length / 2) + '\n');
`;

let root: string;
let store: LocalArtifactStore;
let code: CodeRef;
const open: LocalProcessExecutor[] = [];
let dirs = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-executor-'));
  store = new LocalArtifactStore(join(root, 'artifacts'));
  code = await publishPackage({
    'bundle.mjs': BUNDLE,
    'files/reverse.mjs': REVERSE,
    'files/data/note.txt': 'x',
  });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((executor) => executor.close()));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes a code package and uploads it at `workflows/code/<sha256>`, as registration does. */
async function publishPackage(files: Record<string, string>): Promise<CodeRef> {
  const dir = join(root, `package-${dirs++}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const digest = await hashDirectory(dir);
  const base = `workflows/code/${digest.sha256}`;
  for (const file of digest.files) {
    await store.put(`${base}/${file.path}`, Readable.from([await readFile(join(dir, file.path))]));
  }
  return { path: base, sha256: digest.sha256 };
}

function executor(options: Partial<LocalProcessExecutorOptions> = {}): LocalProcessExecutor {
  const created = new LocalProcessExecutor({
    store,
    cacheDir: join(root, `cache-${dirs++}`),
    concurrency: 1,
    ...options,
  });
  open.push(created);
  return created;
}

function task(
  name: string,
  outputs: TaskSpec['interface']['outputs'] = {},
  extra: Partial<TaskSpec> = {},
): TaskSpec {
  return {
    name,
    kind: 'function',
    interface: { inputs: {}, outputs },
    retries: 0,
    codeHash: 'c'.repeat(64),
    ...extra,
  };
}

let attempts = 0;
function attempt(
  spec: TaskSpec,
  inputs: Record<string, JsonValue> = {},
  extra: Partial<TaskAttempt> = {},
): TaskAttempt {
  return {
    executionId: 'exec-1',
    nodeId: `node-${attempts++}`,
    attempt: 1,
    task: spec,
    code,
    inputs,
    ...extra,
  };
}

/** Events that keep what an attempt reported. */
function recorder(trackRun?: (call: RunCall) => Promise<void>) {
  const logs: Record<LogStream, string> = { stdout: '', stderr: '' };
  const workers: string[] = [];
  const calls: RunCall[] = [];
  const events: AttemptEvents = {
    started: ({ worker }) => workers.push(worker),
    log: (stream, text) => {
      logs[stream] += text;
    },
    trackRun: async (call) => {
      calls.push(call);
      await trackRun?.(call);
    },
  };
  return { events, logs, workers, calls };
}

const never = new AbortController().signal;

async function uploadText(content: string): Promise<ArtifactValue> {
  const path = join(root, `input-${dirs++}.txt`);
  await writeFile(path, content);
  return uploadFile(store, path);
}

function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Whether process `pid` is gone (or a zombie waiting for init) within 2 s. */
async function ended(pid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then(
      (stat) => stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3),
      () => 'gone',
    );
    if (state === 'gone' || state === 'Z') return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function failed(result: AttemptResult) {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.outputs)}`);
  return result.error;
}

describe('LocalProcessExecutor: function tasks', () => {
  it('runs a task with a file input and uploads its file output content-addressed', async () => {
    const run = executor();
    const input = await uploadText('hello keel');
    const spec = task(
      'upper',
      { result: { type: 'file' }, length: { type: 'int' } },
      {
        interface: {
          inputs: { text: { type: 'file' } },
          outputs: { result: { type: 'file' }, length: { type: 'int' } },
        },
      },
    );
    const { events, workers } = recorder();

    const result = await run.run(attempt(spec, { text: input }), events, never);

    const expected = sha256('HELLO KEEL');
    expect(result).toEqual({
      ok: true,
      outputs: {
        result: { $artifact: `workflows/data/${expected}`, sha256: expected, kind: 'file', size: 10 },
        length: 10,
      },
    });
    expect(await text((await store.get(`workflows/data/${expected}`)).stream)).toBe('HELLO KEEL');
    expect(workers).toEqual([expect.stringMatching(/^local:\d+$/)]);
  });

  it("captures each attempt's stdout and stderr, and only its own", async () => {
    const run = executor();
    const input = await uploadText('abc');
    const spec = task('upper', { result: { type: 'file' }, length: { type: 'int' } });
    const first = recorder();
    const second = recorder();

    await run.run(attempt(spec, { text: input }, { nodeId: 'up' }), first.events, never);
    await run.run(attempt(task('echo', { word: { type: 'string' } }), { word: 'hi' }), second.events, never);

    expect(first.logs.stdout).toBe('read 3 chars\n[info] uppercasing {"attempt":1,"node":"up"}\n');
    expect(first.logs.stderr).toBe('a line on stderr\n');
    expect(second.logs).toEqual({ stdout: 'echo hi\n', stderr: '' });
  });

  it('fails a thrown error as a user error, retryable only for RetryableError or retryable: true', async () => {
    const run = executor();

    const plain = failed(await run.run(attempt(task('fails')), recorder().events, never));
    const flaky = failed(await run.run(attempt(task('flaky')), recorder().events, never));
    const flagged = failed(await run.run(attempt(task('flagged')), recorder().events, never));

    expect(plain).toMatchObject({ kind: 'user', retryable: false, message: 'bad input' });
    expect(plain.stack).toContain('TypeError: bad input');
    expect(flaky).toMatchObject({ kind: 'user', retryable: true, message: 'try again' });
    expect(flagged).toMatchObject({ kind: 'user', retryable: true, message: 'flagged' });
  });

  it('passes directory inputs as local folders and uploads directory outputs', async () => {
    const run = executor();
    const local = join(root, `tree-${dirs++}`);
    await mkdir(join(local, 'sub'), { recursive: true });
    await writeFile(join(local, 'a.txt'), 'A');
    await writeFile(join(local, 'sub', 'b.txt'), 'B');
    const input = await uploadDirectory(store, local);
    const spec = task(
      'tree',
      {},
      {
        interface: {
          inputs: { dir: { type: 'directory' } },
          outputs: { copy: { type: 'directory' }, listing: { type: 'string' } },
        },
      },
    );

    const result = await run.run(attempt(spec, { dir: input }), recorder().events, never);

    await writeFile(join(local, 'listing.txt'), 'a.txt,sub,sub/b.txt');
    const expected = await hashDirectory(local);
    expect(result).toEqual({
      ok: true,
      outputs: {
        copy: {
          $artifact: `workflows/data/${expected.sha256}`,
          sha256: expected.sha256,
          kind: 'directory',
          size: 21,
        },
        listing: 'a.txt,sub,sub/b.txt',
      },
    });
    expect(await text((await store.get(`workflows/data/${expected.sha256}/sub/b.txt`)).stream)).toBe('B');
  });

  it('runs a function task in its work dir and resolves relative output paths there', async () => {
    const run = executor();

    const result = await run.run(
      attempt(task('relative', { out: { type: 'file' } })),
      recorder().events,
      never,
    );

    const expected = sha256('cwd is workDir: true');
    expect(result).toEqual({ ok: true, outputs: { out: expect.objectContaining({ sha256: expected }) } });
  });

  it('gives each attempt an empty work dir', async () => {
    const run = executor();

    await run.run(attempt(task('litter')), recorder().events, never);
    const seen = await run.run(
      attempt(task('peek', { entries: { type: 'json' } })),
      recorder().events,
      never,
    );

    expect(seen).toEqual({ ok: true, outputs: { entries: ['outputs'] } });
  });

  it('fails the attempt an uncaught error happened in, and replaces the worker', async () => {
    const run = executor();
    const first = recorder();

    const error = failed(await run.run(attempt(task('stray')), first.events, never));
    const next = recorder();
    const result = await run.run(
      attempt(task('echo', { word: { type: 'string' } }), { word: 'ok' }),
      next.events,
      never,
    );

    expect(error).toMatchObject({ kind: 'user', retryable: false, message: 'thrown in a timer' });
    expect(result.ok).toBe(true);
    expect(next.workers[0]).not.toBe(first.workers[0]);
  });

  it('refuses missing and wrongly typed outputs as user errors naming the output', async () => {
    const run = executor();
    const score = { score: { type: 'float' as const } };

    const wrong = failed(await run.run(attempt(task('wrongType', score)), recorder().events, never));
    const missing = failed(await run.run(attempt(task('missing', score)), recorder().events, never));
    const unknown = failed(await run.run(attempt(task('nosuch')), recorder().events, never));

    expect(wrong).toEqual({
      kind: 'user',
      retryable: false,
      message: "Task 'wrongType': outputs.score must be a number (float)",
    });
    expect(missing).toEqual({
      kind: 'user',
      retryable: false,
      message: "Task 'missing': outputs.score is missing (float)",
    });
    expect(unknown).toMatchObject({ kind: 'user', retryable: false });
    expect(unknown.message).toContain("Task 'nosuch' is not in the code package");
  });

  it('sends ctx.run calls to trackRun and answers them', async () => {
    const run = executor();
    const { events, calls } = recorder(async (call) => {
      if (call.key === 'bad') throw new Error('tag refused');
    });
    const spec = task('track', { runId: { type: 'string' }, refused: { type: 'string' } });

    const result = await run.run(attempt(spec, {}, { runId: 'run-7' }), events, never);

    expect(result).toEqual({ ok: true, outputs: { runId: 'run-7', refused: 'tag refused' } });
    expect(calls).toEqual([
      { kind: 'param', key: 'alpha', value: '0.1' },
      { kind: 'metric', key: 'loss', value: 0.5, step: 3, timestamp: expect.any(Number) },
      { kind: 'tag', key: 'stage', value: 'fit' },
      { kind: 'tag', key: 'bad', value: 'x' },
    ]);
  });
});

describe('LocalProcessExecutor: workers', () => {
  it('fails a task that exits its worker as a retryable system error and replaces the worker', async () => {
    const run = executor();
    const dying = recorder();

    const error = failed(await run.run(attempt(task('exits')), dying.events, never));
    const next = recorder();
    const result = await run.run(
      attempt(task('echo', { word: { type: 'string' } }), { word: 'again' }),
      next.events,
      never,
    );

    expect(error).toMatchObject({ kind: 'system', retryable: true });
    expect(error.message).toContain('exited with code 1');
    expect(dying.logs.stdout).toBe('bye\n');
    expect(result).toEqual({ ok: true, outputs: { word: 'again' } });
    expect(next.workers[0]).not.toBe(dying.workers[0]);
  });

  it('times out a hung task by killing only its worker', async () => {
    const run = executor({ concurrency: 2 });
    const napSpec = task(
      'nap',
      { start: { type: 'int' }, end: { type: 'int' }, pid: { type: 'int' } },
      {
        interface: {
          inputs: { ms: { type: 'int' } },
          outputs: { start: { type: 'int' }, end: { type: 'int' }, pid: { type: 'int' } },
        },
      },
    );
    const hung = recorder();
    const napping = recorder();

    const [timedOut, napped] = await Promise.all([
      run.run(attempt(task('hang', {}, { timeoutMs: 800 })), hung.events, never),
      run.run(attempt(napSpec, { ms: 200 }), napping.events, never),
    ]);
    const after = await Promise.all(
      [0, 1].map(async () => {
        const events = recorder();
        await run.run(attempt(napSpec, { ms: 300 }), events.events, never);
        return events.workers[0];
      }),
    );

    expect(failed(timedOut)).toEqual({ kind: 'user', retryable: true, message: 'timed out after 800 ms' });
    expect(napped.ok).toBe(true);
    expect(after).toContain(napping.workers[0]);
    expect(after).not.toContain(hung.workers[0]);
  });

  it('cancels: the task sees ctx.signal abort and its worker is kept', async () => {
    const run = executor();
    const abort = new AbortController();
    const first = recorder();
    first.events.started = ({ worker }) => {
      first.workers.push(worker);
      setTimeout(() => abort.abort(), 300);
    };

    const result = await run.run(attempt(task('polite')), first.events, abort.signal);
    const next = recorder();
    await run.run(attempt(task('echo', { word: { type: 'string' } }), { word: 'x' }), next.events, never);

    expect(failed(result)).toEqual({ kind: 'system', retryable: false, message: 'cancelled' });
    expect(next.workers).toEqual(first.workers);
  });

  it('kills a task that ignores cancellation after the grace period', async () => {
    const run = executor({ cancelGraceMs: 200 });
    const abort = new AbortController();
    const first = recorder();
    first.events.started = ({ worker }) => {
      first.workers.push(worker);
      setTimeout(() => abort.abort(), 200);
    };
    const started = Date.now();

    const result = await run.run(attempt(task('hang')), first.events, abort.signal);
    const elapsed = Date.now() - started;
    const next = recorder();
    await run.run(attempt(task('echo', { word: { type: 'string' } }), { word: 'x' }), next.events, never);

    expect(failed(result)).toEqual({ kind: 'system', retryable: false, message: 'cancelled' });
    expect(elapsed).toBeLessThan(3000);
    expect(next.workers[0]).not.toBe(first.workers[0]);
  });

  it('cancels a queued attempt without running it', async () => {
    const run = executor();
    const abort = new AbortController();
    const queued = recorder();
    const napSpec = task('nap', {}, { interface: { inputs: { ms: { type: 'int' } }, outputs: {} } });

    const busy = run.run(attempt(napSpec, { ms: 300 }), recorder().events, never);
    const waiting = run.run(attempt(task('echo')), queued.events, abort.signal);
    abort.abort();

    expect(failed(await waiting)).toEqual({ kind: 'system', retryable: false, message: 'cancelled' });
    expect(queued.workers).toEqual([]);
    expect((await busy).ok).toBe(true);
  });

  it('never runs more attempts at once than its concurrency', async () => {
    const run = executor({ concurrency: 2 });
    const spec = task(
      'nap',
      { start: { type: 'int' }, end: { type: 'int' }, pid: { type: 'int' } },
      {
        interface: {
          inputs: { ms: { type: 'int' } },
          outputs: { start: { type: 'int' }, end: { type: 'int' }, pid: { type: 'int' } },
        },
      },
    );

    const results = await Promise.all(
      Array.from({ length: 6 }, () => run.run(attempt(spec, { ms: 150 }), recorder().events, never)),
    );

    const spans = results.map((result) => {
      if (!result.ok) throw new Error(result.error.message);
      return result.outputs as { start: number; end: number; pid: number };
    });
    const overlap = Math.max(
      ...spans.map((span) => spans.filter((o) => o.start <= span.start && span.start < o.end).length),
    );
    expect(run.capacity).toBe(2);
    expect(overlap).toBe(2);
    expect(new Set(spans.map((span) => span.pid)).size).toBe(2);
  });

  it('rejects waiting and running attempts on close', async () => {
    const run = executor();

    const running = run.run(attempt(task('hang')), recorder().events, never);
    const waiting = run.run(attempt(task('echo')), recorder().events, never);
    const outcomes = Promise.allSettled([running, waiting]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await run.close();

    expect(
      (await outcomes).map((outcome) => outcome.status === 'rejected' && String(outcome.reason)),
    ).toEqual(['Error: The workflow executor is closed', 'Error: The workflow executor is closed']);
    await expect(run.run(attempt(task('echo')), recorder().events, never)).rejects.toThrow('closed');
  });
});

describe('LocalProcessExecutor: command tasks', () => {
  const reverse: TaskSpec = {
    name: 'reverse',
    kind: 'command',
    interface: {
      inputs: { text: { type: 'file' } },
      outputs: { reversed: { type: 'file' }, half: { type: 'float' } },
    },
    retries: 0,
    codeHash: 'd'.repeat(64),
    command: {
      argv: [
        process.execPath,
        '{{files}}/reverse.mjs',
        '{{inputs.text}}',
        '{{outputs.reversed}}',
        '{{ outputs.half }}',
      ],
      env: { MODE: 'fast' },
    },
  };

  it('runs the program in the package files with file inputs and outputs', async () => {
    const run = executor();
    const { events, logs } = recorder();

    const result = await run.run(attempt(reverse, { text: await uploadText('abc') }), events, never);

    const expected = sha256('cba');
    expect(result).toEqual({
      ok: true,
      outputs: {
        reversed: { $artifact: `workflows/data/${expected}`, sha256: expected, kind: 'file', size: 3 },
        half: 1.5,
      },
    });
    expect(logs.stdout).toBe('reversing fast\n');
  });

  it('fails a non-zero exit as a user error with the last stderr lines', async () => {
    const run = executor();
    const { events, logs } = recorder();

    const error = failed(await run.run(attempt(reverse, { text: await uploadText('FAIL') }), events, never));

    expect(error).toEqual({
      kind: 'user',
      retryable: false,
      message: 'Command exited with code 3; last stderr lines:\nfirst line\ncannot reverse: FAIL found',
      stack: expect.any(String),
    });
    expect(logs.stderr).toBe('first line\ncannot reverse: FAIL found\n');
  });

  it('fails exit code 75 (EX_TEMPFAIL) as retryable', async () => {
    const run = executor();
    const spec: TaskSpec = {
      ...reverse,
      name: 'flaky',
      interface: { inputs: {}, outputs: {} },
      command: { argv: [process.execPath, '-e', 'process.exit(75)'] },
    };
    const error = failed(await run.run(attempt(spec, {}), recorder().events, never));
    expect(error).toMatchObject({ kind: 'user', retryable: true, message: 'Command exited with code 75' });
  });

  it('kills the program with its worker on timeout', async () => {
    const run = executor();
    const pidFile = join(root, `pid-${dirs++}`);
    const spec: TaskSpec = {
      ...reverse,
      name: 'sleeper',
      interface: { inputs: {}, outputs: {} },
      command: {
        argv: [
          process.execPath,
          '-e',
          `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 60000)`,
        ],
      },
      timeoutMs: 1000,
    };

    const error = failed(await run.run(attempt(spec), recorder().events, never));

    expect(error).toEqual({ kind: 'user', retryable: true, message: 'timed out after 1000 ms' });
    expect(await ended(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('runs a python program (/usr/bin/python3, installed by npm run setup:system)', async () => {
    const python = '/usr/bin/python3';
    const run = executor();
    const spec: TaskSpec = {
      ...reverse,
      name: 'count',
      interface: { inputs: { text: { type: 'file' } }, outputs: { words: { type: 'int' } } },
      command: {
        argv: [
          python,
          '-c',
          'import sys; open(sys.argv[2], "w").write(str(len(open(sys.argv[1]).read().split())))',
          '{{inputs.text}}',
          '{{outputs.words}}',
        ],
      },
    };

    const result = await run.run(
      attempt(spec, { text: await uploadText('one two three') }),
      recorder().events,
      never,
    );

    expect(result).toEqual({ ok: true, outputs: { words: 3 } });
  });
});

describe('LocalProcessExecutor: code packages', () => {
  it('downloads a package once and verifies it', async () => {
    const counting = countingArtifactStore(store);
    const cacheDir = join(root, `cache-${dirs++}`);
    const run = executor({ store: counting.store, cacheDir, concurrency: 2 });
    const echo = task('echo', { word: { type: 'string' } });

    await Promise.all([0, 1, 2].map(() => run.run(attempt(echo, { word: 'w' }), recorder().events, never)));

    const bundleReads = counting.reads.filter((path) => path === `${code.path}/bundle.mjs`);
    expect(bundleReads).toHaveLength(1);
    expect(await readFile(join(cacheDir, 'directory', code.sha256, 'bundle.mjs'), 'utf8')).toBe(BUNDLE);
  });

  it('fails a corrupt package as a system error that is not retryable', async () => {
    const corrupt = await publishPackage({ 'bundle.mjs': 'export const x = 1;' });
    await store.put(`${corrupt.path}/bundle.mjs`, Readable.from(['export const x = 2;']));
    const run = executor();

    const error = failed(
      await run.run(attempt(task('echo'), {}, { code: corrupt }), recorder().events, never),
    );

    expect(error).toMatchObject({ kind: 'system', retryable: false });
    expect(error.message).toContain(`does not match its sha256: expected ${corrupt.sha256}`);
  });
});

describe('LocalProcessExecutor: attempt environment', () => {
  const { KEEL_TRACKING_URI: _keel, MLFLOW_TRACKING_URI: _mlflow, ...serverEnv } = process.env;
  const strings = { keel: { type: 'string' }, mlflow: { type: 'string' } } as const;

  it("adds attemptEnv to function and command tasks, keeping the server's own variables", async () => {
    let uri: string | undefined = 'http://127.0.0.1:5999';
    const run = executor({
      env: { ...serverEnv, MLFLOW_TRACKING_URI: 'http://mlflow.example' },
      attemptEnv: (): Record<string, string> =>
        uri === undefined ? {} : { KEEL_TRACKING_URI: uri, MLFLOW_TRACKING_URI: uri },
    });

    const first = await run.run(attempt(task('whereami', strings)), recorder().events, never);
    uri = undefined;
    const second = await run.run(attempt(task('whereami', strings)), recorder().events, never);
    uri = 'http://127.0.0.1:6000';
    const { events, logs } = recorder();
    const command: TaskSpec = {
      ...task('printenv'),
      kind: 'command',
      command: {
        argv: [
          process.execPath,
          '-e',
          'console.log(process.env.KEEL_TRACKING_URI, process.env.MLFLOW_TRACKING_URI)',
        ],
      },
    };
    const third = await run.run(attempt(command), events, never);

    expect(first).toEqual({
      ok: true,
      outputs: { keel: 'http://127.0.0.1:5999', mlflow: 'http://mlflow.example' },
    });
    // The same worker: what an attempt was given is gone after it.
    expect(second).toEqual({ ok: true, outputs: { keel: '', mlflow: 'http://mlflow.example' } });
    expect(third.ok).toBe(true);
    expect(logs.stdout).toBe('http://127.0.0.1:6000 http://mlflow.example\n');
  });
});

describe('LocalProcessExecutor: packages bundles leave out', () => {
  it("resolves a bundle's static and dynamic imports of packages from Keel's installation", async () => {
    const staticImport = await publishPackage({
      'bundle.mjs': `
import Database from 'better-sqlite3';
export const sql = { kind: 'keel.task', name: 'sql', fn: () => {
  const db = new Database(':memory:');
  const { v } = db.prepare('select 40 + 2 as v').get();
  db.close();
  return { v };
} };
`,
    });
    const dynamicImport = await publishPackage({
      'bundle.mjs': `
export const dims = { kind: 'keel.task', name: 'dims', fn: async () => {
  const ort = await import('onnxruntime-node');
  return { dims: new ort.Tensor('float32', new Float32Array(6), [2, 3]).dims.join('x') };
} };
`,
    });
    const run = executor();

    const sql = await run.run(
      attempt(task('sql', { v: { type: 'int' } }), {}, { code: staticImport }),
      recorder().events,
      never,
    );
    const dims = await run.run(
      attempt(task('dims', { dims: { type: 'string' } }), {}, { code: dynamicImport }),
      recorder().events,
      never,
    );

    expect(sql).toEqual({ ok: true, outputs: { v: 42 } });
    expect(dims).toEqual({ ok: true, outputs: { dims: '2x3' } });
  });

  it('still fails an import of a package that is nowhere, naming it', async () => {
    const missing = await publishPackage({
      'bundle.mjs': `
export const lost = { kind: 'keel.task', name: 'lost', fn: async () => {
  await import('keel-no-such-package');
  return {};
} };
`,
    });

    const error = failed(
      await executor().run(attempt(task('lost'), {}, { code: missing }), recorder().events, never),
    );

    expect(error).toMatchObject({ kind: 'user', retryable: false });
    expect(error.message).toContain("Cannot find package 'keel-no-such-package'");
  });
});
