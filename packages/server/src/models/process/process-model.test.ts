import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeelError, type ModelInput, serializeMLmodel } from '@keel/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFromDirectory } from '../load-model.js';
import type { ProcessModel, ProcessModelLogger, ProcessModelOptions } from './process-model.js';
import { encodeRequest, PROCESS_PROTOCOL, parseChildLine } from './protocol.js';

const CHILD = fileURLToPath(new URL('./testing/protocol-child.mjs', import.meta.url));

let root: string;
const open: ProcessModel[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-process-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
/** A model directory whose `MLmodel` runs the fixture child with `env`. */
async function modelDir(
  env: Record<string, string> = {},
  flavor: Record<string, unknown> = {},
): Promise<string> {
  const dir = join(root, `model-${dirs++}`);
  await mkdir(dir);
  await copyFile(CHILD, join(dir, 'child.mjs'));
  await writeFile(
    join(dir, 'MLmodel'),
    serializeMLmodel({
      artifact_path: 'model',
      flavors: {
        process: { command: [process.execPath, 'child.mjs'], env, protocol: PROCESS_PROTOCOL, ...flavor },
      },
    }),
  );
  return dir;
}

async function load(dir: string, options: ProcessModelOptions = {}): Promise<ProcessModel> {
  const model = (await loadModelFromDirectory(dir, options)) as ProcessModel;
  open.push(model);
  return model;
}

function xs(...values: number[]): ModelInput {
  return { kind: 'columns', columns: { x: values }, rowCount: values.length };
}

async function rejection(promise: Promise<unknown>, code: string): Promise<KeelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeelError);
  expect((error as KeelError).code).toBe(code);
  return error as KeelError;
}

function recordingLogger(): ProcessModelLogger & { infos: string[]; warns: string[] } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (_o, m) => infos.push(m), warn: (_o, m) => warns.push(m) };
}

describe('keel-jsonl/1 lines', () => {
  it('encodes a request as one line and decodes every kind of reply', () => {
    expect(encodeRequest({ id: 3, input: xs(1), params: { a: 1 } })).toBe(
      '{"id":3,"input":{"kind":"columns","columns":{"x":[1]},"rowCount":1},"params":{"a":1}}\n',
    );
    const cells = { b: [Uint8Array.of(104, 105)], t: [new Date('2026-01-02T03:04:05Z')], f: [Number.NaN] };
    expect(
      JSON.parse(encodeRequest({ id: 4, input: { kind: 'columns', columns: cells, rowCount: 1 } })),
    ).toEqual({
      id: 4,
      input: {
        kind: 'columns',
        columns: { b: ['aGk='], t: ['2026-01-02T03:04:05.000Z'], f: [null] },
        rowCount: 1,
      },
    });
    expect(parseChildLine('{"ready": true}')).toEqual({ kind: 'ready' });
    expect(parseChildLine('{"id": 2, "output": [1]}')).toEqual({ kind: 'output', id: 2, output: [1] });
    expect(parseChildLine('{"id": 2, "error": {"message": "no"}}')).toEqual({
      kind: 'error',
      id: 2,
      message: 'no',
    });
    expect(parseChildLine('{"id": 2, "error": "no"}')).toMatchObject({ kind: 'malformed', id: 2 });
    expect(parseChildLine('{"id": 2}')).toMatchObject({ kind: 'malformed', id: 2 });
    expect(parseChildLine('{"id": -1, "output": 1}')).toMatchObject({ kind: 'malformed', id: undefined });
    expect(parseChildLine('[1]')).toMatchObject({ kind: 'malformed', id: undefined });
    expect(parseChildLine('NaN')).toMatchObject({ kind: 'malformed', id: undefined });
  });
});

