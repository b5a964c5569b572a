import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypeSpec, WorkflowRegistration, WorkflowVersion } from '@keel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidParameterError,
  KeelClient,
  KeelConnectionError,
  type LogChunk,
  NotFoundError,
} from './index.js';
import { type FakeWorkflowsServer, startFakeWorkflowsServer } from './testing/fake-workflows-server.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A two-node workflow whose inputs are of the given types. */
function registration(name: string, inputs: Record<string, TypeSpec>): WorkflowRegistration {
  const iface = { inputs, outputs: {} };
  return {
    workflow: {
      name,
      interface: iface,
      nodes: [
        { id: 'prepare', kind: 'task', task: 'step', inputs: {} },
        { id: 'train', kind: 'task', task: 'step', inputs: {} },
      ],
      outputs: {},
    },
    subworkflows: [],
    tasks: [{ name: 'step', kind: 'function', interface: iface, retries: 0, codeHash: 'b'.repeat(64) }],
    code: { path: `workflows/code/${'a'.repeat(64)}`, sha256: 'a'.repeat(64) },
  };
}

let fake: FakeWorkflowsServer;
let keel: KeelClient;
let dir: string;
let files: WorkflowVersion;

beforeAll(async () => {
  fake = await startFakeWorkflowsServer();
  keel = new KeelClient({ trackingUri: fake.uri, retries: 0 });
  dir = mkdtempSync(join(tmpdir(), 'keel-sdk-executions-'));
  files = (
    await keel.workflows.registerSpec(
      registration('files', {
        data: { type: 'dataset' },
        images: { type: 'directory' },
        extras: { type: 'array', items: { type: 'file' } },
        maybe: { type: 'optional', of: { type: 'file' } },
        label: { type: 'string' },
        remote: { type: 'file' },
        alpha: { type: 'float' },
      }),
    )
  ).workflowVersion;
  await keel.workflows.registerSpec(registration('plain', { alpha: { type: 'float' } }));
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('keel.executions.launch', () => {
  it('uploads local paths at file positions, content-addressed, and sends ArtifactValues', async () => {
    writeFileSync(join(dir, 'train.csv'), 'x,y\n1,2\n');
    writeFileSync(join(dir, 'extra.txt'), 'extra');
    mkdirSync(join(dir, 'images', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'images', 'a.png'), 'A');
    writeFileSync(join(dir, 'images', 'sub', 'b.png'), 'BB');
    const csv = join(dir, 'train.csv');
    const execution = await keel.executions.launch(
      'files',
      {
        data: csv,
        images: join(dir, 'images'),
        extras: [join(dir, 'extra.txt'), 'runs:/abc/model.txt'],
        maybe: null,
        label: csv,
        remote: 'mlflow-artifacts:/shared/data.csv',
        alpha: 0.5,
      },
      { cache: 'skip' },
    );
    expect(execution).toMatchObject({
      workflow: 'files',
      version: files.version,
      state: 'queued',
      cache_mode: 'skip',
    });

    const dirSha = sha256(`a.png\0${sha256('A')}\nsub/b.png\0${sha256('BB')}\n`);
    const launch = JSON.parse(fake.seen('/executions/launch').at(-1)?.body ?? '');
    expect(launch).toEqual({
      workflow: 'files',
      version: files.version,
      cache: 'skip',
      inputs: {
        data: {
          $artifact: `workflows/data/${sha256('x,y\n1,2\n')}`,
          sha256: sha256('x,y\n1,2\n'),
          kind: 'file',
          size: 8,
        },
        images: { $artifact: `workflows/data/${dirSha}`, sha256: dirSha, kind: 'directory', size: 3 },
        extras: [
          { $artifact: `workflows/data/${sha256('extra')}`, sha256: sha256('extra'), kind: 'file', size: 5 },
          'runs:/abc/model.txt',
        ],
        maybe: null,
        label: csv,
        remote: 'mlflow-artifacts:/shared/data.csv',
        alpha: 0.5,
      },
    });
    expect(fake.artifacts.get(`workflows/data/${sha256('x,y\n1,2\n')}`)?.toString()).toBe('x,y\n1,2\n');
    expect(fake.artifacts.get(`workflows/data/${dirSha}/sub/b.png`)?.toString()).toBe('BB');
    expect(fake.seen('/keel/workflows/get').at(-1)?.query).toEqual({ name: 'files' });
  });

  it('does not upload content the store already has', async () => {
    const puts = (): number => fake.requests.filter((r) => r.method === 'PUT').length;
    const before = puts();
    await keel.executions.launch('files', { data: join(dir, 'train.csv'), images: join(dir, 'images') });
    expect(puts()).toBe(before);
  });

  it('fetches no interface when no input names a local path, and none for a given version object', async () => {
    const gets = (): number => fake.seen('/keel/workflows/get').length;
    const before = gets();
    const plain = await keel.executions.launch('plain', { alpha: 1 });
    expect(plain.version).toBeDefined();
    expect(JSON.parse(fake.seen('/executions/launch').at(-1)?.body ?? '')).toEqual({
      workflow: 'plain',
      inputs: { alpha: 1 },
    });
    await keel.executions.launch(files, { data: join(dir, 'train.csv') }, { cache: 'overwrite' });
    expect(gets()).toBe(before);
    expect(JSON.parse(fake.seen('/executions/launch').at(-1)?.body ?? '')).toMatchObject({
      workflow: 'files',
      version: files.version,
      cache: 'overwrite',
    });
  });

  it('rethrows the server errors typed', async () => {
    await expect(keel.executions.launch('missing', {})).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('keel.executions lifecycle', () => {
  it('waits, reporting every poll, until the execution ends', async () => {
    const { execution_id: id } = await keel.executions.launch('plain', { alpha: 1 });
    const seen: string[] = [];
    const done = await keel.executions.wait(id, {
      intervalMs: 1,
      onUpdate: (e) => seen.push(`${e.state}:${e.nodes.map((n) => n.state).join(',')}`),
    });
    expect(done).toMatchObject({ execution_id: id, state: 'succeeded', outputs: { ok: true } });
    expect(seen).toEqual([
      'running:running,pending',
      'running:succeeded,running',
      'succeeded:succeeded,succeeded',
    ]);
  });

  it('stops waiting when the signal aborts', async () => {
    const { execution_id: id } = await keel.executions.launch('plain', { alpha: 1 });
    const controller = new AbortController();
    const waiting = keel.executions.wait(id, { intervalMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('enough')), 50);
    await expect(waiting).rejects.toThrow('enough');
  });

  it('lists executions with filters, page after page, without nodes', async () => {
    const all = [];
    for await (const e of keel.executions.list({ workflow: 'plain', maxResults: 1 })) all.push(e);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(all.every((e) => e.workflow === 'plain' && !('nodes' in e))).toBe(true);
    expect(fake.seen('/executions/list')[0]?.query).toEqual({ workflow: 'plain', max_results: '1' });
    const succeeded = [];
    for await (const e of keel.executions.list({ state: 'succeeded', createdBy: 'alice' })) succeeded.push(e);
    expect(succeeded.map((e) => e.state)).toEqual(['succeeded']);
    expect(fake.seen('/executions/list').at(-1)?.query).toEqual({ state: 'succeeded', created_by: 'alice' });
  });

  it('cancels, relaunches and recovers', async () => {
    const launched = await keel.executions.launch('plain', { alpha: 1, fail_at: 'train' });
    const failed = await keel.executions.wait(launched.execution_id, { intervalMs: 1 });
    expect(failed).toMatchObject({ state: 'failed', error: { kind: 'user', message: 'train blew up' } });
    await expect(
      keel.executions.recover((await keel.executions.launch('plain', {})).execution_id),
    ).rejects.toThrow(InvalidParameterError);

    const recovered = await keel.executions.recover(failed.execution_id);
    expect(recovered).toMatchObject({ mode: 'recover', parent_execution_id: failed.execution_id });
    expect(recovered.nodes.map((n) => [n.node_id, n.state, n.cache])).toEqual([
      ['prepare', 'cached', 'hit'],
      ['train', 'pending', null],
    ]);
    const relaunched = await keel.executions.relaunch(failed.execution_id, { cache: 'skip' });
    expect(relaunched).toMatchObject({ mode: 'relaunch', cache_mode: 'skip', inputs: failed.inputs });
    expect(JSON.parse(fake.seen('/executions/relaunch')[0]?.body ?? '')).toEqual({
      execution_id: failed.execution_id,
      cache: 'skip',
    });

    const cancelled = await keel.executions.cancel(relaunched.execution_id);
    expect(cancelled.state).toBe('cancelled');
    expect((await keel.executions.get(relaunched.execution_id)).state).toBe('cancelled');
    expect(fake.seen('/executions/get').at(-1)?.query).toEqual({ execution_id: relaunched.execution_id });
  });
});

describe('keel.executions logs', () => {
  let id: string;
  beforeAll(async () => {
    id = (await keel.executions.launch('plain', { alpha: 1 })).execution_id;
    fake.setLogs(id, 'prepare', 1, {
      history: [
        { stream: 'stdout', text: 'loading\n' },
        { stream: 'stderr', text: 'warning: é\n' },
      ],
      live: [
        { stream: 'stdout', text: 'epoch 1\n' },
        { stream: 'stdout', text: 'epoch 2\n' },
      ],
    });
    fake.setLogs(id, 'prepare', 2, { history: [{ stream: 'stdout', text: 'second try\n' }] });
  });

  it('reads an attempt log as text', async () => {
    expect(await keel.executions.logs(id, 'prepare', { attempt: 1 })).toBe(
      'loading\nwarning: é\nepoch 1\nepoch 2\n',
    );
    expect(await keel.executions.logs(id, 'prepare', { attempt: 2 })).toBe('second try\n');
    expect(fake.seen('/nodes/prepare/logs').at(-1)?.query).toEqual({ attempt: '2', follow: '0' });
  });

  it('follows a log over SSE: history, then live chunks, until the end event', async () => {
    const chunks: LogChunk[] = [];
    const stream = keel.executions.followLogs(id, 'prepare', { attempt: 1 });
    let result = await stream.next();
    for (; !result.done; result = await stream.next()) chunks.push(result.value);
    expect(chunks).toEqual([
      { stream: 'stdout', text: 'loading\n' },
      { stream: 'stderr', text: 'warning: é\n' },
      { stream: 'stdout', text: 'epoch 1\n' },
      { stream: 'stdout', text: 'epoch 2\n' },
    ]);
    expect(result.value).toEqual({ state: 'succeeded' });
    const request = fake.seen('/nodes/prepare/logs').at(-1);
    expect(request?.query).toEqual({ attempt: '1', follow: '1' });
    expect(request?.headers.accept).toBe('text/event-stream');
  });

  it('stops following when the signal aborts', async () => {
    const controller = new AbortController();
    const chunks: LogChunk[] = [];
    for await (const chunk of keel.executions.followLogs(id, 'prepare', {
      attempt: 1,
      signal: controller.signal,
    })) {
      chunks.push(chunk);
      if (chunks.length === 2) controller.abort();
    }
    expect(chunks.map((c) => c.text)).toEqual(['loading\n', 'warning: é\n']);
  });

  it('answers NotFoundError for an unknown node, KeelConnectionError for a stream cut short', async () => {
    await expect(keel.executions.logs(id, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    fake.setLogs(id, 'train', 1, { history: [{ stream: 'stdout', text: 'partial\n' }], cut: true });
    const chunks: string[] = [];
    const following = (async () => {
      for await (const chunk of keel.executions.followLogs(id, 'train', { attempt: 1 }))
        chunks.push(chunk.text);
    })();
    await expect(following).rejects.toBeInstanceOf(KeelConnectionError);
    expect(chunks).toEqual(['partial\n']);
  });
});