describe('process flavor', () => {
  it('starts the child in the model directory and answers predictions', async () => {
    const logger = recordingLogger();
    const model = await load(await modelDir(), { logger, name: 'doubler' });
    expect(model.metadata).toMatchObject({ name: 'doubler', flavor: 'process' });
    expect(model.ready).toBe(true);
    expect(model.pid).toBeGreaterThan(0);
    expect(await model.predict(xs(1, 2.5))).toEqual({
      kind: 'columns',
      columns: { doubled: [2, 5] },
      rowCount: 2,
    });
    expect(await model.predict(xs(1), { action: 'tensors' })).toEqual({
      kind: 'tensors',
      tensors: { y: { data: [1, 2, 3, 4], shape: [2, 2] } },
    });
    await expect.poll(() => logger.infos).toContain('model loaded');
  });

  it('pipelines concurrent requests and gives each caller its own answer', async () => {
    const model = await load(await modelDir());
    // Later requests sleep less, so the child answers them out of order.
    const outputs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => model.predict(xs(i), { sleepMs: (20 - i) * 5 })),
    );
    outputs.forEach((output, i) => {
      expect(output).toEqual({ kind: 'columns', columns: { doubled: [2 * i] }, rowCount: 1 });
    });
  });

  it('answers an error reply with 400 BAD_REQUEST and keeps the child', async () => {
    const model = await load(await modelDir());
    const pid = model.pid;
    const error = await rejection(
      model.predict(xs(1), { action: 'fail', message: 'x must be > 0' }),
      'BAD_REQUEST',
    );
    expect(error.message).toBe('Model predict failed: x must be > 0');
    expect(model.pid).toBe(pid);
  });

  it('fails only the request whose output is not an output, and keeps the child', async () => {
    const model = await load(await modelDir());
    const pid = model.pid;
    const error = await rejection(model.predict(xs(1), { action: 'bad-output' }), 'INTERNAL_ERROR');
    expect(error.message).toContain('a string ("nope")');
    expect(await model.predict(xs(3))).toMatchObject({ columns: { doubled: [6] } });
    expect(model.pid).toBe(pid);
  });

  it.each([
    ['a line that is not JSON', 'garbage'],
    ['a reply to no request in flight', 'wrong-id'],
  ])('fails every request in flight on %s and restarts the child', async (_what, action) => {
    const model = await load(await modelDir());
    const pid = model.pid;
    const slow = [model.predict(xs(1), { sleepMs: 2000 }), model.predict(xs(2), { sleepMs: 2000 })];
    const bad = model.predict(xs(3), { action });
    for (const p of [...slow, bad]) {
      expect((await rejection(p, 'INTERNAL_ERROR')).message).toMatch(/answers no request in flight/);
    }
    expect(await model.predict(xs(4))).toMatchObject({ columns: { doubled: [8] } });
    expect(model.pid).not.toBe(pid);
  });

  it('fails the requests of a child killed mid-request, naming the signal and its stderr, then restarts it', async () => {
    const model = await load(await modelDir());
    const pid = model.pid as number;
    const inFlight = model.predict(xs(1), { sleepMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, 'SIGKILL');
    const error = await rejection(inFlight, 'INTERNAL_ERROR');
    expect(error.message).toContain('killed by signal SIGKILL');
    expect(error.message).toContain('model loaded');
    expect(await model.predict(xs(5))).toMatchObject({ columns: { doubled: [10] } });
    expect(model.pid).not.toBe(pid);
    expect(model.ready).toBe(true);
  });

  it('names the exit code and the last stderr lines of a child that exits while answering', async () => {
    const model = await load(await modelDir());
    const other = model.predict(xs(1), { sleepMs: 5000 });
    const error = await rejection(model.predict(xs(2), { action: 'exit', code: 7 }), 'INTERNAL_ERROR');
    expect(error.message).toContain('exited with code 7');
    expect(error.message).toContain('fatal: exiting on request');
    expect((await rejection(other, 'INTERNAL_ERROR')).message).toContain('exited with code 7');
    expect(await model.predict(xs(1))).toMatchObject({ columns: { doubled: [2] } });
  });

  it('rate limits the restarts of a child that crashes at start, answering 503 until it starts again', async () => {
    const marker = join(root, 'crash-marker');
    const logger = recordingLogger();
    const model = await load(await modelDir({ KEEL_TEST_CRASH_IF_EXISTS: marker }), {
      logger,
      restart: { initialDelayMs: 300, maxDelayMs: 300 },
    });
    await writeFile(marker, '');
    process.kill(model.pid as number, 'SIGKILL');
    await expect
      .poll(() => logger.warns.filter((w) => w.includes('failed to start')).length)
      .toBeGreaterThan(0);
    expect(model.ready).toBe(false);
    const error = await rejection(model.predict(xs(1)), 'TEMPORARILY_UNAVAILABLE');
    expect(error.message).toContain('refusing to start: marker file present');
    // With 300 ms between attempts, a second holds only a handful of them, not a tight loop.
    const before = logger.warns.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(logger.warns.length - before).toBeLessThanOrEqual(5);
    await rm(marker);
    await expect.poll(() => model.ready, { timeout: 5000 }).toBe(true);
    expect(await model.predict(xs(2))).toMatchObject({ columns: { doubled: [4] } });
  });

  it('refuses a child that exits before it is ready, with its exit code and stderr', async () => {
    const error = await rejection(
      load(await modelDir({ KEEL_TEST_MODE: 'exit-at-start' })),
      'INVALID_PARAMETER_VALUE',
    );
    expect(error.message).toContain('exited with code 3 before printing {"ready": true}');
    expect(error.message).toContain('cannot load the model');
  });

  it('refuses a child that never prints its ready line within the startup timeout', async () => {
    const error = await rejection(
      load(await modelDir({ KEEL_TEST_MODE: 'never-ready' }), { startupTimeoutMs: 500 }),
      'INVALID_PARAMETER_VALUE',
    );
    expect(error.message).toContain('did not print {"ready": true} within 500 ms');
    expect(error.message).toContain('loading forever');
  });

  it('refuses a child that writes anything else on stdout before its ready line', async () => {
    const error = await rejection(
      load(await modelDir({ KEEL_TEST_MODE: 'chatty' })),
      'INVALID_PARAMETER_VALUE',
    );
    expect(error.message).toContain('hello from a library');
  });

  it('refuses a command that cannot be spawned, and an invalid flavor', async () => {
    const missing = await rejection(
      load(await modelDir({}, { command: ['keel-no-such-program-xyz'] })),
      'INVALID_PARAMETER_VALUE',
    );
    expect(missing.message).toContain('could not be spawned');
    await rejection(load(await modelDir({}, { command: 'node child.mjs' })), 'INVALID_PARAMETER_VALUE');
    await rejection(load(await modelDir({}, { command: [] })), 'INVALID_PARAMETER_VALUE');
    const protocol = await rejection(
      load(await modelDir({}, { protocol: 'grpc' })),
      'INVALID_PARAMETER_VALUE',
    );
    expect(protocol.message).toContain(`supported: [${PROCESS_PROTOCOL}]`);
    await rejection(load(await modelDir({}), { startupTimeoutMs: 0 }), 'INVALID_PARAMETER_VALUE');
  });

  it('finds a portable command on the directories of processPath', async () => {
    const bin = join(root, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'keel-test-child'), `#!/bin/sh\nexec "${process.execPath}" child.mjs\n`, {
      mode: 0o755,
    });
    const dir = await modelDir({}, { command: ['keel-test-child'] });
    await rejection(load(dir, { processEnv: { PATH: '/usr/bin:/bin' } }), 'INVALID_PARAMETER_VALUE');
    const model = await load(dir, { processPath: bin, processEnv: { PATH: '/usr/bin:/bin' } });
    expect(await model.predict(xs(1))).toMatchObject({ columns: { doubled: [2] } });
  });

  it('close() lets the child answer what is in flight, then later predicts reject', async () => {
    const model = await load(await modelDir());
    const pid = model.pid as number;
    const inFlight = model.predict(xs(21), { sleepMs: 200 });
    await model.close();
    expect(await inFlight).toMatchObject({ columns: { doubled: [42] } });
    expect(model.ready).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    await rejection(model.predict(xs(1)), 'INTERNAL_ERROR');
    await model.close();
  });

  it('close() kills a restarted child that is still starting instead of waiting for it', async () => {
    const marker = join(root, 'hang-marker');
    const model = await load(await modelDir({ KEEL_TEST_HANG_IF_EXISTS: marker }));
    await writeFile(marker, '');
    process.kill(model.pid as number, 'SIGKILL');
    await expect.poll(() => model.pid).toBeUndefined();
    const waiting = model.predict(xs(1));
    const started = Date.now();
    await model.close();
    // The startup timeout is 30 s; close() must not wait for it.
    expect(Date.now() - started).toBeLessThan(10_000);
    await rejection(waiting, 'INTERNAL_ERROR');
    await rm(marker);
  });

  it('close() sends SIGTERM, then SIGKILL, to a child that ignores the end of stdin', async () => {
    const model = await load(await modelDir({ KEEL_TEST_MODE: 'stubborn' }), { closeTimeoutMs: 200 });
    const pid = model.pid as number;
    const inFlight = model.predict(xs(1), { sleepMs: 60_000 });
    await model.close();
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await rejection(inFlight, 'INTERNAL_ERROR')).message).toContain('closed before it answered');
  });
});
